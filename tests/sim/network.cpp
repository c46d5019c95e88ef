#include "tests/sim/network.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "common/wire/frame_decoder.hpp"

namespace p2pchat::sim {

namespace {

// When Linux sends a SYN again after getting no answer (initial RTO 1 s, doubling).
constexpr std::array<sim_time, 6> syn_times{0s, 1s, 3s, 7s, 15s, 31s};

}  // namespace

frame make_frame(engine::outgoing message) {
    auto const bytes = wire::encode(*message).size() + wire::frame_header_size;
    return {std::move(message), static_cast<std::uint32_t>(bytes)};
}

struct network::dial_state {
    int from = 0;
    int to = -1;
    sim_time start{0};
    sim_time timeout{0};
    dial_done done;
    std::size_t attempt = 0;
};

network::network(event_queue& queue, rng& random, network_host& host, latency_model model)
    : queue_(queue), random_(random), host_(host), model_(model) {
    connections_.emplace_back();  // connection 0 is never used
}

void network::add_node() {
    double const lo = std::log(static_cast<double>(model_.access_min.count()));
    double const hi = std::log(static_cast<double>(model_.access_max.count()));
    access_.push_back(sim_time(static_cast<std::int64_t>(std::exp(random_.uniform(lo, hi)))));
}

sim_time network::one_way_latency(int a, int b) {
    double us = static_cast<double>((access_[a] + access_[b]).count());
    us *= 1.0 + random_.exponential(model_.jitter);
    if (random_.chance(model_.tail_p))
        us += random_.exponential(static_cast<double>(model_.tail_mean.count()));
    if (random_.chance(model_.far_tail_p))
        us += random_.exponential(static_cast<double>(model_.far_tail_mean.count()));
    return sim_time(std::max<std::int64_t>(1, static_cast<std::int64_t>(us)));
}

bool network::blocked(int from, int to, cut_mode mode) const {
    if (!cut_ || cut_->mode != mode) return false;
    auto group_of = [&](int node) {
        return static_cast<std::size_t>(node) < cut_->group.size() ? cut_->group[node] : 0;
    };
    int const a = group_of(from);
    int const b = group_of(to);
    if (a == b) return false;
    return !cut_->one_way || (a == cut_->from_group && b == cut_->to_group);
}

network::connection* network::find(connection_id c) {
    return c < connections_.size() ? connections_[c].get() : nullptr;
}
network::connection const* network::find(connection_id c) const {
    return c < connections_.size() ? connections_[c].get() : nullptr;
}

int network::node_at(connection_id c, int side) const {
    auto const* conn = find(c);
    return conn ? conn->node[side] : -1;
}

// ---------------------------------------------------------------- dialling

void network::dial(int from, int to, sim_time timeout, dial_done done) {
    auto d = std::make_shared<dial_state>();
    d->from = from;
    d->to = to;
    d->start = queue_.now();
    d->timeout = timeout;
    d->done = std::move(done);
    syn(std::move(d));
}

void network::syn(std::shared_ptr<dial_state> d) {
    if (d->to >= 0) {
        bool const there = !dropped(d->from, d->to);
        bool const back = !dropped(d->to, d->from) && !blocked(d->to, d->from, cut_mode::reject);
        if (there && blocked(d->from, d->to, cut_mode::reject)) {
            // A firewall that rejects: the dialer hears "refused" at once.
            auto const rtt = one_way_latency(d->from, d->to) * 2;
            queue_.after(rtt, [d] { d->done(0, dial_error::refused); });
            return;
        }
        if (there && back) {
            auto const rtt = one_way_latency(d->from, d->to) + one_way_latency(d->to, d->from);
            queue_.after(rtt, [this, d] {
                // The SYN reached the host: its kernel accepts, or refuses if nothing listens.
                if (!host_.listening(d->to)) {
                    d->done(0, dial_error::refused);
                    return;
                }
                connection_id const c = connections_.size();
                auto conn = std::make_unique<connection>();
                conn->node[0] = d->from;
                conn->node[1] = d->to;
                connections_.push_back(std::move(conn));
                ++opened_;
                ++live_;
                if (!host_.accept(d->to, c, d->from)) close(c, 1);
                d->done(c, dial_error::none);
            });
            return;
        }
    }
    // The SYN (or its answer) was lost: try again as the kernel does, until the timeout.
    ++d->attempt;
    if (d->attempt < syn_times.size() && syn_times[d->attempt] < d->timeout) {
        queue_.at(d->start + syn_times[d->attempt], [this, d] { syn(d); });
        return;
    }
    queue_.at(d->start + d->timeout, [d] { d->done(0, dial_error::timed_out); });
}

// ---------------------------------------------------------------- data

void network::write(connection_id c, int side, frame f) {
    auto* conn = find(c);
    if (!conn || !conn->open[side] || conn->broken) {
        ++frames_lost_;
        return;
    }
    push(c, side, {segment_kind::frame, std::move(f), {}});
}

void network::push(connection_id c, int side, segment s) {
    auto& conn = *find(c);
    auto& dir = conn.dir[side];
    s.arrival = std::max(queue_.now() + one_way_latency(conn.node[side], conn.node[1 - side]),
                         dir.last_arrival);
    dir.last_arrival = s.arrival;
    dir.in_flight.push_back(std::move(s));
    if (!dir.scheduled && !dir.stalled) schedule(c, side);
}

void network::schedule(connection_id c, int side) {
    auto& dir = find(c)->dir[side];
    dir.scheduled = true;
    queue_.at(dir.in_flight[dir.head].arrival,
              [this, c, side, epoch = dir.epoch] { arrive(c, side, epoch); });
}

void network::arrive(connection_id c, int side, std::uint32_t epoch) {
    auto* conn = find(c);
    if (!conn || conn->dir[side].epoch != epoch) return;
    auto& dir = conn->dir[side];
    dir.scheduled = false;
    if (dir.empty() || dir.stalled) return;
    if (dir.in_flight[dir.head].arrival > queue_.now()) {
        schedule(c, side);  // retimed by a reset or a heal since this was scheduled
        return;
    }
    int const from = conn->node[side];
    int const to = conn->node[1 - side];
    if (dropped(from, to)) {
        // Packets are dropped: TCP keeps retransmitting, the frames wait for the heal.
        dir.stalled = true;
        return;
    }
    segment s = std::move(dir.in_flight[dir.head]);
    if (++dir.head == dir.in_flight.size()) dir.clear();
    int const dst = 1 - side;
    if (conn->open[dst]) {
        if (s.kind == segment_kind::rst) conn->open[dst] = false;
        host_.deliver(to, c, s.kind, s.f);
    } else if (s.kind == segment_kind::frame) {
        ++frames_lost_;
    }
    conn = find(c);  // the host may have closed it meanwhile
    if (!conn) return;
    auto& again = conn->dir[side];
    if (!again.empty() && !again.scheduled && !again.stalled) schedule(c, side);
    maybe_forget(c);
}

void network::close(connection_id c, int side) {
    auto* conn = find(c);
    if (!conn || !conn->open[side]) return;
    conn->open[side] = false;
    if (!conn->broken) push(c, side, {segment_kind::fin, {}, {}});
    maybe_forget(c);
}

void network::reset(connection_id c, int gone_side) {
    auto* conn = find(c);
    if (!conn) return;
    conn->broken = true;
    for (auto& dir : conn->dir) {
        for (std::size_t i = dir.head; i < dir.in_flight.size(); ++i)
            if (dir.in_flight[i].kind == segment_kind::frame) ++frames_lost_;
        dir.clear();
        dir.stalled = false;
        dir.scheduled = false;
        ++dir.epoch;
    }
    if (gone_side >= 0) conn->open[gone_side] = false;
    // Each end still open hears the reset from the other side, one latency later.
    for (int end = 0; end < 2; ++end)
        if (conn->open[end]) push(c, 1 - end, {segment_kind::rst, {}, {}});
    maybe_forget(c);
}

void network::maybe_forget(connection_id c) {
    auto* conn = find(c);
    if (conn->open[0] || conn->open[1] || !conn->dir[0].empty() || !conn->dir[1].empty()) return;
    connections_[c].reset();
    --live_;
}

std::vector<connection_id> network::open_connections() const {
    std::vector<connection_id> out;
    for (connection_id c = 1; c < connections_.size(); ++c) {
        auto const* conn = connections_[c].get();
        if (conn && !conn->broken && conn->open[0] && conn->open[1]) out.push_back(c);
    }
    return out;
}

// ---------------------------------------------------------------- partitions

void network::cut(partition p) {
    if (cut_) heal();
    cut_ = std::move(p);
    if (cut_->mode != cut_mode::reject) return;
    for (connection_id c : open_connections()) {
        auto const* conn = find(c);
        int const a = conn->node[0];
        int const b = conn->node[1];
        if (blocked(a, b, cut_mode::reject) || blocked(b, a, cut_mode::reject)) reset(c);
    }
}

void network::heal() {
    cut_.reset();
    for (connection_id c = 1; c < connections_.size(); ++c) {
        auto* conn = connections_[c].get();
        if (!conn) continue;
        for (int side = 0; side < 2; ++side) {
            auto& dir = conn->dir[side];
            if (!dir.stalled) continue;
            dir.stalled = false;
            // The retransmissions get through: the held frames arrive in order from now.
            sim_time t = queue_.now() + one_way_latency(conn->node[side], conn->node[1 - side]);
            for (std::size_t i = dir.head; i < dir.in_flight.size(); ++i) {
                t = std::max(t, dir.in_flight[i].arrival);
                dir.in_flight[i].arrival = t;
            }
            dir.last_arrival = std::max(dir.last_arrival, t);
            if (!dir.scheduled) schedule(c, side);
        }
    }
}

}  // namespace p2pchat::sim
