// The simulator in CI (label sim): 200 seeds of 20-node mixed-fault scenarios with every
// asserted property, determinism, and targeted scenarios. A failing seed prints the command
// that replays it with a trace.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "tests/sim/scenario.hpp"

namespace p2pchat::sim {
namespace {

constexpr char const* sim_program = P2PCHAT_SIM_PATH;

void expect_seeds_hold(std::uint64_t first, std::uint64_t count) {
    for (std::uint64_t seed = first; seed < first + count; ++seed) {
        scenario_config const config{seed, 20, fault_class::mixed, nullptr};
        auto const r = run_scenario(config);
        EXPECT_TRUE(r.ok()) << "seed " << seed << " failed: " << r.failure
                            << "\n  replay: " << replay_command(sim_program, config);
    }
}

// 200 seeds in eight cases of 25, so ctest can run them side by side and a sanitizer build
// (about ten times slower) finishes each well inside the per-test timeout.
TEST(SimSeeds, Mixed001To025) { expect_seeds_hold(1, 25); }
TEST(SimSeeds, Mixed026To050) { expect_seeds_hold(26, 25); }
TEST(SimSeeds, Mixed051To075) { expect_seeds_hold(51, 25); }
TEST(SimSeeds, Mixed076To100) { expect_seeds_hold(76, 25); }
TEST(SimSeeds, Mixed101To125) { expect_seeds_hold(101, 25); }
TEST(SimSeeds, Mixed126To150) { expect_seeds_hold(126, 25); }
TEST(SimSeeds, Mixed151To175) { expect_seeds_hold(151, 25); }
TEST(SimSeeds, Mixed176To200) { expect_seeds_hold(176, 25); }

TEST(SimDeterminism, SameSeedGivesTheSameTrace) {
    scenario_config const config{7, 20, fault_class::mixed, nullptr};
    auto const a = run_scenario(config);
    auto const b = run_scenario(config);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.trace_lines, b.trace_lines);
    EXPECT_EQ(a.events, b.events);
    EXPECT_EQ(a.bytes, b.bytes);
    auto const other = run_scenario({8, 20, fault_class::mixed, nullptr});
    EXPECT_NE(a.trace_hash, other.trace_hash);
}

// ---------------------------------------------------------------- targeted scenarios

// Starts nodes 0..n-1 a quarter second apart, each joining through a random earlier node,
// and runs until membership has converged.
sim_time form(simulation& sim, int n) {
    for (int k = 0; k < n; ++k) {
        std::vector<int> contacts;
        if (k > 0)
            contacts.push_back(
                static_cast<int>(sim.w().random().below(static_cast<std::uint64_t>(k))));
        sim.start(k, 250ms * k, contacts);
    }
    sim_time t = 250ms * n;
    sim.run_until(t);
    while (!membership_difference(sim.w()).empty() && t < 120s) sim.run_until(t += 100ms);
    EXPECT_EQ(membership_difference(sim.w()), "");
    return t;
}

// Runs until membership converges; returns how long that took (or fails the test).
sim_time settle(simulation& sim, sim_time limit) {
    sim_time const from = sim.w().now();
    sim_time t = from;
    while (!membership_difference(sim.w()).empty() && t < from + limit) sim.run_until(t += 100ms);
    EXPECT_EQ(membership_difference(sim.w()), "")
        << "not converged within " << seconds(limit) << " s";
    return t - from;
}

world_config config_of(int nodes, std::uint64_t seed) {
    world_config c;
    c.seed = seed;
    c.nodes = nodes;
    return c;
}

TEST(SimScenario, TwoNewcomersThroughTwoContactsAtOnce) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        simulation sim(config_of(10, seed));
        auto const t = form(sim, 8);
        // Nodes 8 and 9 start at the same instant, through two different members.
        sim.start(8, t + 1s, {2});
        sim.start(9, t + 1s, {5});
        sim.run_until(t + 1s);
        // Introductions (and the contacts' introductions of each other's newcomer) carry it,
        // well before anti-entropy would.
        auto const took = settle(sim, 10s);
        EXPECT_LT(took, 2s) << "seed " << seed;
        EXPECT_TRUE(sim.w().record().failures().empty()) << "seed " << seed;
    }
}

// Failure detection (docs/FAILURE_DETECTION.md): a crash in a group of 20 is removed from
// every table within 5 s, with chat flowing, and nobody else is removed.
TEST(SimScenario, CrashIsRemovedEverywhereWithinFiveSeconds) {
    std::vector<double> took;
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        simulation sim(config_of(20, seed));
        auto const t = form(sim, 20);
        sim.chat(t, t + 20s, 2.0);
        sim.crash(t + 2s, std::nullopt, static_cast<int>(seed % 20));
        sim.run_until(t + 2s + 10s);
        ASSERT_EQ(sim.w().record().crashes().size(), 1U);
        auto const& crash = sim.w().record().crashes().front();
        ASSERT_TRUE(crash.removed_everywhere) << "seed " << seed;
        EXPECT_LE(*crash.removed_everywhere - crash.at, 5s) << "seed " << seed;
        took.push_back(seconds(*crash.removed_everywhere - crash.at));
        EXPECT_EQ(membership_difference(sim.w()), "") << "seed " << seed;
        EXPECT_EQ(sim.w().record().false_removals(), 0U) << "seed " << seed;
    }
    std::sort(took.begin(), took.end());
    std::printf("crash -> removed everywhere (20 nodes, 10 seeds): min %.2f s, max %.2f s\n",
                took.front(), took.back());
}

// A node paused for 3 s (SIGSTOP, swap) is suspected, refutes when it runs again, and is
// removed nowhere.
TEST(SimScenario, PauseOfThreeSecondsRemovesNobody) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        simulation sim(config_of(20, seed));
        auto const t = form(sim, 20);
        sim.chat(t, t + 20s, 2.0);
        sim.pause(t + 2s, 3s, static_cast<int>(seed % 20));
        sim.run_until(t + 2s + 15s);
        EXPECT_EQ(sim.w().record().false_removals(), 0U)
            << "seed " << seed << ": " << testing::PrintToString(sim.w().record().notes());
        EXPECT_EQ(membership_difference(sim.w()), "") << "seed " << seed;
    }
}

// One node cannot reach X (nor X it), everyone else can: the indirect probes get through,
// so neither is removed anywhere, for as long as the cut lasts.
TEST(SimScenario, PartialReachabilityRemovesNobody) {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        for (auto mode : {cut_mode::drop, cut_mode::reject}) {
            simulation sim(config_of(20, seed));
            auto const t = form(sim, 20);
            sim.chat(t, t + 40s, 2.0);
            partition p;
            p.group.assign(20, 0);
            p.group[3] = 1;
            p.group[11] = 2;
            p.mode = mode;
            p.one_way = true;
            p.from_group = 1;
            p.to_group = 2;
            sim.cut(t + 1s, 30s, p);
            sim.run_until(t + 1s + 30s + 10s);
            EXPECT_EQ(sim.w().record().false_removals(), 0U)
                << "seed " << seed << ": " << testing::PrintToString(sim.w().record().notes());
            EXPECT_EQ(membership_difference(sim.w()), "") << "seed " << seed;
        }
    }
}

TEST(SimScenario, RestartOutranksItsFormerSelf) {
    simulation sim(config_of(10, 3));
    auto const t = form(sim, 10);
    auto const old_inc = sim.w().node(4).engine()->members().self().inc;
    sim.crash(t + 1s, 2s, 4);
    sim.run_until(t + 3s);
    ASSERT_TRUE(sim.w().node(4).up());
    auto const new_inc = sim.w().node(4).engine()->members().self().inc;
    EXPECT_GT(new_inc, old_inc);
    settle(sim, 20s);
    // Its join while alone may raise the incarnation once more: every table holds its own.
    auto const current_inc = sim.w().node(4).engine()->members().self().inc;
    EXPECT_GE(current_inc, new_inc);
    for (int n = 0; n < 10; ++n) {
        if (n == 4) continue;
        auto const* entry =
            sim.w().node(n).engine()->members().table().find(sim.w().node(4).spec().id);
        ASSERT_NE(entry, nullptr);
        EXPECT_EQ(entry->inc, current_inc) << "n" << n;
    }
    EXPECT_EQ(sim.w().record().false_removals(), 0U);
}

// Found by the simulator: a node restarted shortly before a peer's 30 s timeout for its old
// incarnation ran out was removed at its new incarnation (engine/membership.cpp, `updated`).
TEST(SimScenario, RestartJustBeforeThePeerTimeoutIsNotRemoved) {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        simulation sim(config_of(10, seed));
        auto const t = form(sim, 10);
        sim.crash(t + 1s, 29s + 500ms, 2);
        sim.run_until(t + 1s + 29s + 500ms + 40s);
        EXPECT_EQ(sim.w().record().false_removals(), 0U) << "seed " << seed;
        EXPECT_EQ(membership_difference(sim.w()), "") << "seed " << seed;
    }
}

// Found by the simulator: a node that left while cut off (every link down, so its goodbye
// reached nobody) stayed a live peer everywhere, its listener taking the others' redials
// (engine/membership.cpp, on_frame_after_leave). A cut longer than the redial window leaves
// only the reconnect to call it back, which it refuses (`left`): found by the simulator too,
// when the reconnect was a plain join and made the node that left a member again.
TEST(SimScenario, LeaveWhileCutOffIsHeardAfterTheHeal) {
    for (auto const cut : {10s, 150s}) {
        for (std::uint64_t seed = 1; seed <= 10; ++seed) {
            simulation sim(config_of(10, seed));
            auto const t = form(sim, 10);
            partition p;
            p.group = {0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
            p.mode = cut_mode::reject;
            sim.cut(t + 1s, cut, p);
            sim.leave(t + 3s, false, std::nullopt, 5);
            sim.run_until(t + 1s + cut);
            settle(sim, 20s);
            sim.run_until(sim.w().now() + 65s);  // two reconnect rounds
            EXPECT_EQ(membership_difference(sim.w()), "") << "seed " << seed;
            EXPECT_EQ(sim.w().live_members().size(), 9U) << "seed " << seed;
        }
    }
}

// Acks are batched (docs/PROTOCOL.md, "Delivery"): a busy stream costs a few heads frames
// for many chat frames, and nothing is lost with them.
TEST(SimScenario, AcksOfABusyStreamAreBatched) {
    constexpr int nodes = 10;
    simulation sim(config_of(nodes, 7));
    auto const t = form(sim, nodes);
    auto const heads = wire::message(wire::heads_msg{}).index();
    auto const chat = wire::message(wire::chat_msg{}).index();
    auto sent = [&](std::size_t type) {
        std::uint64_t n = 0;
        for (int k = 0; k < nodes; ++k) n += sim.w().node(k).sent().frames_by_type[type];
        return n;
    };
    auto const heads_before = sent(heads), chat_before = sent(chat);
    sim.chat(t, t + 5s, 1000.0);  // 100 messages a second from each member
    sim.run_until(t + 5s + 2s);
    auto const heads_frames = sent(heads) - heads_before;
    auto const chat_frames = sent(chat) - chat_before;
    std::printf("busy stream: %llu chat frames, %llu heads frames (acks and anti-entropy)\n",
                static_cast<unsigned long long>(chat_frames),
                static_cast<unsigned long long>(heads_frames));
    EXPECT_GT(chat_frames, 40'000U);
    // 100 ms batches: about one ack per 10 messages of an author per member.
    EXPECT_LT(heads_frames * 5, chat_frames);
    EXPECT_TRUE(sim.w().record().failures().empty())
        << testing::PrintToString(sim.w().record().failures());
}

// A cut longer than the redial window (120 s): each side removed the other and then closed its
// links to them. Only the runtime's reconnect (a member joins through one remembered peer
// that is not a member, every 30 s) brings the halves together again, with every message.
TEST(SimScenario, APartitionLongerThanTheRedialWindowHealsByReconnect) {
    for (std::uint64_t seed = 1; seed <= 4; ++seed) {
        simulation sim(config_of(10, seed));
        auto const t = form(sim, 10);
        partition p;
        p.group = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
        p.mode = seed % 2 ? cut_mode::drop : cut_mode::reject;
        sim.cut(t + 1s, 150s, p);
        sim.chat(t, t + 160s, 2.0);
        sim.run_until(t + 151s);
        // Within the reconnect interval and a join after the heal, not the bound's 90 s.
        auto const took = settle(sim, 45s);
        EXPECT_LT(took, 40s) << "seed " << seed;
        sim.run_until(sim.w().now() + 15s);  // the chat ends; sync brings what each half missed
        auto const deliveries = measure_deliveries(sim.w());
        EXPECT_EQ(deliveries.lost, 0u)
            << "seed " << seed << ": "
            << (deliveries.lost_examples.empty() ? "" : deliveries.lost_examples.front());
        EXPECT_TRUE(sim.w().record().failures().empty())
            << "seed " << seed << ": " << testing::PrintToString(sim.w().record().failures());
    }
}

TEST(SimScenario, OneWayPartitionHeals) {
    for (std::uint64_t seed = 1; seed <= 10; ++seed) {
        for (auto mode : {cut_mode::drop, cut_mode::reject}) {
            simulation sim(config_of(12, seed));
            auto const t = form(sim, 12);
            partition p;
            p.group = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
            p.mode = mode;
            p.one_way = true;
            p.from_group = 0;
            p.to_group = 1;
            sim.cut(t + 1s, 10s, p);
            sim.chat(t, t + 30s, 2.0);
            sim.run_until(t + 11s);
            // Half the group cannot reach the other half for 10 s: longer than the failure
            // detector waits, so each side removes the other (what a partition is), and the
            // links kept to the dead bring them back together after the heal.
            settle(sim, convergence_bound);
            EXPECT_TRUE(sim.w().record().failures().empty()) << "seed " << seed;
        }
    }
}

}  // namespace
}  // namespace p2pchat::sim
