// Engine bugs the simulator found, pinned down with a few direct inputs each (the scenario
// that found them is in sim_test.cpp).
#include <gtest/gtest.h>

#include "common/engine/node.hpp"

namespace p2pchat::engine {
namespace {

using namespace std::chrono_literals;

std::string id_of(char c) { return std::string(64, c); }

instant at(milliseconds t) {
    return {steady_time(std::chrono::hours(1) + t), 1'767'225'600'000 + t.count()};
}

// A node restarted just before a peer's timeout for its old incarnation ran out: the news of
// the new incarnation must start the timeout again, not be removed with it.
TEST(EngineRegression, ANewIncarnationRestartsThePeerTimeout) {
    memory_store store(50);
    node a({id_of('a'), "a", "10.0.0.1:7447"}, at(0ms), store);
    a.start(at(0ms));
    wire::peer_entry b{id_of('b'), "b", "10.0.0.2:7447", 100, wire::peer_state::alive};
    a.on_frame({1, b.id, "10.0.0.2"}, wire::hello_msg{b}, at(0ms));
    a.on_link_up(b.id, at(10ms));
    a.on_link_down(b.id, at(1000ms));  // b crashed; every redial is refused
    b.inc = 200;                       // b restarted; a third node introduces it
    a.on_frame({2, id_of('c'), "10.0.0.3"}, wire::peers_msg{{b}, false}, at(30'000ms));
    a.on_timer(timer_kind::gossip, at(32'000ms));  // 31 s after the link went down
    EXPECT_TRUE(a.members().table().is_alive(b.id));
    // Still unreachable a whole timeout after the news: then it goes.
    a.on_timer(timer_kind::gossip, at(60'500ms));
    EXPECT_FALSE(a.members().table().is_alive(b.id));
}

}  // namespace
}  // namespace p2pchat::engine
