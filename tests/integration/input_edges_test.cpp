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
                                               {"--max-peers", "99999999999999999999"},
                                               {"--peer-timeout", "1e3"},
                                               {"--gossip-interval", "5"},
                                               {"--event-log-size", "12k"},
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

}  // namespace
}  // namespace p2pchat::test
