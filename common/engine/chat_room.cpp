#include "common/engine/chat_room.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>

#include "common/text.hpp"
#include "common/wire/frame_decoder.hpp"

namespace p2pchat::engine {

namespace {
// The first message of a run (an author's first, or its first after it lost its store)
// hashes from nothing: it is proven without its predecessor's chain.
bool starts_run(wire::chat_msg const& chat) { return chat.seq == 1 || crypto::follows({}, chat); }
}  // namespace

chat_room::chat_room(std::string self_id, crypto::signing_key const& key,
                     message_store const& store, effects& out)
    : self_id_(std::move(self_id)), key_(key), store_(store), out_(out) {
    store_.for_each_id([this](std::string_view origin, std::uint64_t seq, std::uint64_t lamport) {
        std::string const o(origin);
        seen_.start_at(o, seq);  // the first held of each origin: by origin, then seq
        seen_.insert(o, seq);
        lamport_ = std::max(lamport_, lamport);
    });
    if (auto tip = store_.tip_of(self_id_)) {
        next_seq_ = tip->seq + 1;
        tip_seq_ = tip->seq;
        chain_tip_ = std::move(tip->chain);
        // Our last run ended before its seal went out (a crash within the turn): seal it at
        // start, or nobody could hand those messages on.
        if (store_.seals(self_id_, tip_seq_, tip_seq_).empty()) unsealed_messages_ = 1;
    }
}

void chat_room::start(instant now) {
    if (unsealed_messages_ == 0 || seal_armed_) return;
    seal_armed_ = true;
    out_.push(arm_timer{timer_kind::seal, now.steady});
}

rpc::result<send_receipt> chat_room::send(std::string text, std::string name, instant now) {
    if (auto problem = message_problem(text))
        return rpc::error{
            text.size() > max_text_bytes ? rpc::code::text_too_long : rpc::code::invalid_params,
            std::move(*problem)};
    if (lamport_ != UINT64_MAX) ++lamport_;
    wire::chat_msg chat{.origin = self_id_,
                        .seq = next_seq_++,
                        .lamport = lamport_,
                        .time_ms = now.unix_ms,
                        .name = std::move(name),
                        .text = std::move(text),
                        .chain = {}};
    // Sealed before this message would take the unsealed stretch past a bound (see
    // seal_every_messages); the message then starts the next stretch.
    auto const size = approx_size(chat);
    if (unsealed_messages_ > 0 &&
        (unsealed_messages_ >= seal_every_messages || unsealed_bytes_ + size > seal_every_bytes))
        seal_now();
    chat.chain = crypto::next_chain(chain_tip_, chat);
    chain_tip_ = chat.chain;
    tip_seq_ = chat.seq;
    ++unsealed_messages_;
    unsealed_bytes_ += size;
    if (!seal_armed_) {
        seal_armed_ = true;
        out_.push(arm_timer{timer_kind::seal, now.steady});
    }
    seen_.insert(chat.origin, chat.seq);
    ++sent_;
    send_receipt receipt{self_id_ + ":" + std::to_string(chat.seq), chat.seq, chat.lamport};
    out_.push(broadcast{make_outgoing(chat), {}});
    show(std::move(chat), true, false, now);
    return receipt;
}

void chat_room::on_seal_timer() {
    seal_armed_ = false;
    if (unsealed_messages_ > 0) seal_now();
}

void chat_room::seal_now() {
    unsealed_messages_ = 0;
    unsealed_bytes_ = 0;
    auto s = crypto::seal(self_id_, tip_seq_, chain_tip_, key_);
    out_.push(store_seal{s});
    out_.push(broadcast{make_outgoing(std::move(s)), {}});
}

bool chat_room::accept(wire::chat_msg const& chat) {
    if (seen_.contains(chat.origin, chat.seq)) return false;
    if (chat.lamport > lamport_ && chat.lamport - lamport_ > max_lamport_jump) {
        ++refused_;
        out_.log(severity::warning, "refused a message from ", chat.origin.substr(0, 8),
                 ": its Lamport time ", chat.lamport, " is out of reach");
        return false;
    }
    seen_.insert(chat.origin, chat.seq);
    // Saturating: a clock at its end stays there rather than wrapping to the beginning.
    lamport_ = std::max(lamport_, chat.lamport);
    if (lamport_ != UINT64_MAX) ++lamport_;
    return true;
}

void chat_room::receive(wire::chat_msg&& chat, std::string_view sender, instant now) {
    if (chat.origin != sender) {
        // Live messages go from their author to every peer; a relay is a forgery or a flood.
        ++refused_;
        out_.log(severity::warning, "refused a message for ", chat.origin.substr(0, 8), " sent by ",
                 sender.empty() ? std::string_view("nobody") : sender.substr(0, 8));
        return;
    }
    if (!accept(chat)) return;
    ++received_;
    show(std::move(chat), false, false, now);
}

void chat_room::receive_seal(wire::seal_msg&& seal, std::string_view sender) {
    if (seal.origin != sender || seal.origin == self_id_) return;
    // Not checked: its author sent it over its own link. It is checked by whoever receives
    // it in a history.
    out_.push(store_seal{std::move(seal)});
}

void chat_room::receive_history(std::vector<wire::chat_msg>&& history,
                                std::vector<wire::seal_msg> const& seals,
                                std::vector<wire::chain_anchor> const& anchors, instant now,
                                history_source source) {
    using message_id = std::pair<std::string_view, std::uint64_t>;
    std::map<message_id, wire::chat_msg const*> by_id;
    for (auto const& chat : history) by_id[{chat.origin, chat.seq}] = &chat;
    std::map<message_id, std::string_view> anchor_of;
    for (auto const& a : anchors) anchor_of[{a.origin, a.seq}] = a.chain;
    // Which messages a verified seal proves: from the sealed message back along its origin's
    // chain, each message proven when its chain is the hash of its predecessor's chain and of
    // itself. The oldest of a stretch hashes from its anchor (none: the first of a run).
    // Only a seal that names a message of the history costs a signature check.
    // Owned strings: the loop below moves messages out of `history`.
    std::set<std::pair<std::string, std::uint64_t>> proven;
    std::vector<wire::seal_msg const*> proving;
    for (auto const& seal : seals) {
        auto it = by_id.find({seal.origin, seal.seq});
        if (it == by_id.end() || it->second->chain != seal.chain ||
            proven.contains({seal.origin, seal.seq}) || !crypto::verifies(seal))
            continue;
        for (wire::chat_msg const* current = it->second; current;) {
            auto const prev = by_id.find({seal.origin, current->seq - 1});
            std::string_view previous_chain;
            if (prev != by_id.end())
                previous_chain = prev->second->chain;
            else if (auto a = anchor_of.find({seal.origin, current->seq}); a != anchor_of.end())
                previous_chain = a->second;
            if (!crypto::follows(previous_chain, *current)) break;
            // Where another seal's walk went before, the rest is proven already.
            if (!proven.insert({seal.origin, current->seq}).second) break;
            if (current == it->second) proving.push_back(&seal);
            current = prev != by_id.end() ? prev->second : nullptr;
        }
    }
    for (auto const& chat : history) {
        if (!proven.contains({chat.origin, chat.seq}) && !seen_.contains(chat.origin, chat.seq)) {
            ++refused_;
            out_.log(severity::warning, "refused a message for ", chat.origin.substr(0, 8),
                     " in a history: no seal of its author proves it");
        }
    }
    // An origin this node holds nothing of yet is followed from the oldest message a sync
    // proved here (a newcomer's window): what came before is not asked for. A welcome's
    // messages wait above a gap until sync fills it (history_source).
    if (source == history_source::sync)
        for (auto it = proven.begin(); it != proven.end();
             it = proven.upper_bound({it->first, UINT64_MAX}))
            seen_.start_at(it->first, it->second);
    std::set<std::pair<std::string, std::uint64_t>> shown;
    for (auto& chat : history) {
        if (!proven.contains({chat.origin, chat.seq}) || !accept(chat)) continue;
        bool const self = chat.origin == self_id_;
        if (self && chat.seq >= next_seq_) {
            // Our own messages from before our store was lost: go on after them, or peers
            // would take our next messages for ones they hold.
            next_seq_ = chat.seq + 1;
            tip_seq_ = chat.seq;
            chain_tip_ = chat.chain;
        }
        shown.insert({chat.origin, chat.seq});
        show(std::move(chat), self, true, now);
    }
    // The seals of what was new here, to hand on with it.
    for (auto const* seal : proving)
        if (shown.contains({seal->origin, seal->seq})) out_.push(store_seal{*seal});
}

void chat_room::show(wire::chat_msg chat, bool self, bool late, instant now) {
    if (!self) {
        // Acknowledged with the others of its burst (ack_delay), not one frame per message.
        unacked_.insert(chat.origin);
        if (!ack_armed_) {
            ack_armed_ = true;
            out_.push(arm_timer{timer_kind::ack, now.steady + ack_delay});
        }
    }
    out_.push(store_message{chat, now.unix_ms, late});
    out_.push(emit_event{message_arrived{std::move(chat), self, late}});
}

void chat_room::fill_welcome(wire::welcome_msg& welcome) const {
    std::size_t left = wire::default_frame_limit - welcome_reserve_bytes;
    for (auto const& entry : welcome.peers) left -= std::min(left, approx_size(entry));
    // Where the newcomer starts following us and each member we list (follow()): from the
    // start of its window as we hold it now, so that nothing sent from now on is taken for
    // the past. We hold where it starts, so our answer to its first heads can fill it.
    std::set<std::string_view> members;
    for (auto const& entry : welcome.peers) members.insert(entry.id);
    auto const add_start = [&](std::string const& origin, std::uint64_t head) {
        std::uint64_t start = head >= newcomer_window ? head - newcomer_window + 1 : 1;
        if (auto first = store_.range(origin, start, 1, SIZE_MAX); first.empty()) {
            if (head > 0) start = head + 1;  // none of the window held (retention)
        } else {
            // The first we hold, if we can prove it (it starts a run, or we hold its
            // predecessor's chain); else the one after it, which its chain proves.
            auto const f = first.front().seq;
            start = starts_run(first.front()) || store_.chain_of(origin, f - 1) ? f : f + 1;
        }
        welcome.heads.push_back({origin, std::min(start, head + 1) - 1});
    };
    add_start(self_id_, next_seq_ - 1);
    seen_.for_each_followed([&](std::string const& origin, std::uint64_t head) {
        if (origin != self_id_ && members.contains(origin)) add_start(origin, head);
    });
    left -= std::min(left, welcome.heads.size() * head_approx_bytes);
    welcome.history = store_.newest(welcome_history_count, std::min(left, welcome_history_bytes));
    // The seals that name a message of the history: a seal is checked from the message it
    // names back along its origin's chain.
    std::map<std::string_view, std::pair<std::uint64_t, std::uint64_t>> seqs;  // lowest, highest
    for (auto const& chat : welcome.history) {
        auto [it, first] = seqs.try_emplace(chat.origin, chat.seq, chat.seq);
        it->second = {std::min(it->second.first, chat.seq), std::max(it->second.second, chat.seq)};
    }
    for (auto const& [origin, range] : seqs) {
        auto seals = store_.seals(origin, range.first, range.second);
        std::move(seals.begin(), seals.end(), std::back_inserter(welcome.seals));
    }
    // Each stretch of an origin's messages that starts after a message of its that the store
    // keeps starts from that message's chain (a run's first message hashes from nothing).
    std::set<std::pair<std::string_view, std::uint64_t>> ids;
    for (auto const& chat : welcome.history) ids.insert({chat.origin, chat.seq});
    for (auto const& chat : welcome.history)
        if (!ids.contains({chat.origin, chat.seq - 1}) && !starts_run(chat))
            if (auto chain = store_.chain_of(chat.origin, chat.seq - 1))
                welcome.anchors.push_back({chat.origin, chat.seq, std::move(*chain)});
}

// ---------------------------------------------------------------- message sync

wire::heads_msg chat_room::heads(bool answer) const {
    wire::heads_msg m{{}, answer};
    seen_.for_each_followed([&](std::string const& origin, std::uint64_t seq) {
        if (origin != self_id_) m.heads.push_back({origin, seq});
    });
    // Our own head is our tip, also when the store no longer holds it (retention), and 0
    // when we have sent nothing (or lost our store): a peer then follows us from our first
    // message (on_heads).
    m.heads.push_back({self_id_, std::max(seen_.watermark(self_id_), next_seq_ - 1)});
    return m;
}

void chat_room::follow(wire::welcome_msg const& welcome) {
    std::set<std::string_view> listed{welcome.from.id};
    for (auto const& entry : welcome.peers) listed.insert(entry.id);
    for (auto const& s : welcome.heads)
        if (s.origin != self_id_ && listed.contains(s.origin) && s.seq < UINT64_MAX)
            seen_.start_at(s.origin, s.seq + 1);
}

void chat_room::on_heads(wire::heads_msg const& theirs, connection_id from,
                         std::string const& sender) {
    std::map<std::string_view, std::uint64_t> their_heads;
    for (auto const& h : theirs.heads) their_heads.emplace(h.origin, h.seq);
    // An author that says it has sent nothing is followed from its first message: whatever
    // it sends from now on is ours to get, even if all of it falls in a partition between
    // us. (One that has sent something and that we hold nothing of gets its window.)
    auto const own = their_heads.find(sender);
    if (own != their_heads.end() && own->second == 0 && sender != self_id_)
        seen_.start_at(sender, 1);
    wire::history_msg reply;
    std::size_t bytes_left = sync_batch_bytes;
    seen_.for_each_watermark([&](std::string const& origin, std::uint64_t ours) {
        auto const it = their_heads.find(origin);
        // Their own head of 0 says they sent nothing (or lost their store): their window.
        auto const their_head = it == their_heads.end() || (it == own && it->second == 0)
                                    ? std::nullopt
                                    : std::optional<std::uint64_t>(it->second);
        if (ours > their_head.value_or(0) && !reply.more)
            reply.more = !add_history(reply, bytes_left, origin, ours, their_head);
    });
    if (!reply.messages.empty()) out_.push(reply_on{from, make_outgoing(std::move(reply))});
    if (theirs.answer) return;
    // They hold what we lack: our heads, so that they send it. Answered heads are not
    // answered again, so two nodes never bounce heads back and forth.
    bool const they_hold_more =
        std::any_of(theirs.heads.begin(), theirs.heads.end(),
                    [&](wire::origin_head const& h) { return h.seq > seen_.watermark(h.origin); });
    if (they_hold_more) out_.push(reply_on{from, make_outgoing(heads(true))});
}

bool chat_room::add_history(wire::history_msg& reply, std::size_t& bytes_left,
                            std::string_view origin, std::uint64_t our_head,
                            std::optional<std::uint64_t> their_head) const {
    // From the message after theirs; for an origin they do not follow, from the start of a
    // newcomer's window.
    auto const from = their_head                   ? *their_head + 1
                      : our_head > newcomer_window ? our_head - newcomer_window + 1
                                                   : 1;
    auto const count_left = sync_batch_count - std::min(sync_batch_count, reply.messages.size());
    if (count_left == 0 || bytes_left == 0) return false;
    auto messages = store_.range(origin, from, count_left, bytes_left);
    // Not held (retention, or a gap given up): nothing to give, but to a node that does not
    // follow the origin, which takes what we hold. One that follows it goes on from its head
    // or not at all: what it got above a gap would not move its head, and it would ask for
    // the same again every round.
    if (messages.empty() || (their_head && messages.front().seq != from)) return true;
    // The chain the first starts from (none for the first of a run). Where we do not hold
    // it, the first serves as the anchor of the rest (it could not be proven itself).
    std::optional<wire::chain_anchor> anchor;
    if (auto const first = messages.front().seq; !starts_run(messages.front())) {
        if (auto chain = store_.chain_of(origin, first - 1)) {
            anchor = wire::chain_anchor{std::string(origin), first, std::move(*chain)};
        } else {
            if (messages.size() == 1) return true;
            anchor = wire::chain_anchor{std::string(origin), first + 1, messages.front().chain};
            messages.erase(messages.begin());
        }
    }
    // Up to the last seal among them: only sealed messages can be proven to the receiver.
    auto const seals = store_.seals(origin, messages.front().seq, messages.back().seq);
    if (seals.empty()) return messages.back().seq >= our_head;  // cut short of a seal: ask again
    bool const whole = seals.back().seq >= our_head;
    while (messages.back().seq > seals.back().seq) messages.pop_back();
    for (auto const& chat : messages) bytes_left -= std::min(bytes_left, approx_size(chat));
    if (anchor) reply.anchors.push_back(std::move(*anchor));
    reply.seals.push_back(seals.back());
    std::move(messages.begin(), messages.end(), std::back_inserter(reply.messages));
    return whole;
}

void chat_room::on_history(wire::history_msg&& history, connection_id from, instant now) {
    receive_history(std::move(history.messages), history.seals, history.anchors, now);
    // The sender holds more than one frame took: ask for the rest.
    if (history.more) out_.push(reply_on{from, make_outgoing(heads(true))});
}

// ---------------------------------------------------------------- acknowledgements

std::vector<std::pair<std::string, wire::heads_msg>> chat_room::take_acks() {
    ack_armed_ = false;
    std::vector<std::pair<std::string, wire::heads_msg>> acks;
    for (auto const& origin : unacked_) {
        // Behind a gap nothing new is contiguous yet: the ack waits for the sync that fills it.
        auto const head = seen_.watermark(origin);
        if (head == 0) continue;
        acks.emplace_back(origin, wire::heads_msg{{{origin, head}}, true, true});
    }
    unacked_.clear();
    return acks;
}

}  // namespace p2pchat::engine
