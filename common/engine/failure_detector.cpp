#include "common/engine/failure_detector.hpp"

#include <algorithm>
#include <cmath>

namespace p2pchat::engine {

namespace {

std::string_view short_id(std::string_view id) { return id.substr(0, 8); }

}  // namespace

failure_detector::failure_detector(detector_config const& config, std::uint64_t seed,
                                   peer_table const& table, link_check connected, effects& out)
    : config_(config),
      table_(table),
      connected_(std::move(connected)),
      out_(out),
      random_(seed ^ 0x5357494d4c474644ULL) {}  // its own stream: "SWIMLGFD"

void failure_detector::start(instant now) {
    if (!enabled()) return;
    started_ = true;
    next_tick_ = now.steady + config_.probe_interval;
    schedule(now);
}

void failure_detector::clear() {
    probes_.clear();
    relays_.clear();
    suspicions_.clear();
    entries_.clear();
    suspects_.clear();
    order_.clear();
    next_ = 0;
    last_seen_.clear();
    health_ = 0;
}

milliseconds failure_detector::suspicion_timeout(std::size_t confirmations) const {
    double const n = static_cast<double>(table_.alive_count() + 1);
    double const interval = static_cast<double>(config_.probe_interval.count());
    double const min = config_.suspicion_mult * std::max(1.0, std::log10(n)) * interval;
    double const max = config_.suspicion_max_mult * min;
    double const k = static_cast<double>(std::max<std::size_t>(config_.confirmations, 1));
    double const c = static_cast<double>(std::min(confirmations, config_.confirmations));
    // Lifeguard: from max down to min, logarithmically in the confirmations.
    double const t = max - (max - min) * std::log(c + 1) / std::log(k + 1);
    return milliseconds(static_cast<std::int64_t>(std::max(min, t)));
}

void failure_detector::adjust_health(int delta) {
    health_ = std::clamp(health_ + delta, 0, config_.max_health - 1);
}

std::size_t failure_detector::retransmits() const {
    auto const n = static_cast<double>(table_.alive_count() + 1);
    return config_.retransmit_mult * static_cast<std::size_t>(std::ceil(std::log10(n + 1)));
}

// ---------------------------------------------------------------- probing

std::optional<std::string> failure_detector::next_target() {
    // memberlist's order: every live peer once per round, in a fresh random order each round,
    // so a peer is probed within one round whatever the draw.
    for (std::size_t tries = 0; tries < 2; ++tries) {
        while (next_ < order_.size()) {
            auto const& id = order_[next_++];
            if (!table_.is_alive(id)) continue;
            bool busy = false;
            for (auto const& [seq, p] : probes_) busy = busy || p.target == id;
            if (!busy) return id;
        }
        order_.clear();
        for (auto const& e : table_.alive_peers()) order_.push_back(e.id);
        std::shuffle(order_.begin(), order_.end(), random_);
        next_ = 0;
        if (order_.empty()) return std::nullopt;
    }
    return std::nullopt;
}

void failure_detector::start_probe(std::string const& target, bool link_down, instant now) {
    if (probes_.size() >= max_probes) return;
    auto const seq = ++next_seq_;
    out_.push(send_to_peer{target, make_outgoing(wire::ping_msg{seq, news()})});
    probe p;
    p.target = target;
    p.direct_deadline = now.steady + scaled(config_.probe_timeout);
    // A broken link: the helpers get the rest of a probe timeout, as the direct ping would.
    p.deadline = now.steady + scaled(link_down ? config_.probe_timeout : config_.probe_interval);
    auto& stored = probes_.emplace(seq, std::move(p)).first->second;
    // A broken link cannot carry the ping (it may if it reconnects at once): ask others now.
    if (link_down) go_indirect(seq, stored, now);
}

void failure_detector::go_indirect(std::uint64_t seq, probe& p, instant now) {
    p.indirect = true;
    std::vector<std::string> helpers;
    for (auto const& e : table_.alive_peers())
        if (e.id != p.target && connected_(e.id) && !suspicions_.contains(e.id))
            helpers.push_back(e.id);
    std::shuffle(helpers.begin(), helpers.end(), random_);
    if (helpers.size() > config_.indirect_probes) helpers.resize(config_.indirect_probes);
    if (!helpers.empty()) {
        auto const req = make_outgoing(wire::ping_req_msg{seq, p.target, news()});
        for (auto const& h : helpers) out_.push(send_to_peer{h, req});
    }
    p.nacks_expected = helpers.size();
    // The helpers get their time even when this node itself ran late (it was paused, or
    // busy): a probe is judged by the target's silence, not by ours.
    auto const indirect_time = scaled(config_.probe_interval - config_.probe_timeout);
    p.deadline =
        std::max(p.deadline, now.steady + std::min(indirect_time, scaled(config_.probe_timeout)));
}

void failure_detector::tick(instant now) {
    next_tick_ = now.steady + scaled(config_.probe_interval);
    if (auto target = next_target()) start_probe(*target, !connected_(*target), now);
}

void failure_detector::on_link_down(std::string const& peer, instant now) {
    if (!started_ || !table_.is_alive(peer) || suspicions_.contains(peer)) return;
    for (auto const& [seq, p] : probes_)
        if (p.target == peer) return;
    start_probe(peer, true, now);
    schedule(now);
}

std::vector<std::pair<std::string, std::uint64_t>> failure_detector::on_timer(instant now) {
    std::vector<std::pair<std::string, std::uint64_t>> dead;
    if (!started_) return dead;
    armed_.reset();
    // Probes: indirect after the direct timeout, a suspect at the end.
    for (auto it = probes_.begin(); it != probes_.end();) {
        auto& p = it->second;
        if (!table_.is_alive(p.target)) {
            it = probes_.erase(it);
            continue;
        }
        if (!p.indirect && now.steady >= p.direct_deadline) go_indirect(it->first, p, now);
        if (now.steady < p.deadline) {
            ++it;
            continue;
        }
        // Lifeguard: helpers that did not even say nack point at this node's own trouble.
        adjust_health(p.nacks_expected > 0 ? static_cast<int>(p.nacks_expected - p.nacks) : 1);
        if (auto const* entry = table_.find(p.target)) {
            wire::suspicion const s{p.target, entry->inc, table_.self().id};
            if (suspect(s, now))
                out_.log(severity::info, "suspecting ", short_id(p.target),
                         ": no answer to direct and indirect probes");
        }
        it = probes_.erase(it);
    }
    // Probes run for others: a silent target gets a nack.
    for (auto it = relays_.begin(); it != relays_.end();) {
        if (now.steady < it->second.deadline) {
            ++it;
            continue;
        }
        out_.push(reply_on{it->second.requester,
                           make_outgoing(wire::nack_msg{it->second.requester_seq})});
        it = relays_.erase(it);
    }
    // Suspicions that ran out: verdicts.
    for (auto it = suspicions_.begin(); it != suspicions_.end();) {
        auto const& s = it->second;
        auto const* entry = table_.find(it->first);
        if (!entry || entry->state != wire::peer_state::alive || entry->inc != s.inc) {
            it = suspicions_.erase(it);
            continue;
        }
        if (now.steady - s.since >= suspicion_timeout(s.confirmed_by.size())) {
            dead.emplace_back(it->first, s.inc);
            it = suspicions_.erase(it);
            continue;
        }
        ++it;
    }
    if (now.steady >= next_tick_) tick(now);
    schedule(now);
    return dead;
}

void failure_detector::schedule(instant now) {
    if (!started_) return;
    steady_time next = next_tick_;
    for (auto const& [seq, p] : probes_)
        next = std::min(next, p.indirect ? p.deadline : p.direct_deadline);
    for (auto const& [seq, r] : relays_) next = std::min(next, r.deadline);
    for (auto const& [id, s] : suspicions_)
        next = std::min(next, s.since + suspicion_timeout(s.confirmed_by.size()));
    next = std::max(next, now.steady);
    if (armed_ && *armed_ == next) return;
    armed_ = next;
    out_.push(arm_timer{timer_kind::probe, next});
}

// ---------------------------------------------------------------- frames

void failure_detector::on_ping(connection_id c, std::string const&, wire::ping_msg const& m,
                               instant) {
    out_.push(reply_on{c, make_outgoing(wire::ack_msg{m.seq, news()})});
}

void failure_detector::on_ack(wire::ack_msg const& m, instant now) {
    if (auto it = probes_.find(m.seq); it != probes_.end()) {
        probes_.erase(it);
        adjust_health(-1);
        return;
    }
    if (auto it = relays_.find(m.seq); it != relays_.end()) {
        out_.push(reply_on{it->second.requester,
                           make_outgoing(wire::ack_msg{it->second.requester_seq, news()})});
        relays_.erase(it);
        schedule(now);
    }
}

void failure_detector::on_ping_req(connection_id c, std::string const& from,
                                   wire::ping_req_msg const& m, instant now) {
    if (!started_ || from.empty() || !table_.is_alive(from)) return;
    if (m.target == table_.self().id) {  // asked to probe ourselves: we are alive
        out_.push(reply_on{c, make_outgoing(wire::ack_msg{m.seq, news()})});
        return;
    }
    // A target we do not hold, or too many probes run for others already: say nothing (the
    // requester counts a missing nack against its own health, as it should: it asked a lot).
    if (relays_.size() >= max_relays) return;
    if (!table_.is_alive(m.target)) {  // gone already, here: we cannot reach it either
        out_.push(reply_on{c, make_outgoing(wire::nack_msg{m.seq})});
        return;
    }
    auto const seq = ++next_seq_;
    out_.push(send_to_peer{m.target, make_outgoing(wire::ping_msg{seq, news()})});
    // The nack comes at 80 % of the probe timeout, before the requester gives up; never
    // scaled by our own health (as in memberlist), or a slow helper would make the requester
    // believe that it is the slow one.
    relays_.emplace(seq, relay{c, m.seq, now.steady + config_.probe_timeout * 4 / 5});
    schedule(now);
}

void failure_detector::on_nack(wire::nack_msg const& m) {
    if (auto it = probes_.find(m.seq); it != probes_.end()) ++it->second.nacks;
}

// ---------------------------------------------------------------- suspicions, news

bool failure_detector::suspect(wire::suspicion const& s, instant now) {
    if (!started_) return false;
    auto const* entry = table_.find(s.id);
    // Only at the incarnation we hold: an older one is refuted already, and a newer one is
    // not something we can check (the suspect signs its incarnations; a suspecter does not).
    if (!entry || entry->state != wire::peer_state::alive || entry->inc != s.inc) return false;
    auto it = suspicions_.find(s.id);
    if (it == suspicions_.end() || it->second.inc != s.inc) {
        suspicion_state state;
        state.inc = s.inc;
        state.since = now.steady;
        state.first = s.from;
        suspicions_.insert_or_assign(s.id, std::move(state));
        queue_suspicion(s);
        // Tell the suspect first (Lifeguard's buddy system), whoever raised it: a peer that is
        // only slow, or falsely accused, refutes at once instead of when gossip reaches it.
        wire::gossip tell;
        tell.suspects.push_back(s);
        out_.push(send_to_peer{s.id, make_outgoing(wire::ping_msg{++next_seq_, std::move(tell)})});
        schedule(now);
        return true;
    }
    auto& state = it->second;
    if (s.from == state.first || state.confirmed_by.size() >= max_confirmations ||
        !state.confirmed_by.insert(s.from).second)
        return false;
    queue_suspicion(s);  // a confirmation is news too: it shortens everyone's timeout
    schedule(now);
    return true;
}

void failure_detector::on_entry_changed(std::string const& id) {
    suspicions_.erase(id);
    std::erase_if(suspects_, [&](auto const& n) { return n.item.id == id; });
}

void failure_detector::on_refuted() { adjust_health(1); }

void failure_detector::queue_suspicion(wire::suspicion const& s) {
    if (suspects_.size() >= max_news) suspects_.pop_front();
    suspects_.push_back({s, 0});
}

void failure_detector::spread(wire::peer_entry const& entry) {
    if (!started_) return;
    std::erase_if(entries_, [&](auto const& n) { return n.item.id == entry.id; });
    if (entries_.size() >= max_news) entries_.pop_front();
    entries_.push_back({entry, 0});
}

wire::gossip failure_detector::news() {
    wire::gossip g;
    auto const limit = retransmits();
    auto pick = [&](auto& queue, auto& out, std::size_t most) {
        // The least sent first: new news travels before news most have heard.
        std::stable_sort(queue.begin(), queue.end(),
                         [](auto const& a, auto const& b) { return a.sent < b.sent; });
        for (auto& n : queue) {
            if (out.size() == most) break;
            out.push_back(n.item);
            ++n.sent;
        }
        std::erase_if(queue, [&](auto const& n) { return n.sent >= limit; });
    };
    pick(entries_, g.entries, entries_per_frame);
    pick(suspects_, g.suspects, news_per_frame);
    return g;
}

void failure_detector::heard_from(std::string_view peer, instant now) {
    // Every frame comes here (chat too): no allocation once the peer is known.
    if (auto it = last_seen_.find(peer); it != last_seen_.end()) {
        it->second = now.unix_ms;
        return;
    }
    std::string id(peer);
    if (table_.is_alive(id)) last_seen_.emplace(std::move(id), now.unix_ms);
}

void failure_detector::forget(std::string const& peer) {
    last_seen_.erase(peer);
    suspicions_.erase(peer);
}

std::int64_t failure_detector::last_seen_ms(std::string const& id) const {
    auto it = last_seen_.find(id);
    return it == last_seen_.end() ? 0 : it->second;
}

}  // namespace p2pchat::engine
