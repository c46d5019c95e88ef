// Streaming through the CLI: `seq 1 2000 | p2pchatctl send` arrives complete, in order and
// once; `p2pchatctl tail | head -n 1` ends cleanly when its reader goes away.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

TEST(Streaming, TwoThousandLinesArriveInOrderOnce) {
    node a(on("127.0.0.1").named("alice"));
    node b(on("127.0.0.2").named("bob"));
    ASSERT_EQ(b.ctl({"join", a.listen()}).status, 0);
    ASSERT_TRUE(wait_until([&] { return a.peer_ids().size() == 2; }, 10s)) << logs_of({&a, &b});
    auto tail_b = b.tail();

    std::string input;
    for (int i = 1; i <= 2000; ++i) input += std::to_string(i) + "\n";
    auto const sent = a.ctl({"send"}, input, 60s);
    ASSERT_FALSE(sent.timed_out);
    ASSERT_EQ(sent.status, 0) << sent.err;
    EXPECT_EQ(sent.err, "");

    auto from_a = [&] {
        std::vector<std::string> texts;
        for (auto const& m : tail_b.messages())
            if (str(m, "from") == a.id()) texts.push_back(str(m, "text"));
        return texts;
    };
    ASSERT_TRUE(tail_b.wait_for([&](auto&) { return from_a().size() >= 2000; }, 60s))
        << "got " << from_a().size() << "\n"
        << tail_b.stderr_text() << logs_of({&a, &b});
    auto const texts = from_a();
    ASSERT_EQ(texts.size(), 2000u);
    for (int i = 0; i < 2000; ++i)
        ASSERT_EQ(texts[static_cast<std::size_t>(i)], std::to_string(i + 1)) << "at " << i;
    EXPECT_TRUE(tail_b.bad_lines().empty());
    EXPECT_TRUE(tail_b.process().running()) << "tail keeps following";
}

TEST(Streaming, TailIntoHeadExitsCleanly) {
    node a(on("127.0.0.1").named("alice"));
    auto const before = num(a.status(), "subscribers");
    bool const fresh = num(a.status(), "event_seq") == 0;

    int pipe_fds[2];
    ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
    child_process tail(ctl_argv(a.socket_path(), {"tail"}), stdio_spec{-1, pipe_fds[1], -2});
    child_process head({"/usr/bin/head", "-n", "1"}, stdio_spec{pipe_fds[0], -2, -2});
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ASSERT_TRUE(wait_until([&] { return num(a.status(), "subscribers") > before; }, 10s))
        << a.log();

    ASSERT_EQ(a.ctl({"send", "first line"}).status, 75);  // alone: nobody else received it
    auto const h = head.communicate({}, 10s);
    ASSERT_EQ(h.status, 0) << h.err;
    EXPECT_EQ(std::count(h.out.begin(), h.out.end(), '\n'), 1) << h.out;
    if (fresh) {  // no backlog: the first line tail prints is the message
        EXPECT_NE(h.out.find("alice (you): first line"), std::string::npos) << h.out;
    }

    // head is gone: tail notices the closed pipe and ends quietly with status 0.
    auto const t = tail.communicate({}, 10s);
    EXPECT_FALSE(t.timed_out) << "tail kept running after its reader went away";
    EXPECT_EQ(t.status, 0);
    EXPECT_EQ(t.err, "");
}

}  // namespace
}  // namespace p2pchat::test
