#include "tests/sim/properties.hpp"

#include <algorithm>
#include <numeric>

#include "tests/sim/world.hpp"

namespace p2pchat::sim {

namespace {

std::string at_text(sim_time t) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "t=%.6f", seconds(t));
    return buf;
}

std::string node_text(int n) { return "n" + std::to_string(n); }

// Pairs (i < j) with keys[i] > keys[j], by merge sort.
template <class Key>
std::uint64_t inversions(std::vector<Key>& keys, std::vector<Key>& scratch, std::size_t lo,
                         std::size_t hi) {
    if (hi - lo < 2) return 0;
    std::size_t const mid = lo + (hi - lo) / 2;
    std::uint64_t count = inversions(keys, scratch, lo, mid) + inversions(keys, scratch, mid, hi);
    std::size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi) {
        if (keys[j] < keys[i]) {
            count += mid - i;
            scratch[k++] = keys[j++];
        } else {
            scratch[k++] = keys[i++];
        }
    }
    while (i < mid) scratch[k++] = keys[i++];
    while (j < hi) scratch[k++] = keys[j++];
    std::copy(scratch.begin() + static_cast<std::ptrdiff_t>(lo),
              scratch.begin() + static_cast<std::ptrdiff_t>(hi),
              keys.begin() + static_cast<std::ptrdiff_t>(lo));
    return count;
}

bool alive_and_current(world const& w, int node, std::uint64_t incarnation) {
    auto const& n = w.node(node);
    if (!n.up() || n.engine()->members().state() != engine::node_state::active) return false;
    // That incarnation belongs to this process, and the process did not leave after it (a
    // goodbye heard late, after the node came back under a higher incarnation, is right).
    auto const& p = w.record().processes(node).back();
    return p.boot_incarnation <= incarnation && p.left_incarnation < incarnation;
}

}  // namespace

// ---------------------------------------------------------------- recorder

process_record& recorder::current(int node) { return processes_[node].back(); }

std::vector<process_record> const& recorder::processes(int node) const {
    static std::vector<process_record> const none;
    auto it = processes_.find(node);
    return it == processes_.end() ? none : it->second;
}

bool recorder::ever_shown(int node, int origin, std::uint64_t seq) const {
    auto it = shown_ever_.find(node);
    return it != shown_ever_.end() && it->second.contains({origin, seq});
}

std::optional<sim_time> recorder::first_member_since(int node) const {
    auto it = first_member_since_.find(node);
    if (it == first_member_since_.end()) return std::nullopt;
    return it->second;
}

void recorder::fail(std::string what) { failures_.push_back(std::move(what)); }

void recorder::booted(int node, std::uint64_t generation, std::uint64_t incarnation, sim_time at) {
    process_record p;
    p.generation = generation;
    p.boot = at;
    p.boot_incarnation = incarnation;
    processes_[node].push_back(std::move(p));
}

void recorder::went_down(int node, sim_time at) {
    auto& p = current(node);
    p.down = at;
    p.member_since.reset();
}

void recorder::membership(int node, bool member, sim_time at) {
    auto& p = current(node);
    if (!member)
        p.member_since.reset();
    else if (!p.member_since)
        p.member_since = at;
    if (member) first_member_since_.try_emplace(node, at);
}

void recorder::left(int node, std::uint64_t incarnation) {
    auto& p = current(node);
    p.left_incarnation = std::max(p.left_incarnation, incarnation);
}

void recorder::sent(int node, engine::send_receipt const& receipt, sim_time at) {
    auto& p = current(node);
    if (receipt.lamport <= p.max_lamport_shown)
        fail("Lamport rule: " + at_text(at) + " " + node_text(node) + " sent " + receipt.id +
             " with Lamport time " + std::to_string(receipt.lamport) + " after showing Lamport " +
             std::to_string(p.max_lamport_shown));
    sent_.push_back({node, receipt.seq, at, p.member_since.has_value()});
}

void recorder::event(int node, engine::node_event const& e, sim_time at) {
    if (auto const* m = std::get_if<engine::message_arrived>(&e)) {
        auto& p = current(node);
        int const origin = world_.node_by_id(m->chat.origin);
        p.shown_ids.insert({origin, m->chat.seq});
        if (!shown_ever_[node].insert({origin, m->chat.seq}).second)
            fail("duplicate: " + at_text(at) + " " + node_text(node) + " showed " +
                 node_text(origin) + ":" + std::to_string(m->chat.seq) + " twice");
        p.shown.push_back({origin, m->chat.seq, m->chat.lamport});
        p.max_lamport_shown = std::max(p.max_lamport_shown, m->chat.lamport);
        auto& last = p.last_seq[origin];
        if (m->chat.seq < last) {
            ++p.seq_inversions;
            if (notes_.size() < 20)
                notes_.push_back(at_text(at) + " " + node_text(node) + " showed " +
                                 node_text(origin) + ":" + std::to_string(m->chat.seq) +
                                 " after seq " + std::to_string(last));
        } else
            last = m->chat.seq;
        return;
    }
    if (auto const* left = std::get_if<engine::peer_left>(&e)) {
        int const peer = world_.node_by_id(left->peer.id);
        if (peer < 0 || peer == node) return;
        if (alive_and_current(world_, peer, left->peer.incarnation)) {
            ++false_removals_;
            if (notes_.size() < 20)
                notes_.push_back(
                    at_text(at) + " " + node_text(node) + " removed " + node_text(peer) + " (" +
                    std::string(engine::to_string(left->reason)) + ") while it was alive");
        }
    }
}

void recorder::watch_crash(int node, sim_time at) {
    crashes_.push_back({node, world_.node(node).spec().id, at, std::nullopt});
}

void recorder::poll(sim_time at) {
    for (auto& c : crashes_) {
        if (c.removed_everywhere || world_.node(c.node).up()) continue;
        bool held = false;
        for (int m : world_.live_members())
            if (world_.node(m).engine()->members().table().is_alive(c.id)) {
                held = true;
                break;
            }
        if (!held) c.removed_everywhere = at;
    }
}

// ---------------------------------------------------------------- checks

std::string membership_difference(world const& w) {
    auto const members = w.live_members();
    std::vector<std::pair<std::string, std::uint64_t>> everyone;
    for (int m : members) {
        auto const& self = w.node(m).engine()->members().self();
        everyone.emplace_back(self.id, self.inc);
    }
    std::sort(everyone.begin(), everyone.end());
    for (int m : members) {
        auto const& table = w.node(m).engine()->members().table();
        std::vector<std::pair<std::string, std::uint64_t>> have;
        for (auto const& e : table.alive_peers()) have.emplace_back(e.id, e.inc);
        auto const& self_id = table.self().id;
        std::size_t i = 0, j = 0;
        while (i < everyone.size() || j < have.size()) {
            if (i < everyone.size() && everyone[i].first == self_id) {
                ++i;
                continue;
            }
            if (i < everyone.size() && j < have.size() && everyone[i] == have[j]) {
                ++i;
                ++j;
                continue;
            }
            auto describe = [&](std::pair<std::string, std::uint64_t> const& e) {
                return node_text(w.node_by_id(e.first)) + "/" + std::to_string(e.second);
            };
            if (j == have.size() || (i < everyone.size() && everyone[i] < have[j]))
                return node_text(m) + " lacks live member " + describe(everyone[i]);
            return node_text(m) + " holds " + describe(have[j]) +
                   ", not a live member at that incarnation";
        }
    }
    return {};
}

int membership_components(world const& w) {
    auto const members = w.live_members();
    std::vector<int> parent(static_cast<std::size_t>(w.size()));
    std::iota(parent.begin(), parent.end(), 0);
    auto root = [&](int x) {
        while (parent[x] != x) x = parent[x] = parent[parent[x]];
        return x;
    };
    for (int m : members)
        for (auto const& e : w.node(m).engine()->members().table().alive_peers()) {
            int const other = w.node_by_id(e.id);
            if (other >= 0 && w.node(other).member()) parent[root(m)] = root(other);
        }
    std::set<int> roots;
    for (int m : members) roots.insert(root(m));
    return static_cast<int>(roots.size());
}

namespace {
// Whether `node` is a member now, and became one again after `at`.
bool member_after(world const& w, int node, sim_time at) {
    auto const& processes = w.record().processes(node);
    return w.node(node).up() && !processes.empty() && processes.back().member_since &&
           *processes.back().member_since > at;
}
}  // namespace

delivery_figures measure_deliveries(world const& w) {
    delivery_figures out;
    // (Lamport, origin id) order: origins ranked by id once.
    std::vector<std::pair<std::string, int>> ids;
    for (int n = 0; n < w.size(); ++n) ids.emplace_back(w.node(n).spec().id, n);
    std::sort(ids.begin(), ids.end());
    std::vector<int> rank(static_cast<std::size_t>(w.size()));
    for (std::size_t r = 0; r < ids.size(); ++r) rank[ids[r].second] = static_cast<int>(r);

    auto const& sent = w.record().messages();
    std::vector<std::pair<std::uint64_t, int>> keys, scratch;
    for (int n = 0; n < w.size(); ++n) {
        auto const& processes = w.record().processes(n);
        for (auto const& p : processes) {
            keys.clear();
            for (auto const& s : p.shown) keys.emplace_back(s.lamport, rank[s.origin]);
            scratch.resize(keys.size());
            out.lamport_inversions += inversions(keys, scratch, 0, keys.size());
            out.seq_inversions += p.seq_inversions;
        }
        // A live member holds every message sent since it first became one: its store kept
        // what it had over restarts, and sync brought what it missed while down or cut off.
        auto const since = w.record().first_member_since(n);
        if (processes.empty() || !w.node(n).up() || !processes.back().member_since || !since)
            continue;
        for (auto const& m : sent) {
            if (m.origin == n || m.at < *since) continue;
            // What an author sent alone, after it left, reaches the others only if it came
            // back: sync carries it then.
            if (!m.by_member && !member_after(w, m.origin, m.at)) continue;
            ++out.expected;
            if (w.record().ever_shown(n, m.origin, m.seq)) continue;
            ++out.lost;
            if (out.lost_examples.size() < 10)
                out.lost_examples.push_back(node_text(n) + " never showed " + node_text(m.origin) +
                                            ":" + std::to_string(m.seq) + " sent at " +
                                            at_text(m.at));
        }
    }
    return out;
}

}  // namespace p2pchat::sim
