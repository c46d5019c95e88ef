#pragma once
// The chat half of the engine: message ids (origin + per-origin seq), the Lamport clock,
// duplicate suppression, and the history a welcome hands to a newcomer. Pure; owned by the
// node (engine/node.hpp), which routes chat frames and local sends here.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/engine/effects.hpp"
#include "common/engine/message_store.hpp"
#include "common/rpc/rpc.hpp"
#include "common/seen_messages.hpp"

namespace p2pchat::engine {

struct send_receipt {
    std::string id;  // origin:seq
    std::uint64_t seq = 0;
    std::uint64_t lamport = 0;
};

class chat_room {
  public:
    // What a welcome carries: the newest messages, within a byte budget that keeps the
    // welcome frame far below the frame limit whatever the message sizes.
    static constexpr std::size_t welcome_history_count = 50;
    static constexpr std::size_t welcome_history_bytes = 512 * 1024;

    // Seqs start from the start time (ms × 1000 + 1): a restarted node never reuses an id,
    // with no stored state.
    chat_room(std::string self_id, std::int64_t started_unix_ms, message_store const& store,
              effects& out);

    // A message typed on this node: checked, numbered, shown, stored and broadcast.
    rpc::result<send_receipt> send(std::string text, std::string name, instant now);
    // A message from a peer: shown unless seen before.
    void receive(wire::chat_msg&& chat);
    // The history a welcome carried (our own messages among them, from before a restart).
    void receive_history(std::vector<wire::chat_msg>&& history);

    std::vector<wire::chat_msg> welcome_history() const;

    std::uint64_t lamport() const { return lamport_; }
    std::uint64_t next_seq() const { return next_seq_; }
    std::uint64_t messages_sent() const { return sent_; }
    std::uint64_t messages_received() const { return received_; }

  private:
    bool accept(wire::chat_msg const& chat);
    void show(wire::chat_msg chat, bool self);

    std::string self_id_;
    message_store const& store_;
    effects& out_;
    seen_messages seen_;
    std::uint64_t next_seq_;
    std::uint64_t lamport_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
};

}  // namespace p2pchat::engine
