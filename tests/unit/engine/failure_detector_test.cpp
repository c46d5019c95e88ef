// engine::failure_detector through whole nodes (engine/harness.hpp) with the detector on:
// probes and their load, crash removal, indirect probes around a broken link, suspicion and
// refutation (a suspect raises its incarnation), a hostile member's suspicion, and bounds.
#include "common/engine/failure_detector.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/unit/engine/harness.hpp"

namespace p2pchat::engine {
namespace {

using namespace std::chrono_literals;
using harness::frame;
using harness::machine_options;
using harness::network;

machine_options detecting() {
    machine_options o;
    o.detector = detector_config{};  // the defaults: probe 1 s, timeout 500 ms, 3 helpers
    return o;
}

struct failure_detector_test : ::testing::Test {
    network net;

    void TearDown() override {
        for (auto const& v : net.violations()) ADD_FAILURE() << v;
    }
    void mesh(std::string const& keys) { mesh_in(net, keys); }
    static void mesh_in(network& n, std::string const& keys) {
        for (char k : keys) n.add(k, detecting());
        for (char k : keys.substr(1)) {
            n.join(k, keys[0]);
            n.run();
            ASSERT_TRUE(n.at(k).join && n.at(k).join->joined && *n.at(k).join->joined) << k;
        }
        n.settle(3s);
    }
    static std::string nid(char k) { return harness::node_id(k); }
    wire::peer_entry const* entry_at(char at, char about) const {
        return net.at(at).engine->members().table().find(nid(about));
    }
    std::size_t removals_of(char about) const {
        std::size_t n = 0;
        for (char k : net.keys())
            for (auto const& e : net.at(k).events_of<peer_left>()) n += e.peer.id == nid(about);
        return n;
    }
    static std::size_t pings_sent_by(network const& in, char key) {
        std::size_t n = 0;
        for (auto const& d : in.delivered())
            n += d.from == nid(key) && d.type() == "ping" && d.to != nid(key);
        return n;
    }
    peer_status status_at(char at, char about) const {
        for (auto const& p : net.at(at).engine->peers())
            if (p.id == nid(about)) return p.status;
        return peer_status::left;
    }
};

TEST_F(failure_detector_test, LiveMembersAreProbedAndNeverSuspected) {
    mesh("abcde");
    net.settle(20s);
    for (char k : std::string("abcde")) {
        EXPECT_EQ(net.at(k).engine->members().table().alive_count(), 4U) << k;
        EXPECT_TRUE(net.at(k).events_of<peer_left>().empty()) << k;
        EXPECT_EQ(net.at(k).engine->members().detector().health(), 0) << k;
    }
    // Every peer is heard from, so `peers` has a last-seen time for each.
    for (auto const& p : net.at('a').engine->peers()) {
        if (p.status != peer_status::self) {
            EXPECT_GT(p.last_seen_ms, 0) << p.name;
        }
    }
}

TEST_F(failure_detector_test, ProbeLoadPerNodeDoesNotGrowWithTheGroup) {
    mesh("abc");
    auto const before_small = pings_sent_by(net, 'a');
    net.settle(20s);
    auto const small = pings_sent_by(net, 'a') - before_small;
    network big;  // the same measurement in a group of 8
    mesh_in(big, "abcdefgh");
    auto const before_big = pings_sent_by(big, 'a');
    big.settle(20s);
    auto const large = pings_sent_by(big, 'a') - before_big;
    // One probe a second, whatever the group's size.
    EXPECT_GE(small, 18U);
    EXPECT_LE(small, 22U);
    EXPECT_GE(large, 18U);
    EXPECT_LE(large, 22U);
    for (auto const& v : big.violations()) ADD_FAILURE() << v;
}

TEST_F(failure_detector_test, ACrashedPeerIsRemovedEverywhereWithinFiveSeconds) {
    mesh("abcde");
    net.crash('e');
    net.settle(5s);
    for (char k : std::string("abcd")) {
        auto const* e = entry_at(k, 'e');
        ASSERT_NE(e, nullptr) << k;
        EXPECT_EQ(e->state, wire::peer_state::left) << k;
        auto const left = net.at(k).events_of<peer_left>();
        ASSERT_EQ(left.size(), 1U) << k;
        EXPECT_EQ(left.front().reason, leave_reason::unreachable) << k;
        // The tombstone carries e's own signature of its live entry (a verdict, issue 9).
        EXPECT_EQ(e->sig, net.at('a').engine->members().table().find(nid('e'))->sig);
    }
    EXPECT_EQ(removals_of('a') + removals_of('b') + removals_of('c') + removals_of('d'), 0U);
}

TEST_F(failure_detector_test, APeerOneNodeCannotReachIsProbedThroughOthersAndKept) {
    mesh("abcde");
    net.block('a', 'e');  // a and e cannot connect; everyone else can
    net.settle(30s);
    EXPECT_EQ(removals_of('e'), 0U);
    EXPECT_EQ(removals_of('a'), 0U);
    EXPECT_TRUE(net.at('a').engine->members().table().is_alive(nid('e')));
    EXPECT_TRUE(net.at('e').engine->members().table().is_alive(nid('a')));
}

TEST_F(failure_detector_test, ASuspectRefutesByRaisingItsIncarnation) {
    mesh("abcd");
    auto const inc = entry_at('a', 'b')->inc;
    // c tells a that b is suspect; a believes it (at b's incarnation) and tells b.
    wire::gossip news;
    news.suspects.push_back({nid('b'), inc, nid('c')});
    net.inject('a', wire::ping_msg{999, news}, nid('c'));
    EXPECT_EQ(status_at('a', 'b'), peer_status::suspect);
    net.settle(3s);
    // b heard it (a tells the suspect first), refuted with inc + 1, and everyone took that.
    EXPECT_EQ(net.at('b').engine->members().self().inc, inc + 1);
    for (char k : std::string("acd")) {
        EXPECT_EQ(entry_at(k, 'b')->inc, inc + 1) << k;
        EXPECT_EQ(status_at(k, 'b'), peer_status::alive) << k;
    }
    net.settle(20s);
    EXPECT_EQ(removals_of('b'), 0U);
}

TEST_F(failure_detector_test, AHostileMembersSuspicionsRemoveNobody) {
    mesh("abcde");
    // e claims, again and again, to everyone, that b is suspect, with every member as a
    // confirmation: b refutes each time, and nobody removes it.
    for (int round = 0; round < 10; ++round) {
        auto const inc = net.at('b').engine->members().self().inc;
        wire::gossip news;
        for (char from : std::string("acde")) news.suspects.push_back({nid('b'), inc, nid(from)});
        for (char k : std::string("acd")) net.inject(k, wire::ping_msg{1, news}, nid('e'));
        net.settle(1s);
    }
    net.settle(20s);
    EXPECT_EQ(removals_of('b'), 0U);
    for (char k : std::string("acde"))
        EXPECT_TRUE(net.at(k).engine->members().table().is_alive(nid('b')));
}

TEST_F(failure_detector_test, ASuspicionAtAnIncarnationNobodyHoldsIsIgnored) {
    mesh("abc");
    auto const inc = entry_at('a', 'b')->inc;
    wire::gossip news;
    news.suspects.push_back({nid('b'), inc + 5, nid('c')});  // unsigned: not b's word
    net.inject('a', wire::ping_msg{1, news}, nid('c'));
    net.inject('b', wire::ping_msg{2, news}, nid('c'));
    EXPECT_EQ(status_at('a', 'b'), peer_status::alive);
    net.settle(2s);
    EXPECT_EQ(net.at('b').engine->members().self().inc, inc);
}

TEST_F(failure_detector_test, ProbesRunForOthersAreBounded) {
    mesh("abc");
    // c floods a with requests to probe b: a runs at most max_relays at once.
    for (std::uint64_t s = 1; s <= 100; ++s)
        net.inject('a', wire::ping_req_msg{s, nid('b'), {}}, nid('c'));
    EXPECT_LE(net.at('a').engine->members().detector().relays_in_flight(),
              failure_detector::max_relays);
    net.settle(2s);
    EXPECT_EQ(net.at('a').engine->members().detector().relays_in_flight(), 0U);
}

TEST(failure_detector_timeout, ShrinksWithConfirmationsDownToTheMinimum) {
    effects out;
    peer_table table(
        wire::peer_entry{harness::node_id('a'), "a", "127.0.0.1:1", 1, wire::peer_state::alive, {}},
        256);
    failure_detector fd(
        {}, 1, table, [](std::string const&) { return true; }, out);
    // Alone (n = 1): the minimum is 3 probe intervals, the maximum 3 times that.
    EXPECT_EQ(fd.suspicion_timeout(0), 9000ms);
    EXPECT_GT(fd.suspicion_timeout(1), fd.suspicion_timeout(2));
    EXPECT_EQ(fd.suspicion_timeout(3), 3000ms);
    EXPECT_EQ(fd.suspicion_timeout(10), 3000ms);
}

}  // namespace
}  // namespace p2pchat::engine
