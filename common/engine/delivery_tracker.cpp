#include "common/engine/delivery_tracker.hpp"

#include <algorithm>

namespace p2pchat::engine {

void delivery_tracker::track(std::uint64_t seq, std::vector<delivery_member> members, instant now) {
    // Consecutive messages mostly go to the same members: they share one list.
    if (!last_members_ || *last_members_ != members)
        last_members_ = std::make_shared<std::vector<delivery_member> const>(std::move(members));
    track_again(seq, now);
}

void delivery_tracker::track_again(std::uint64_t seq, instant now) {
    if (!last_members_) last_members_ = std::make_shared<std::vector<delivery_member> const>();
    waiting_message w{seq, now.steady, last_members_,
                      std::vector<mark>(last_members_->size(), mark::waiting),
                      last_members_->size()};
    pending_.push_back(std::move(w));
    // Too many waiting (a member that never answers, on a busy stream): the oldest give up.
    settle(pending_.size() > max_pending ? pending_[pending_.size() - max_pending - 1].seq : 0);
}

void delivery_tracker::heard_head(std::string_view peer, std::uint64_t head) {
    if (pending_.empty() || pending_.front().seq > head) return;
    // Consecutive messages share their member list: the peer is looked up once per list, not
    // once per message (an ack covers every message of a burst).
    member_list::element_type const* list = nullptr;
    std::size_t at = 0;
    for (auto& w : pending_) {
        if (w.seq > head) break;
        if (w.members.get() != list) {
            list = w.members.get();
            auto found = std::find_if(list->begin(), list->end(),
                                      [&](delivery_member const& m) { return m.id == peer; });
            at = static_cast<std::size_t>(found - list->begin());
        }
        if (at < list->size() && w.marks[at] == mark::waiting) {
            w.marks[at] = mark::stored;
            --w.waiting;
        }
    }
    settle();
}

void delivery_tracker::check(std::function<bool(std::string const&)> const& in_table, instant now) {
    for (auto& w : pending_) {
        auto const& members = *w.members;
        for (std::size_t i = 0; i < members.size(); ++i)
            if (w.marks[i] == mark::waiting && !in_table(members[i].id)) {
                w.marks[i] = mark::removed;
                --w.waiting;
            }
    }
    std::uint64_t too_old = 0;
    for (auto const& w : pending_) {
        if (now.steady - w.sent_at < give_up_after) break;
        too_old = w.seq;
    }
    settle(too_old);
}

std::optional<message_delivery> delivery_tracker::status(std::uint64_t seq) const {
    for (auto const& w : pending_)
        if (w.seq == seq) return outcome(w, false);
    for (auto const& k : kept_)
        if (k.first_seq <= seq && seq <= k.seq) {
            auto one = k;
            one.first_seq = one.seq = seq;
            return one;
        }
    return std::nullopt;
}

message_delivery delivery_tracker::outcome(waiting_message const& w, bool settled) const {
    message_delivery d{self_id_, w.seq, w.seq, w.members->size(), {}, settled};
    auto const& members = *w.members;
    for (std::size_t i = 0; i < members.size(); ++i)
        if (w.marks[i] != mark::stored) {
            d.missing.push_back(members[i]);
            d.missing.back().removed = w.marks[i] == mark::removed;
        }
    return d;
}

void delivery_tracker::settle(std::uint64_t force_through) {
    // In seq order: a message settles once those before it did, so the events come in order
    // (acks are cumulative heads; an earlier message is never stored after a later one).
    while (!pending_.empty()) {
        auto const& w = pending_.front();
        if (w.waiting > 0 && w.seq > force_through) break;
        emit(outcome(w, true));
        pending_.pop_front();
    }
    flush_run();
}

void delivery_tracker::flush_run() {
    if (!run_) return;
    if (!run_->delivered()) {
        kept_.push_back(*run_);
        if (kept_.size() > kept_outcomes) kept_.pop_front();
    }
    out_.push(emit_event{std::move(*run_)});
    run_.reset();
}

void delivery_tracker::emit(message_delivery d) {
    if (run_ && run_->seq + 1 == d.seq && run_->members == d.members &&
        run_->missing == d.missing) {
        run_->seq = d.seq;
        return;
    }
    flush_run();
    run_ = std::move(d);
}

}  // namespace p2pchat::engine
