#pragma once
// Which members have stored this node's own messages (docs/PROTOCOL.md, "Delivery"). Each
// message this node sends is tracked against the members that were alive when it was sent;
// a member has stored it once this node hears a head of ours from it (an ack or ordinary
// anti-entropy heads) at or past the message's seq. A message is settled when every such
// member stored it (delivered), or when the members still missing were removed from the
// table, or when it waited longer than give_up_after, or when too many wait behind it; the
// settlement is a message_delivery event, one per run of consecutive messages that settled
// alike.
//
// Pure; owned by the engine node, which feeds it sends, heads heard, the members still in the
// table and the time. Bounded: at most max_pending messages wait, and the member lists are
// shared between consecutive messages sent to the same members.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/engine/effects.hpp"
#include "common/engine/events.hpp"

namespace p2pchat::engine {

class delivery_tracker {
  public:
    // Long enough for a paused or slow member to come back (the failure detector removes a
    // dead one well before); short enough that a sender hears about a message that will not
    // arrive while it still matters.
    static constexpr milliseconds give_up_after{60'000};
    static constexpr std::size_t max_pending = 4096;
    // Settled-with-missing outcomes kept for a `send --wait` that asks after the event.
    static constexpr std::size_t kept_outcomes = 256;

    delivery_tracker(std::string self_id, effects& out) : self_id_(std::move(self_id)), out_(out) {}

    // This node sent message `seq` while `members` (id and name; never this node) were
    // alive. With no members it is settled at once: delivered to everyone there was.
    void track(std::uint64_t seq, std::vector<delivery_member> members, instant now);
    // The same members as the last message tracked (the common case on a stream: the
    // caller checks with last_members() and builds no list).
    void track_again(std::uint64_t seq, instant now);
    // The members the last tracked message went to; nullptr before the first.
    std::vector<delivery_member> const* last_members() const { return last_members_.get(); }
    // `peer` holds this node's messages up to `head` (none missing below).
    void heard_head(std::string_view peer, std::uint64_t head);
    // Members that are no longer in the table stored nothing more: those still missing are
    // marked removed. Also settles what waited too long.
    void check(std::function<bool(std::string const&)> const& in_table, instant now);

    // Where message `seq` stands: waiting (settled false, the members still missing), settled
    // with members missing (kept for the last kept_outcomes such), or nullopt when it settled
    // delivered or was never tracked.
    std::optional<message_delivery> status(std::uint64_t seq) const;
    std::size_t pending() const { return pending_.size(); }

  private:
    enum class mark : unsigned char { waiting, stored, removed };
    using member_list = std::shared_ptr<std::vector<delivery_member> const>;
    struct waiting_message {
        std::uint64_t seq = 0;
        steady_time sent_at;
        member_list members;
        std::vector<mark> marks;  // one per member
        std::size_t waiting = 0;  // marks still `waiting`
    };

    // Settles the front of the queue while it can, and everything up to `force_through`
    // (given up: too old or too many).
    void settle(std::uint64_t force_through = 0);
    message_delivery outcome(waiting_message const& w, bool settled) const;
    // Adds a settlement to the run, or emits the run and starts a new one.
    void emit(message_delivery d);
    void flush_run();

    std::string self_id_;
    effects& out_;
    std::deque<waiting_message> pending_;  // by seq
    member_list last_members_;
    std::deque<message_delivery> kept_;  // settled with members missing, newest last
    // A run of consecutive settlements that came out alike, emitted as one event.
    std::optional<message_delivery> run_;
};

}  // namespace p2pchat::engine
