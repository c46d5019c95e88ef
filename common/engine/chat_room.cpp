#include "common/engine/chat_room.hpp"

#include <algorithm>
#include <set>

#include "common/text.hpp"
#include "common/wire/frame_decoder.hpp"

namespace p2pchat::engine {

chat_room::chat_room(std::string self_id, std::int64_t started_unix_ms,
                     crypto::signing_key const& key, message_store const& store, effects& out)
    : self_id_(std::move(self_id)),
      key_(key),
      store_(store),
      out_(out),
      next_seq_(static_cast<std::uint64_t>(started_unix_ms) * 1000 + 1) {}

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
    chat.chain = crypto::next_chain(chain_tip_, chat);
    chain_tip_ = chat.chain;
    tip_seq_ = chat.seq;
    unsealed_ = true;
    if (!seal_armed_) {
        seal_armed_ = true;
        out_.push(arm_timer{timer_kind::seal, now.steady});
    }
    seen_.insert(chat.origin, chat.seq);
    ++sent_;
    send_receipt receipt{self_id_ + ":" + std::to_string(chat.seq), chat.seq, chat.lamport};
    out_.push(broadcast{make_outgoing(chat), {}});
    show(std::move(chat), true);
    return receipt;
}

void chat_room::on_seal_timer() {
    seal_armed_ = false;
    if (!unsealed_) return;
    unsealed_ = false;
    auto s = crypto::seal(self_id_, tip_seq_, chain_tip_, key_);
    keep(s);
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

void chat_room::receive(wire::chat_msg&& chat, std::string_view sender) {
    if (chat.origin != sender) {
        // Live messages go from their author to every peer; a relay is a forgery or a flood.
        ++refused_;
        out_.log(severity::warning, "refused a message for ", chat.origin.substr(0, 8), " sent by ",
                 sender.empty() ? std::string_view("nobody") : sender.substr(0, 8));
        return;
    }
    if (!accept(chat)) return;
    ++received_;
    show(std::move(chat), false);
}

void chat_room::receive_seal(wire::seal_msg&& seal, std::string_view sender) {
    if (seal.origin != sender || seal.origin == self_id_) return;
    // Not checked: its author sent it over its own link. It is checked by whoever receives
    // it in a welcome.
    keep(seal);
}

void chat_room::keep(wire::seal_msg const& seal) {
    auto it = seals_.find(seal.origin);
    if (it == seals_.end()) {
        if (seals_.size() >= seen_messages::default_max_origins) seals_.erase(seals_.begin());
        it = seals_.emplace(seal.origin, std::vector<wire::seal_msg>{}).first;
    }
    auto& kept = it->second;
    auto at =
        std::lower_bound(kept.begin(), kept.end(), seal.seq,
                         [](wire::seal_msg const& s, std::uint64_t seq) { return s.seq < seq; });
    if (at != kept.end() && at->seq == seal.seq) return;
    kept.insert(at, seal);
    if (kept.size() > seals_per_origin) kept.erase(kept.begin());
}

void chat_room::receive_history(std::vector<wire::chat_msg>&& history,
                                std::vector<wire::seal_msg> const& seals,
                                std::vector<wire::chain_anchor> const& anchors) {
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
    for (auto& chat : history) {
        if (!proven.contains({chat.origin, chat.seq})) {
            if (!seen_.contains(chat.origin, chat.seq)) {
                ++refused_;
                out_.log(severity::warning, "refused a message for ", chat.origin.substr(0, 8),
                         " in a welcome: no seal of its author proves it");
            }
            continue;
        }
        if (!accept(chat)) continue;
        bool const self = chat.origin == self_id_;
        show(std::move(chat), self);
    }
    for (auto const* seal : proving) keep(*seal);
}

void chat_room::show(wire::chat_msg chat, bool self) {
    out_.push(store_message{chat});
    out_.push(emit_event{message_arrived{std::move(chat), self}});
}

void chat_room::fill_welcome(wire::welcome_msg& welcome) const {
    std::size_t left = wire::default_frame_limit - welcome_reserve_bytes;
    for (auto const& entry : welcome.peers) left -= std::min(left, approx_size(entry));
    welcome.history = store_.newest(welcome_history_count, std::min(left, welcome_history_bytes));
    std::set<std::string_view> origins;
    for (auto const& chat : welcome.history) origins.insert(chat.origin);
    for (auto origin : origins)
        if (auto it = seals_.find(origin); it != seals_.end())
            welcome.seals.insert(welcome.seals.end(), it->second.begin(), it->second.end());
    // Each stretch of an origin's messages that starts after a message of its that the store
    // keeps starts from that message's chain.
    std::set<std::pair<std::string_view, std::uint64_t>> ids;
    for (auto const& chat : welcome.history) ids.insert({chat.origin, chat.seq});
    for (auto const& chat : welcome.history)
        if (!ids.contains({chat.origin, chat.seq - 1}))
            if (auto chain = store_.chain_of(chat.origin, chat.seq - 1))
                welcome.anchors.push_back({chat.origin, chat.seq, std::move(*chain)});
}

}  // namespace p2pchat::engine
