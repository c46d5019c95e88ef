// Staying connected (issue #11, item 3): `tail` and `chat` outlive a daemon restart. They
// say the daemon went away, reconnect with backoff and resume where they were: nothing shown
// twice (a restarted node is handed recent history again when it rejoins), nothing skipped.
// Event numbers restart with the daemon until issue #10, so the resume is by time and
// message id (ctl/resume.hpp).
#include <gtest/gtest.h>

#include <string>

#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

TEST(Reconnect, TailResumesAfterTheDaemonRestartsWithoutRepeats) {
    temp_dir keep;  // alice's socket and state outlive her first daemon
    auto const sock = (keep.path() / "alice.sock").string();
    auto const state = (keep.path() / "alice-state").string();
    node bob(on("127.0.0.2").named("bob"));
    std::optional<node> alice;
    alice.emplace(on("127.0.0.1").named("alice").socket(sock).state(state).joining(bob.listen()));
    ASSERT_TRUE(wait_until([&] { return alice->peers().size() == 2; }, 10s));
    ASSERT_EQ(bob.ctl({"send", "before the restart"}).status, 0);

    auto tail = alice->tail({"-n", "all"});
    ASSERT_TRUE(tail.wait_for(
        [](auto const& e) { return count_messages(e, "before the restart") == 1; }, 10s))
        << tail.stderr_text();

    ASSERT_EQ(alice->terminate(), std::optional<int>(0));
    ASSERT_TRUE(wait_until(
        [&] { return tail.stderr_text().find("went away; reconnecting") != std::string::npos; },
        10s))
        << tail.stderr_text();
    EXPECT_TRUE(tail.process().running()) << "tail ended with the daemon";

    // The same node comes back (same identity, socket and --join); its welcome from bob
    // carries "before the restart" again.
    alice.reset();
    alice.emplace(on("127.0.0.1").named("alice").socket(sock).state(state).joining(bob.listen()));
    ASSERT_TRUE(wait_until([&] { return alice->peers().size() == 2; }, 10s)) << alice->log();
    // The restarted daemon has the old message again: the follower must not repeat it.
    EXPECT_NE(alice->ctl({"tail", "--no-follow", "-n", "all"}).out.find("before the restart"),
              std::string::npos);
    ASSERT_TRUE(wait_until(
        [&] { return tail.stderr_text().find("reconnected") != std::string::npos; }, 10s))
        << tail.stderr_text();
    ASSERT_EQ(bob.ctl({"send", "after the restart"}).status, 0);
    ASSERT_TRUE(tail.wait_for(
        [](auto const& e) { return count_messages(e, "after the restart") == 1; }, 10s))
        << tail.stderr_text() << alice->log();
    EXPECT_EQ(count_messages(tail.events(), "before the restart"), 1u) << "shown twice";
    EXPECT_TRUE(tail.bad_lines().empty());
}

TEST(Reconnect, HumanTailReconnectsToo) {
    temp_dir keep;
    auto const sock = (keep.path() / "a.sock").string();
    auto const state = (keep.path() / "a-state").string();
    std::optional<node> a;
    a.emplace(on("127.0.0.1").named("alice").socket(sock).state(state));
    child_process tail(ctl_argv(sock, {"tail", "-n", "0"}), stdio_spec{-1, -2, -2});
    ASSERT_TRUE(wait_until([&] { return num(a->status(), "subscribers") == 1; }, 10s));
    a->crash();  // not even a goodbye
    a.reset();
    a.emplace(on("127.0.0.1").named("alice").socket(sock).state(state));
    ASSERT_TRUE(wait_until([&] { return num(a->status(), "subscribers") == 1; }, 15s))
        << "tail did not come back";
    (void)a->ctl({"send", "hello again"});
    std::string out, err;
    EXPECT_TRUE(wait_until(
        [&] {
            drain(tail.stdout_fd(), out);
            drain(tail.stderr_fd(), err);
            return out.find("alice (you): hello again") != std::string::npos;
        },
        10s))
        << out << err;
    EXPECT_NE(err.find("p2pchatd went away; reconnecting"), std::string::npos) << err;
}

}  // namespace
}  // namespace p2pchat::test
