#pragma once
// The chat half of the engine: message ids (origin + per-origin seq), the Lamport clock,
// duplicate suppression, the authors' hash chains and seals (common/crypto/signatures.hpp),
// and the history a welcome hands to a newcomer. Pure; owned by the node (engine/node.hpp),
// which routes chat frames, seals and local sends here.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
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
    // What one entry of a welcome's heads takes: an origin id, a seq and the JSON around.
    static constexpr std::size_t head_approx_bytes = 110;

    // An author seals its chain at the end of every turn, and within a turn before its
    // unsealed messages would pass either bound: any stretch of its messages that a sync
    // batch holds reaches a seal within the batch's budget.
    static constexpr std::size_t seal_every_messages = 32;
    static constexpr std::size_t seal_every_bytes = 256 * 1024;

    // A `history` reply holds at most this much (by approx_size()); the rest follows when the
    // receiver asks again.
    static constexpr std::size_t sync_batch_count = 256;
    static constexpr std::size_t sync_batch_bytes = 512 * 1024;
    // An origin a node holds nothing of is synced from this many of its newest messages: a
    // newcomer's window of the past (older history is not pulled).
    static constexpr std::uint64_t newcomer_window = 100;

    // How long a member gathers the messages it stored before it acknowledges them to their
    // authors (docs/PROTOCOL.md, "Delivery"): one ack per author per burst, not one per
    // message. Longer than the daemon's group commit (20 ms), which it then rarely forces.
    static constexpr milliseconds ack_delay{100};

    // A message whose Lamport time is further ahead of ours than this is refused: it could
    // only be an attempt to push every clock towards its end.
    static constexpr std::uint64_t max_lamport_jump = std::uint64_t{1} << 40;

    // Reads what the store holds: which messages, the Lamport clock, and this node's own
    // chain, which goes on from its tip (seqs start at 1 and never repeat while the store
    // lives; it lives as long as the node's key, in the same state directory). `key` signs
    // this node's messages.
    chat_room(std::string self_id, crypto::signing_key const& key, message_store const& store,
              effects& out);

    // Arms the seal of messages a previous run left unsealed.
    void start(instant now);

    // A message typed on this node: checked, numbered, chained, shown, stored and broadcast;
    // the seal that signs it follows when this turn's messages are all out (a seal timer at
    // `now`, so a burst costs one signature).
    rpc::result<send_receipt> send(std::string text, std::string name, instant now);
    void on_seal_timer();
    // Seals what this turn sent, before the seal timer would: a node that leaves or stops
    // must not leave its last messages unsealed, or no peer could hand them on to one that
    // missed them live.
    void seal_pending() {
        if (unsealed_messages_ > 0) seal_now();
    }
    // A message from `sender`: taken only from its author (live messages are never relayed;
    // the link is authenticated, so nothing more is checked) and shown unless seen before.
    void receive(wire::chat_msg&& chat, std::string_view sender, instant now);
    // A seal from its author: stored, to hand on with the history it proves (a seal relayed
    // by anyone else is ignored: seals travel from their author, or inside a history).
    void receive_seal(wire::seal_msg&& seal, std::string_view sender);
    // A welcome's heads: the newcomer follows each origin the welcome lists (its sender and
    // peers) after the seq given (the start of the origin's window when it was welcomed)
    // and gets every message after it, whenever that arrives. Without this, a node that
    // held nothing of an origin when it asked would be answered with the window before the
    // answer: a burst the author sent meanwhile, still on its way live, would fall below it
    // and count as seen (docs/PROTOCOL.md, "Message sync"). Origins it follows already are
    // left as they are. Only for a welcome from its own sender, over a proven connection.
    void follow(wire::welcome_msg const& welcome);
    // Where a history came from, which decides whether it may start a newcomer's window.
    // A sync answer to heads that left an origin out starts at that origin's window (or at
    // the oldest message the answering node holds), so an origin this node does not follow
    // yet is followed from there. A welcome carries the newest messages of the whole
    // room, which may begin past messages this node must still get (sent while it was a
    // member but away, in a partition or down): it starts no window, and sync pulls the
    // origin's window in full.
    enum class history_source { welcome, sync };
    // History a welcome or a sync carried, the seals that prove it and the anchors its
    // stretches start from: shown (marked late) are the messages a verified seal reaches
    // through their chain (our own among them, from before a lost store).
    void receive_history(std::vector<wire::chat_msg>&& history,
                         std::vector<wire::seal_msg> const& seals,
                         std::vector<wire::chain_anchor> const& anchors, instant now,
                         history_source source = history_source::sync);

    // ---- message sync (docs/PROTOCOL.md, "Message sync")
    // What this node holds: for each origin it follows, the highest seq with none missing
    // below it (0: it follows the origin from its first message and holds none yet), and
    // its own tip (0: it has sent nothing). An origin left out is one it does not follow:
    // it gets the origin's newcomer window, as does its own origin at 0.
    wire::heads_msg heads(bool answer) const;
    // A peer's heads: sends it what we hold beyond them (one bounded `history`), and our own
    // heads when it holds what we lack. A sender that says it has sent nothing is followed
    // from its first message, if nothing made us follow it before.
    // Both answer on the connection the message came on: the sender's own link to us.
    void on_heads(wire::heads_msg const& theirs, connection_id from, std::string const& sender);
    void on_history(wire::history_msg&& history, connection_id from, instant now);

    // ---- acknowledgements (docs/PROTOCOL.md, "Delivery")
    // The acks due when the ack timer fires: for each author whose messages this node showed
    // since the last acks, a `heads` with ack set that holds only the author's own head.
    // The runtime sends them once what they claim is stored (committed).
    std::vector<std::pair<std::string, wire::heads_msg>> take_acks();

    // What a welcome carries: the newest messages, the seals that prove them and the chain
    // each stretch of an origin's messages starts from; the history takes at most what the
    // frame limit leaves after welcome.peers (already filled) and the reserve.
    void fill_welcome(wire::welcome_msg& welcome) const;

    std::uint64_t lamport() const { return lamport_; }
    std::uint64_t next_seq() const { return next_seq_; }
    std::uint64_t messages_sent() const { return sent_; }
    std::uint64_t messages_received() const { return received_; }
    // Messages refused: not signed by their author, or a Lamport time out of reach.
    std::uint64_t messages_refused() const { return refused_; }
    // The highest seq of `origin` held with none missing below it.
    std::uint64_t head_of(std::string const& origin) const { return seen_.watermark(origin); }

  private:
    bool accept(wire::chat_msg const& chat);
    void seal_now();
    void show(wire::chat_msg chat, bool self, bool late, instant now);
    // Adds what we hold of `origin` beyond `their_head` (none: they do not follow it, and
    // get its newcomer's window) to `reply`, within its budget;
    // false if the budget ran out first.
    bool add_history(wire::history_msg& reply, std::size_t& bytes_left, std::string_view origin,
                     std::uint64_t our_head, std::optional<std::uint64_t> their_head) const;

    std::string self_id_;
    crypto::signing_key key_;
    message_store const& store_;
    effects& out_;
    seen_messages seen_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t lamport_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t received_ = 0;
    std::uint64_t refused_ = 0;
    // Our own chain: its tip, and the messages since the last seal.
    std::string chain_tip_;
    std::uint64_t tip_seq_ = 0;
    std::size_t unsealed_messages_ = 0;
    std::size_t unsealed_bytes_ = 0;
    bool seal_armed_ = false;
    // Authors of the messages shown since the last acks (never this node); at most every
    // origin this node holds.
    std::set<std::string, std::less<>> unacked_;
    bool ack_armed_ = false;
};

}  // namespace p2pchat::engine
