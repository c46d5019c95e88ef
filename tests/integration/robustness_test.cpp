// What a long-lived network meets: nodes that restart with the same identity, a node that
// leaves and comes back, a late reader replaying a long backlog, big history in a welcome.
#include <gtest/gtest.h>
#include <unistd.h>

#include "tests/support/daemon.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

TEST(Robustness, RestartedNodeIsHeardAgain) {
    // Its identity survives the restart; its message ids must not collide with the old ones,
    // or the others would drop its new messages as duplicates.
    temp_dir state;
    node b(on("127.0.0.2"));
    auto tail = b.tail({"-n", "0"});
    std::string id;
    {
        node a(on("127.0.0.1").state(state.path().string()));
        id = a.id();
        ASSERT_EQ(a.ctl({"join", b.listen()}).status, 0) << a.log();
        for (char const* text : {"one", "two", "three"}) ASSERT_EQ(a.ctl({"send", text}).status, 0);
        ASSERT_TRUE(
            tail.wait_for([](auto const& e) { return count_messages(e, "three") == 1; }, 10s));
        ASSERT_EQ(a.terminate(), std::optional<int>(0));
    }
    node a(on("127.0.0.1").state(state.path().string()));
    ASSERT_EQ(a.id(), id) << "same state dir, same identity";
    ASSERT_EQ(a.ctl({"join", b.listen()}).status, 0) << a.log();
    ASSERT_EQ(a.ctl({"send", "after restart"}).status, 0);
    EXPECT_TRUE(
        tail.wait_for([](auto const& e) { return count_messages(e, "after restart") == 1; }, 10s))
        << logs_of({&a, &b});
}

TEST(Robustness, LeaveThenJoinAgain) {
    node a(on("127.0.0.1"));
    node b(on("127.0.0.2").joining(a.listen()));
    ASSERT_TRUE(wait_until([&] { return a.peer_ids().size() == 2; }, 10s)) << logs_of({&a, &b});
    ASSERT_EQ(b.ctl({"leave"}).status, 0);
    ASSERT_TRUE(wait_until([&] { return a.peer_ids().size() == 1; }, 10s)) << logs_of({&a, &b});
    EXPECT_EQ(b.peer_ids().size(), 1u) << "a node that left stays alone";
    ASSERT_EQ(b.ctl({"join", a.listen()}).status, 0) << b.log();
    EXPECT_TRUE(
        wait_until([&] { return a.peer_ids().size() == 2 && b.peer_ids().size() == 2; }, 10s))
        << logs_of({&a, &b});
    // Both directions carry messages again.
    auto tail = a.tail({"-n", "0"});
    ASSERT_EQ(b.ctl({"send", "back again"}).status, 0);
    EXPECT_TRUE(
        tail.wait_for([](auto const& e) { return count_messages(e, "back again") == 1; }, 10s));
}

TEST(Robustness, LongBacklogReplayThenLiveEvents) {
    // `tail -n all` replays thousands of events; that must not count as falling behind.
    node a(on("127.0.0.1"));
    constexpr int count = 3000;
    std::string const filler(1500, 'y');
    std::string input;
    for (int i = 1; i <= count; ++i) input += std::to_string(i) + " " + filler + "\n";
    ASSERT_EQ(a.ctl({"send"}, input, 60s).status, 75);  // accepted; nobody else is there
    auto tail = a.tail({"-n", "all"});
    ASSERT_EQ(a.ctl({"send", "live"}).status, 75);
    EXPECT_TRUE(tail.wait_for([](auto const& e) { return count_messages(e, "live") == 1; }, 30s))
        << tail.events().size() << " events; " << tail.stderr_text();
    EXPECT_EQ(tail.messages().size(), static_cast<std::size_t>(count + 1));
    EXPECT_TRUE(tail.process().running()) << tail.stderr_text();
}

TEST(Robustness, JoinWelcomesDespiteBigHistory) {
    // Recent history rides in the welcome frame; big messages must not push it over 1 MiB.
    node a(on("127.0.0.1"));
    std::string const big(64 * 1024 - 16, 'z');
    // Accepted (exit 75: a node alone has nobody to tell); b gets them with the welcome.
    for (int i = 0; i < 20; ++i) ASSERT_EQ(a.ctl({"send", std::to_string(i) + big}).status, 75);
    node b(on("127.0.0.2"));
    auto const joined = b.ctl({"join", a.listen()});
    EXPECT_EQ(joined.status, 0) << joined.err << logs_of({&a, &b});
    EXPECT_TRUE(wait_until([&] { return b.peer_ids().size() == 2; }, 10s));
}

}  // namespace
}  // namespace p2pchat::test

namespace p2pchat::test {
namespace {

TEST(Robustness, CrashedPeerIsRemovedAsUnreachable) {
    // The seed assumed nobody crashes. A killed node says no goodbye; the others notice its
    // link stays down for --peer-timeout and remove it, telling their users why.
    std::vector<std::string> const fast{"--peer-timeout", "1"};
    node a(on("127.0.0.1").with(fast));
    node b(on("127.0.0.2").with(fast).joining(a.listen()));
    node c(on("127.0.0.3").with(fast).joining(a.listen()));
    ASSERT_TRUE(
        wait_until([&] { return a.peer_ids().size() == 3 && b.peer_ids().size() == 3; }, 10s))
        << logs_of({&a, &b, &c});
    auto tail = a.tail({"-n", "0"});
    c.crash();
    EXPECT_TRUE(tail.wait_for(
        [&](auto const& events) {
            for (auto const& e : events)
                if (str(e, "type") == "peer_left" && str(e, "reason") == "unreachable") return true;
            return false;
        },
        20s))
        << logs_of({&a, &b});
    EXPECT_TRUE(
        wait_until([&] { return a.peer_ids().size() == 2 && b.peer_ids().size() == 2; }, 20s))
        << logs_of({&a, &b});
    // The survivors still talk.
    ASSERT_EQ(b.ctl({"send", "still two"}).status, 0);
    EXPECT_TRUE(
        tail.wait_for([](auto const& e) { return count_messages(e, "still two") == 1; }, 10s));
}

TEST(Robustness, AFloodOfConnectionsFromOneAddressLeavesRoomForANewcomer) {
    // 70 connections from 127.0.0.1 that never say anything: the node keeps at most
    // peer_listener::max_pending_per_source (8) of them in their handshake, refuses the rest
    // at once, and a newcomer from another address still gets in.
    node a(on("127.0.0.2"));
    std::vector<int> fds;
    for (int i = 0; i < 70; ++i) {
        int const fd = tcp_connect(a.host(), a.port());
        ASSERT_GE(fd, 0);
        fds.push_back(fd);
    }
    std::size_t closed = 0;
    for (std::size_t i = 8; i < fds.size(); ++i) closed += wait_closed(fds[i], 10s) ? 1 : 0;
    EXPECT_EQ(closed, 62u);
    node b(on("127.0.0.3"));
    EXPECT_EQ(b.ctl({"join", a.listen()}).status, 0) << a.log() << b.log();
    EXPECT_GE(num(a.status(), "rejected_connections"), 62) << a.log();
    // The ones it kept are dropped when their handshake times out (5 s).
    EXPECT_TRUE(wait_closed(fds[0], 10s)) << "a silent connection outlived the handshake timeout";
    for (int fd : fds) ::close(fd);
    EXPECT_EQ(a.ctl({"status"}).status, 0) << a.log();
    EXPECT_NE(a.log().find("too many handshakes in progress"), std::string::npos) << a.log();
}

}  // namespace
}  // namespace p2pchat::test
