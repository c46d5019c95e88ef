#pragma once
// The chat half of the engine: message ids (origin + per-origin seq), the Lamport clock,
// duplicate suppression, the authors' hash chains and seals (common/crypto/signatures.hpp),
// and the history a welcome hands to a newcomer. Pure; owned by the node (engine/node.hpp),
// which routes chat frames, seals and local sends here.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto/signatures.hpp"
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
    // What a welcome keeps for its seals, anchors and the rest around its lists: 50 messages
    // of 50 origins with 4 seals each take about 60 KiB.
    static constexpr std::size_t welcome_reserve_bytes = 96 * 1024;

    // Seals kept per origin: the newest few, so that a history with a gap in an origin's
    // messages (a contact that missed one) or an origin's earlier run (before a restart) is
    // still proven up to each seal.
    static constexpr std::size_t seals_per_origin = 4;

    // A message whose Lamport time is further ahead of ours than this is refused: it could
    // only be an attempt to push every clock towards its end.
    static constexpr std::uint64_t max_lamport_jump = std::uint64_t{1} << 40;

    // Seqs start from the start time (ms × 1000 + 1): a restarted node never reuses an id,
    // with no stored state. `key` signs this node's messages.
    chat_room(std::string self_id, std::int64_t started_unix_ms, crypto::signing_key const& key,
              message_store const& store, effects& out);

    // A message typed on this node: checked, numbered, chained, shown, stored and broadcast;
    // the seal that signs it follows when this turn's messages are all out (a seal timer at
    // `now`, so a burst costs one signature).
    rpc::result<send_receipt> send(std::string text, std::string name, instant now);
    void on_seal_timer();
    // A message from `sender`: taken only from its author (live messages are never relayed;
    // the link is authenticated, so nothing more is checked) and shown unless seen before.
    void receive(wire::chat_msg&& chat, std::string_view sender);
    // A seal from its author: kept, to hand on with the history it proves (a seal relayed by
    // anyone else is ignored: seals travel from their author, or inside a welcome).
    void receive_seal(wire::seal_msg&& seal, std::string_view sender);
    // The history a welcome carried, the seals that prove it and the anchors its stretches
    // start from: shown are the messages a verified seal reaches through their chain (our
    // own among them, from before a restart).
    void receive_history(std::vector<wire::chat_msg>&& history,
                         std::vector<wire::seal_msg> const& seals,
                         std::vector<wire::chain_anchor> const& anchors = {});

    // What a welcome carries: the newest messages, the kept seals of their origins and the
    // chain each stretch of an origin's messages starts from; the history takes at most what
    // the frame limit leaves after welcome.peers (already filled) and the reserve.
    void fill_welcome(wire::welcome_msg& welcome) const;

    std::uint64_t lamport() const { return lamport_; }
    std::uint64_t next_seq() const { return next_seq_; }
    std::uint64_t messages_sent() const { return sent_; }
    std::uint64_t messages_received() const { return received_; }
    // Messages refused: not signed by their author, or a Lamport time out of reach.
    std::uint64_t messages_refused() const { return refused_; }
    // A peer the node forgot for good: its seals go. Its dedup window stays: its messages can
    // still come back in a welcome's history (a store keeps them whoever left), and must not
    // be shown twice. The windows are bounded by seen_messages' count of origins anyway.
    void forget(std::string const& origin) { seals_.erase(origin); }

  private:
    bool accept(wire::chat_msg const& chat);
    void keep(wire::seal_msg const& seal);
    void show(wire::chat_msg chat, bool self);

    std::string self_id_;
    crypto::signing_key key_;
    message_store const& store_;
    effects& out_;
    seen_messages seen_;
    std::uint64_t next_seq_;
    std::uint64_t lamport_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t refused_ = 0;
    // Our own chain: its tip, and whether messages since the last seal await one.
    std::string chain_tip_;
    std::uint64_t tip_seq_ = 0;
    bool unsealed_ = false;
    bool seal_armed_ = false;
    // The newest seals of each origin (ours too), oldest first; as many origins as the dedup
    // windows hold.
    std::map<std::string, std::vector<wire::seal_msg>, std::less<>> seals_;
};

}  // namespace p2pchat::engine
