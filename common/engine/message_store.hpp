#pragma once
// Where a node keeps the chat messages it accepted and the seals that prove them. The engine
// reads it (a welcome's history, a sync batch, its own chain after a restart) but never writes
// it: it asks for writes with store_message and store_seal effects, which the runtime applies
// before the next input, so that a durable store can batch a turn's writes into one
// transaction and the engine never waits on a disk.
//
// The daemon keeps it in SQLite (daemon/sqlite_store.hpp); memory_store keeps it in memory,
// for the simulator (whose "disk" survives a simulated crash) and the unit tests.
//
// Messages are keyed by (origin, seq): seqs are contiguous per origin from 1, for ever (the
// origin's tip survives retention), so "the highest seq held without a gap" says what a node
// misses (docs/PROTOCOL.md, "Message sync").
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/wire/messages.hpp"

namespace p2pchat::engine {

// The newest message an origin stored: where its chain goes on.
struct chain_tip {
    std::uint64_t seq = 0;
    std::string chain;

    friend bool operator==(chain_tip const&, chain_tip const&) = default;
};

class message_store {
  public:
    using id_visitor =
        std::function<void(std::string_view origin, std::uint64_t seq, std::uint64_t lamport)>;

    virtual ~message_store() = default;

    // ---- writes, by the runtime
    // A message the node accepted, with the Unix time (ms) it arrived here. Appending a
    // message already held changes nothing.
    virtual void append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms) = 0;
    virtual void append_seal(wire::seal_msg const& seal) = 0;

    // ---- reads, by the engine
    // The newest messages in history order (Lamport time, then origin), oldest first: at most
    // max_count, and no more than max_bytes of them by approx_size().
    virtual std::vector<wire::chat_msg> newest(std::size_t max_count,
                                               std::size_t max_bytes) const = 0;
    // The chain of message `seq` of `origin`, if it is held.
    virtual std::optional<std::string> chain_of(std::string_view origin,
                                                std::uint64_t seq) const = 0;
    // Messages of `origin` from the first held at or after `from_seq`, ascending, up to the
    // next seq not held: at most max_count, and no more than max_bytes by approx_size() (at
    // least one, if any is held).
    virtual std::vector<wire::chat_msg> range(std::string_view origin, std::uint64_t from_seq,
                                              std::size_t max_count,
                                              std::size_t max_bytes) const = 0;
    // The seals of `origin` held for seqs in [low, high], ascending.
    virtual std::vector<wire::seal_msg> seals(std::string_view origin, std::uint64_t low,
                                              std::uint64_t high) const = 0;
    // The newest message `origin` ever had appended, kept past retention: a restarted node
    // goes on numbering and chaining its own messages from it.
    virtual std::optional<chain_tip> tip_of(std::string_view origin) const = 0;
    // Every message held, by origin and then seq: a restarted node rebuilds which messages it
    // holds and its Lamport clock from it.
    virtual void for_each_id(id_visitor const& visit) const = 0;
};

// What one message costs in a frame: its text and name as JSON writes them (escapes counted),
// and room for ids and JSON around them.
std::size_t approx_size(wire::chat_msg const& chat);
// The same for a peer entry in a list.
std::size_t approx_size(wire::peer_entry const& entry);

// Keeps at most `capacity` messages (the oldest appended go first) and every seal of a
// message it holds.
class memory_store final : public message_store {
  public:
    explicit memory_store(std::size_t capacity) : capacity_(capacity) {}

    void append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms) override;
    void append_seal(wire::seal_msg const& seal) override;
    std::vector<wire::chat_msg> newest(std::size_t max_count, std::size_t max_bytes) const override;
    std::optional<std::string> chain_of(std::string_view origin, std::uint64_t seq) const override;
    std::vector<wire::chat_msg> range(std::string_view origin, std::uint64_t from_seq,
                                      std::size_t max_count, std::size_t max_bytes) const override;
    std::vector<wire::seal_msg> seals(std::string_view origin, std::uint64_t low,
                                      std::uint64_t high) const override;
    std::optional<chain_tip> tip_of(std::string_view origin) const override;
    void for_each_id(id_visitor const& visit) const override;

    std::size_t size() const { return by_id_.size(); }

  private:
    using id = std::pair<std::string, std::uint64_t>;
    using id_view = std::pair<std::string_view, std::uint64_t>;
    // Orders ids and finds them by a view, with no string made for the lookup.
    struct id_less {
        using is_transparent = void;
        static id_view view(id const& i) { return {i.first, i.second}; }
        static id_view view(id_view i) { return i; }
        template <class A, class B>
        bool operator()(A const& a, B const& b) const {
            return view(a) < view(b);
        }
    };
    using order_key = std::pair<std::uint64_t, std::string>;  // (Lamport, origin)

    struct held {
        wire::chat_msg chat;
        std::uint64_t appended = 0;  // which append it was: the oldest go first
    };

    std::size_t capacity_;
    std::uint64_t appends_ = 0;
    std::map<id, held, id_less> by_id_;
    std::map<std::pair<order_key, std::uint64_t>, id const*> by_order_;  // history order
    std::map<std::uint64_t, id const*> by_age_;                          // append order
    std::map<id, wire::seal_msg, id_less> seals_;
    std::map<std::string, chain_tip, std::less<>> tips_;
};

}  // namespace p2pchat::engine
