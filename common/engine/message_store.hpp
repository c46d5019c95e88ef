#pragma once
// Where a node keeps the chat messages it accepted. The engine reads it (the history a
// welcome carries) but never writes it: it asks for writes with store_message effects, which
// the runtime applies before the next input, so that a durable store can batch a turn's
// writes into one transaction and the engine never waits on a disk.
//
// memory_store keeps the newest messages in memory: the daemon's store until history is
// persisted, and every simulated node's.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/wire/messages.hpp"

namespace p2pchat::engine {

class message_store {
  public:
    virtual ~message_store() = default;
    virtual void append(wire::chat_msg chat) = 0;
    // The newest messages, oldest first: at most max_count, and no more than max_bytes of
    // them by approx_size().
    virtual std::vector<wire::chat_msg> newest(std::size_t max_count,
                                               std::size_t max_bytes) const = 0;
    // The chain of message `seq` of `origin`, if it is kept.
    virtual std::optional<std::string> chain_of(std::string_view origin,
                                                std::uint64_t seq) const = 0;
};

// What one message costs in a frame: its text and name as JSON writes them (escapes counted),
// and room for ids and JSON around them.
std::size_t approx_size(wire::chat_msg const& chat);
// The same for a peer entry in a list.
std::size_t approx_size(wire::peer_entry const& entry);

class memory_store final : public message_store {
  public:
    explicit memory_store(std::size_t capacity) : capacity_(capacity) {}

    void append(wire::chat_msg chat) override;
    std::vector<wire::chat_msg> newest(std::size_t max_count, std::size_t max_bytes) const override;
    std::optional<std::string> chain_of(std::string_view origin, std::uint64_t seq) const override;
    std::size_t size() const { return messages_.size(); }

  private:
    std::size_t capacity_;
    std::deque<wire::chat_msg> messages_;
};

}  // namespace p2pchat::engine
