// Input checked at the edge (issue #11, item 6): every bad option or argument of p2pchatd and
// p2pchatctl is a one-line error with exit 64, and the control API refuses the same things
// with -32602. Real processes, real sockets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/daemon.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

std::size_t lines(std::string const& s) {
    std::size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

TEST(InputEdges, DaemonRefusesBadOptionsWithUsage) {
    temp_dir dir;
    auto const sock = (dir.path() / "d.sock").string();
    for (auto const& args :
         std::vector<std::vector<std::string>>{{"--max-peers", "-1"},
                                               {"--max-peers", "0"},
                                               {"--max-peers", "513"},
                                               {"--max-peers", "99999999999999999999"},
                                               {"--peer-timeout", "1e3"},
                                               {"--gossip-interval", "5"},
                                               {"--event-log-size", "12k"},
                                               {"--redial-removed", "0"},
                                               {"--redial-removed", "86401"},
                                               {"stray"},
                                               {"--name", " alice"},
                                               {"--name", "   "},
                                               {"--listen", "127.0.0.1:abc"}}) {
        std::vector<std::string> argv{
            P2PCHATD_PATH, "--socket",   sock, "--state-dir", (dir.path() / "state").string(),
            "--listen",    "127.0.0.1:0"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto const r = run_process(argv, {}, 10s);
        EXPECT_EQ(r.status, 64) << args[0] << ": " << r.err;
        EXPECT_EQ(r.err.rfind("p2pchatd: ", 0), 0u) << r.err;
        EXPECT_LE(lines(r.err), 2u) << "one line and a hint: " << r.err;
    }
}

TEST(InputEdges, CtlRefusesBadArgumentsWithUsageBeforeConnecting) {
    temp_dir dir;
    // Nobody listens here: a usage error must come before trying to connect (69).
    auto const sock = (dir.path() / "nobody.sock").string();
    for (auto const& args : std::vector<std::vector<std::string>>{{"send", "   "},
                                                                  {"send", ""},
                                                                  {"rename", " bob"},
                                                                  {"rename", ""},
                                                                  {"join", "127.0.0.1:abc"},
                                                                  {"join", "127.0.0.1:0"},
                                                                  {"join", "[::1"},
                                                                  {"tail", "-n", "-5"},
                                                                  {"tail", "--since", "soon"},
                                                                  {"tail", "--until", "25:00"},
                                                                  {"tail", "-f", "--no-follow"},
                                                                  {"peers", "extra"},
                                                                  {"status", "extra"}}) {
        auto const r = run_process(ctl_argv(sock, args));
        EXPECT_EQ(r.status, 64) << args[0] << " " << (args.size() > 1 ? args[1] : "") << ": "
                                << r.err;
        EXPECT_EQ(lines(r.err), 1u) << r.err;
    }
}

TEST(InputEdges, ControlApiRefusesTheSameWithInvalidParams) {
    node a(on("127.0.0.1").named("alice"));
    int fd = unix_connect(a.socket_path());
    ASSERT_GE(fd, 0);
    std::string buffer;
    auto call = [&](std::string const& request) {
        EXPECT_TRUE(write_all(fd, request + "\n", 5s));
        auto line = read_line(fd, buffer, 5s);
        EXPECT_TRUE(line);
        return parse_object(line.value_or("{}")).value_or(boost::json::object{});
    };
    auto code = [](boost::json::object const& reply) {
        auto const* e = reply.if_contains("error");
        return e && e->is_object() ? num(e->as_object(), "code") : 0;
    };
    EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","id":1,"method":"send","params":{"text":" \t "}})")),
              -32602);
    EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","id":2,"method":"rename","params":{"name":"bob "}})")),
              -32602);
    EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","id":3,"method":"subscribe","params":{"backlg":5}})")),
              -32602);
    EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","id":4,"method":"history","params":{"limit":-1}})")),
              -32602);
    EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","id":5,"method":"status","params":{"x":1}})")), -32602);
    EXPECT_EQ(code(call(R"({"jsonrpc":"2.0","id":6,"method":"send","params":{"text":"ok"}})")), 0);
    ::close(fd);
}

TEST(InputEdges, TailFiltersBySendTimeAndFollowFlagsExist) {
    node a(on("127.0.0.1").named("alice"));
    ASSERT_EQ(a.ctl({"send", "one"}).status, 75);  // alone: accepted, nobody else heard it
    ASSERT_EQ(a.ctl({"send", "two"}).status, 75);
    // -f and --follow are accepted (with --until in the past they end at once).
    for (auto const& flag : {"-f", "--follow"}) {
        auto const r = a.ctl({"tail", flag, "--until", "1 hour ago"}, {}, 10s);
        EXPECT_EQ(r.status, 0) << flag << ": " << r.err;
        EXPECT_EQ(r.out, "") << flag;
    }
    auto const recent = a.ctl({"tail", "--since", "10m", "--no-follow"});
    EXPECT_EQ(recent.status, 0) << recent.err;
    EXPECT_NE(recent.out.find("alice (you): one"), std::string::npos) << recent.out;
    EXPECT_NE(recent.out.find("alice (you): two"), std::string::npos) << recent.out;
    auto const none = a.ctl({"tail", "--since", "tomorrow", "--no-follow"});
    EXPECT_EQ(none.out, "") << none.out;
    // --until SEQ stops at that event; -n keeps the last N of the range.
    auto const first = a.ctl({"tail", "--until", "1", "--json"});
    EXPECT_EQ(lines(first.out), 1u) << first.out;
    auto const last = a.ctl({"tail", "--until", "now", "-n", "1"});
    EXPECT_EQ(lines(last.out), 1u) << last.out;
    EXPECT_NE(last.out.find("two"), std::string::npos) << last.out;
}

TEST(InputEdges, TwoMembersWithOneNameAreToldApart) {
    node a(on("127.0.0.1").named("alice"));
    node b(on("127.0.0.2").named("alice").joining(a.listen()));
    node c(on("127.0.0.3").named("carol").joining(a.listen()));
    ASSERT_TRUE(wait_until([&] { return c.peers().size() == 3; }, 10s)) << logs_of({&a, &b, &c});
    ASSERT_EQ(a.ctl({"send", "from a"}).status, 0);
    ASSERT_EQ(b.ctl({"send", "from b"}).status, 0);
    std::string const qa = "alice#" + a.id().substr(0, 8), qb = "alice#" + b.id().substr(0, 8);
    std::string out;
    EXPECT_TRUE(wait_until(
        [&] {
            out = c.ctl({"tail", "--no-follow", "-n", "all"}).out;
            return out.find(qa + ": from a") != std::string::npos &&
                   out.find(qb + ": from b") != std::string::npos;
        },
        10s))
        << out;
    auto const table = c.ctl({"peers"}).out;
    EXPECT_NE(table.find(qa), std::string::npos) << table;
    EXPECT_NE(table.find(qb), std::string::npos) << table;
    EXPECT_EQ(table.find("carol#"), std::string::npos) << "unique names stay short: " << table;
}

}  // namespace
}  // namespace p2pchat::test
