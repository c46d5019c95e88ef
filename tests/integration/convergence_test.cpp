// Membership converges: two newcomers joining through two different members at the same
// moment both end up everywhere (lists are merged, never replaced), and sixteen nodes joined
// through random earlier members all end up with the full table and deliver a message to all.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>

#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

std::string summary(std::vector<std::unique_ptr<node>> const& nodes) {
    std::string s;
    for (auto const& n : nodes)
        s += n->name() + " lists " + std::to_string(n->peer_ids().size()) + " entries\n";
    return s;
}

std::string logs(std::vector<std::unique_ptr<node>> const& nodes) {
    std::vector<node const*> v;
    for (auto const& n : nodes) v.push_back(n.get());
    return logs_of(v);
}

TEST(Convergence, ConcurrentJoinsThroughDifferentMembers) {
    std::vector<std::unique_ptr<node>> nodes;
    for (auto const* host : {"127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"})
        nodes.push_back(std::make_unique<node>(on(host)));
    node& a = *nodes[0];
    node& b = *nodes[1];
    node& x = *nodes[2];
    node& y = *nodes[3];
    auto const ab = b.ctl({"join", a.listen()});
    ASSERT_EQ(ab.status, 0) << ab.err;
    ASSERT_TRUE(
        wait_until([&] { return a.peer_ids().size() == 2 && b.peer_ids().size() == 2; }, 10s))
        << summary(nodes);

    // Both joins are in flight before either is waited on.
    child_process join_x(ctl_argv(x.socket_path(), {"join", a.listen()}), stdio_spec{-1, -2, -2});
    child_process join_y(ctl_argv(y.socket_path(), {"join", b.listen()}), stdio_spec{-1, -2, -2});
    auto const rx = join_x.communicate({}, 15s);
    auto const ry = join_y.communicate({}, 15s);
    ASSERT_EQ(rx.status, 0) << rx.err << logs(nodes);
    ASSERT_EQ(ry.status, 0) << ry.err << logs(nodes);

    std::vector<std::string> all{a.id(), b.id(), x.id(), y.id()};
    std::sort(all.begin(), all.end());
    ASSERT_TRUE(wait_until(
        [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [&](auto const& n) { return n->peer_ids() == all; });
        },
        15s))
        << summary(nodes) << logs(nodes);
}

TEST(Convergence, SixteenNodesConvergeAndAllReceiveOneMessage) {
    constexpr int count = 16;
    auto const seed = std::random_device{}();
    std::mt19937 random(seed);
    SCOPED_TRACE("random seed " + std::to_string(seed));

    std::vector<std::unique_ptr<node>> nodes;
    for (int i = 1; i <= count; ++i) {
        nodes.push_back(std::make_unique<node>(
            on("127.0.0." + std::to_string(i)).named("node" + std::to_string(i))));
        if (i == 1) continue;
        std::uniform_int_distribution<std::size_t> pick(0, nodes.size() - 2);
        node const& contact = *nodes[pick(random)];
        auto const r = nodes.back()->ctl({"join", contact.listen()});
        ASSERT_EQ(r.status, 0) << nodes.back()->name() << " join " << contact.name() << ": "
                               << r.err << logs(nodes);
    }
    std::vector<std::string> all;
    for (auto const& n : nodes) all.push_back(n->id());
    std::sort(all.begin(), all.end());
    ASSERT_TRUE(wait_until(
        [&] {
            return std::all_of(nodes.begin(), nodes.end(),
                               [&](auto const& n) { return n->peer_ids() == all; });
        },
        30s))
        << summary(nodes) << logs(nodes);

    std::uniform_int_distribution<std::size_t> pick(0, count - 1);
    std::size_t const sender = pick(random);
    std::vector<tail_reader> tails;
    tails.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        if (i != sender) tails.push_back(nodes[i]->tail({"-n", "0"}));
    auto const sent = nodes[sender]->ctl({"send", "hello sixteen"});
    ASSERT_EQ(sent.status, 0) << sent.err;
    ASSERT_EQ(nodes[sender]->ctl({"send", "marker"}).status, 0);
    for (auto& t : tails) {
        ASSERT_TRUE(t.wait_for([](auto& ev) { return count_messages(ev, "marker") == 1; }, 15s))
            << t.stderr_text() << logs(nodes);
        EXPECT_EQ(count_messages(t.events(), "hello sixteen"), 1u);
    }
}

}  // namespace
}  // namespace p2pchat::test
