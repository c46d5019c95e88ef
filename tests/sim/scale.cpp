#include "tests/sim/scale.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "tests/sim/memory.hpp"
#include "tests/sim/world.hpp"

namespace p2pchat::sim {

namespace {

constexpr char const* type_names[] = {"join",   "welcome", "refused", "hello",  "peers",
                                      "digest", "chat",    "rename",  "leave",  "network_key",
                                      "seal",   "heads",   "history", "unknown"};
static_assert(std::size(type_names) == std::variant_size_v<wire::message>);

// Per node B5 (docs/BENCHMARKS.md): the daemon's resident memory per added peer (two
// connections, their coroutines and buffers, the table entry, the event log line) and idle.
constexpr double daemon_kib_per_peer = 12.3;
constexpr double daemon_idle_kib = 7120;

// Every one of the first `n` nodes is up, in the network and holds the other n - 1.
bool everyone_knows_everyone(world const& w, int n) {
    auto const expected = static_cast<std::size_t>(n - 1);
    for (int i = 0; i < n; ++i) {
        auto const* e = w.node(i).engine();
        if (!e || !w.node(i).member() || e->members().table().alive_count() != expected)
            return false;
    }
    return true;
}

traffic total_traffic(world const& w) {
    traffic sum;
    for (int i = 0; i < w.size(); ++i) {
        auto const& sent = w.node(i).sent();
        sum.bytes += sent.bytes;
        sum.frames += sent.frames;
        for (std::size_t k = 0; k < traffic::types; ++k) {
            sum.bytes_by_type[k] += sent.bytes_by_type[k];
            sum.frames_by_type[k] += sent.frames_by_type[k];
        }
    }
    return sum;
}

// Runs in steps until the first n nodes know each other, at most `limit`.
sim_time run_until_converged(world& w, int n, sim_time step, sim_time limit) {
    sim_time const from = w.now();
    sim_time t = from;
    while (!everyone_knows_everyone(w, n) && t < from + limit) {
        t += step;
        w.queue().run_until(t);
    }
    return t - from;
}

}  // namespace

scale_result run_scale(int nodes, sim_time join_interval, std::uint64_t seed) {
    auto const started = std::chrono::steady_clock::now();
    world_config config;
    config.seed = seed;
    config.nodes = nodes + 1;  // the last one joins the converged network at the end
    config.max_peers = static_cast<std::size_t>(nodes + 1);  // --max-peers raised to fit
    world w(config);
    for (int k = 0; k < nodes; ++k) {
        std::vector<int> contacts;
        if (k > 0)
            contacts.push_back(static_cast<int>(w.random().below(static_cast<std::uint64_t>(k))));
        w.queue().at(join_interval * k, [wp = &w, k, contacts] {
            wp->node(k).boot(wp->node(k).spec().identity(), contacts, false);
        });
    }
    scale_result out;
    out.nodes = nodes;
    out.join_interval_s = seconds(join_interval);
    sim_time const last_start = join_interval * (nodes - 1);
    out.last_start_s = seconds(last_start);

    // Formation.
    w.queue().run_until(last_start);
    auto const took = run_until_converged(w, nodes, 100ms, 1800s);
    out.converged = everyone_knows_everyone(w, nodes);
    out.converged_after_s = seconds(took);
    auto const formed = total_traffic(w);
    out.bytes = formed.bytes;
    out.frames = formed.frames;
    std::copy(std::begin(formed.bytes_by_type), std::end(formed.bytes_by_type), out.bytes_by_type);
    std::copy(std::begin(formed.frames_by_type), std::end(formed.frames_by_type),
              out.frames_by_type);

    // Idle for five gossip rounds: nothing left in flight; anti-entropy only.
    sim_time const idle_from = w.now() + 2s;
    w.queue().run_until(idle_from);
    auto const before_idle = total_traffic(w).bytes;
    w.queue().run_until(idle_from + 10s);
    out.idle_bytes_per_node_s =
        static_cast<double>(total_traffic(w).bytes - before_idle) / nodes / 10.0;
    std::vector<std::int64_t> bytes, allocations, effect_lists;
    for (int i = 0; i < nodes; ++i) {
        auto const u = memory::live(i + 1);
        bytes.push_back(u.bytes);
        allocations.push_back(u.allocations);
        effect_lists.push_back(static_cast<std::int64_t>(w.node(i).effect_list_bytes()));
    }
    std::sort(bytes.begin(), bytes.end());
    std::sort(allocations.begin(), allocations.end());
    std::sort(effect_lists.begin(), effect_lists.end());
    out.memory_median = bytes[bytes.size() / 2];
    out.memory_max = bytes.back();
    out.allocations_median = allocations[allocations.size() / 2];
    out.effect_lists_median = effect_lists[effect_lists.size() / 2];
    out.connections = w.net().live_connections();

    // One chat message of 100 bytes from a random member.
    int const sender = static_cast<int>(w.random().below(static_cast<std::uint64_t>(nodes)));
    auto const sender_before = w.node(sender).sent();
    w.node(sender).send(std::string(100, 'x'));
    out.chat_sender_bytes = w.node(sender).sent().bytes - sender_before.bytes;
    out.chat_sender_frames = w.node(sender).sent().frames - sender_before.frames;
    w.queue().run_until(w.now() + 2s);

    // One more join, through a random member.
    auto const before_join = total_traffic(w);
    int const contact = static_cast<int>(w.random().below(static_cast<std::uint64_t>(nodes)));
    w.node(nodes).boot(w.node(nodes).spec().identity(), {contact}, false);
    auto const join_took = run_until_converged(w, nodes + 1, 1ms, 600s);
    out.one_join_converged = everyone_knows_everyone(w, nodes + 1);
    out.one_join_s = seconds(join_took);
    w.queue().run_until(w.now() + 1s);  // and what follows it (the last greetings)
    auto const after_join = total_traffic(w);
    out.one_join_bytes = after_join.bytes - before_join.bytes;
    out.one_join_frames = after_join.frames - before_join.frames;
    out.welcome_bytes = after_join.bytes_by_type[1] - before_join.bytes_by_type[1];

    out.events = w.queue().executed();
    out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return out;
}

void print_scale(scale_result const& r) {
    double const joins = r.nodes - 1;
    std::printf("%d nodes joining through random members, one every %.0f ms (last at %.1f s)\n",
                r.nodes, r.join_interval_s * 1000, r.last_start_s);
    std::printf("  %s %.1f s after the last start\n",
                r.converged ? "every table holds every node" : "NOT converged",
                r.converged_after_s);
    std::printf(
        "  until then: %llu frames, %llu bytes; per join %.0f frames, %.0f bytes; per node "
        "per join %.2f frames, %.0f bytes\n",
        static_cast<unsigned long long>(r.frames), static_cast<unsigned long long>(r.bytes),
        static_cast<double>(r.frames) / joins, static_cast<double>(r.bytes) / joins,
        static_cast<double>(r.frames) / joins / r.nodes,
        static_cast<double>(r.bytes) / joins / r.nodes);
    std::printf("  by type:");
    for (std::size_t k = 0; k < std::size(type_names); ++k)
        if (r.frames_by_type[k])
            std::printf(" %s %llu frames %llu bytes;", type_names[k],
                        static_cast<unsigned long long>(r.frames_by_type[k]),
                        static_cast<unsigned long long>(r.bytes_by_type[k]));
    std::printf("\n");
    if (r.memory_median >= 0)
        std::printf(
            "  engine memory per node: median %lld bytes (%.0f per peer), max %lld; %lld "
            "allocations; of it the effect lists' capacity %lld bytes\n",
            static_cast<long long>(r.memory_median), static_cast<double>(r.memory_median) / joins,
            static_cast<long long>(r.memory_max), static_cast<long long>(r.allocations_median),
            static_cast<long long>(r.effect_lists_median));
    std::printf("  idle: %.0f bytes per node per second (anti-entropy)\n", r.idle_bytes_per_node_s);
    std::printf("  a 100-byte message: its sender writes %llu frames, %llu bytes\n",
                static_cast<unsigned long long>(r.chat_sender_frames),
                static_cast<unsigned long long>(r.chat_sender_bytes));
    std::printf("  one more join into %d: %s in %.3f s; %llu frames, %llu bytes (welcome %llu)\n",
                r.nodes, r.one_join_converged ? "converged" : "NOT converged", r.one_join_s,
                static_cast<unsigned long long>(r.one_join_frames),
                static_cast<unsigned long long>(r.one_join_bytes),
                static_cast<unsigned long long>(r.welcome_bytes));
    std::printf("  %zu connections open (%.0f per node), %llu events, %.1f s wall\n", r.connections,
                2.0 * static_cast<double>(r.connections) / r.nodes,
                static_cast<unsigned long long>(r.events), r.wall_s);
}

void print_curve(std::vector<int> const& sizes, sim_time join_interval) {
    std::vector<scale_result> results;
    for (int n : sizes) {
        results.push_back(run_scale(n, join_interval));
        auto const& r = results.back();
        std::fprintf(stderr, "%d nodes: %.0f s wall\n", n, r.wall_s);
    }
    std::printf("Traffic (formation: one join every %.0f ms through a random member)\n\n",
                seconds(join_interval) * 1000);
    std::printf(
        "| nodes | formation: bytes per join | per node per join | converged after the last "
        "start | one more join: frames | bytes | welcome | converged in | a 100-byte message: "
        "sender writes | idle, per node |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (auto const& r : results) {
        double const joins = r.nodes - 1;
        std::printf(
            "| %d | %.0f | %.0f | %s%.1f s | %llu | %llu | %llu | %s%.0f ms | %llu frames, %llu "
            "bytes | %.0f B/s |\n",
            r.nodes, static_cast<double>(r.bytes) / joins,
            static_cast<double>(r.bytes) / joins / r.nodes, r.converged ? "" : "NOT ",
            r.converged_after_s, static_cast<unsigned long long>(r.one_join_frames),
            static_cast<unsigned long long>(r.one_join_bytes),
            static_cast<unsigned long long>(r.welcome_bytes), r.one_join_converged ? "" : "NOT ",
            r.one_join_s * 1000, static_cast<unsigned long long>(r.chat_sender_frames),
            static_cast<unsigned long long>(r.chat_sender_bytes), r.idle_bytes_per_node_s);
    }
    std::printf("\nPer node\n\n");
    std::printf(
        "| nodes | TCP connections | engine memory | of it effect lists | engine per peer | "
        "daemon RSS, B5 model | simulated in |\n");
    std::printf("|---|---|---|---|---|---|---|\n");
    for (auto const& r : results) {
        double const peers = r.nodes - 1;
        std::printf("| %d | %.0f | %.0f KiB | %.0f KiB | %.0f B | %.1f MiB | %.0f s |\n", r.nodes,
                    2.0 * static_cast<double>(r.connections) / r.nodes,
                    static_cast<double>(r.memory_median) / 1024,
                    static_cast<double>(r.effect_lists_median) / 1024,
                    static_cast<double>(r.memory_median) / peers,
                    (daemon_idle_kib + daemon_kib_per_peer * peers) / 1024, r.wall_s);
    }
}

}  // namespace p2pchat::sim
