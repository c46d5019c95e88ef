// Engine bugs the simulator found, pinned down with a few direct inputs each (the scenario
// that found them is in sim_test.cpp).
#include <gtest/gtest.h>

#include "common/engine/node.hpp"
#include "tests/support/identities.hpp"

namespace p2pchat::engine {
namespace {

using namespace std::chrono_literals;
using test::id_of;

// A node named `c`, with the identity test::identity_of(c) (it signs what it says).
node_config config_of(char c, std::string listen) {
    return {.id = id_of(c),
            .name = std::string(1, c),
            .listen = std::move(listen),
            // These regressions are about the link-down peer timeout: the fallback that works
            // with the failure detector off.
            .detector = {.probe_interval = 0ms},
            .signing_key = test::identity_of(c).key};
}

instant at(milliseconds t) {
    return {steady_time(std::chrono::hours(1) + t), 1'767'225'600'000 + t.count()};
}

template <class Effect>
std::vector<Effect> effects_of(node& n) {
    std::vector<Effect> out;
    for (auto& e : n.take_effects())
        if (auto* fx = std::get_if<Effect>(&e)) out.push_back(std::move(*fx));
    return out;
}

// A node restarted just before a peer's timeout for its old incarnation ran out: the news of
// the new incarnation must start the timeout again, not be removed with it.
TEST(EngineRegression, ANewIncarnationRestartsThePeerTimeout) {
    memory_store store(50);
    node a(config_of('a', "10.0.0.1:7447"), at(0ms), store);
    a.start(at(0ms));
    auto b = test::signed_entry('b', "b", "10.0.0.2:7447", 100);
    a.on_frame({1, b.id, "10.0.0.2"}, wire::hello_msg{b}, at(0ms));
    a.on_link_up(b.id, at(10ms));
    a.on_link_down(b.id, at(1000ms));  // b crashed; every redial is refused
    b.inc = 200;                       // b restarted; a third node introduces it
    test::sign(b);                     // (b signs its new incarnation)
    a.on_frame({2, id_of('c'), "10.0.0.3"}, wire::peers_msg{{b}, false}, at(30'000ms));
    a.on_timer(timer_kind::gossip, at(32'000ms));  // 31 s after the link went down
    EXPECT_TRUE(a.members().table().is_alive(b.id));
    // Still unreachable a whole timeout after the news: then it goes.
    a.on_timer(timer_kind::gossip, at(60'500ms));
    EXPECT_FALSE(a.members().table().is_alive(b.id));
}

// A node that left while its peer's link was down never said goodbye to that peer; when
// the link comes back, the peer hears `leave` in answer, at the incarnation it left with.
TEST(EngineRegression, ANodeThatLeftAnswersAPeerThatMissedTheGoodbye) {
    memory_store store_a(50), store_b(50);
    node a(config_of('a', "10.0.0.1:7447"), at(0ms), store_a);
    node b(config_of('b', "10.0.0.2:7447"), at(0ms), store_b);
    auto const a_entry = a.members().self();
    auto const b_entry = b.members().self();
    a.on_frame({1, b_entry.id, "10.0.0.2"}, wire::hello_msg{b_entry}, at(0ms));
    b.on_frame({2, a_entry.id, "10.0.0.1"}, wire::hello_msg{a_entry}, at(0ms));
    a.take_effects();
    b.take_effects();

    a.leave(at(1000ms));  // b's link to a is down: the goodbye reaches nobody
    a.take_effects();
    EXPECT_GT(a.members().self().inc, a_entry.inc);  // a rejoin must outrank the tombstone

    // b's link to a reconnects and greets it.
    a.on_frame({3, b_entry.id, "10.0.0.2"}, wire::hello_msg{b_entry}, at(5000ms));
    auto const replies = effects_of<reply_on>(a);
    ASSERT_EQ(replies.size(), 1U);
    EXPECT_EQ(replies[0].connection, 3U);
    auto const* leave = std::get_if<wire::leave_msg>(replies[0].message.get());
    ASSERT_NE(leave, nullptr);
    EXPECT_EQ(leave->id, a_entry.id);
    EXPECT_EQ(leave->inc, a_entry.inc);
    // Signed as the tombstone it makes, so that b can relay it to whoever missed it too.
    auto tombstone = a_entry;
    tombstone.state = wire::peer_state::left;
    tombstone.sig = leave->sig;
    EXPECT_TRUE(crypto::verifies(tombstone));
    EXPECT_FALSE(a.members().table().is_alive(b_entry.id));  // and a stays out

    // b hears it on its link to a and lets a go.
    b.on_frame({4, a_entry.id, "10.0.0.1"}, wire::message{*leave}, at(5001ms));
    EXPECT_FALSE(b.members().table().is_alive(a_entry.id));
    EXPECT_EQ(*b.members().table().find(a_entry.id), tombstone);

    // Nothing is answered on a connection nobody vouched for.
    a.on_frame({5, {}, "10.0.0.9"}, wire::digest_msg{"00", 1}, at(6000ms));
    EXPECT_TRUE(effects_of<reply_on>(a).empty());
}

}  // namespace
}  // namespace p2pchat::engine
