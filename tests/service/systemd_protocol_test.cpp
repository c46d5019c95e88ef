// The daemon's side of the systemd protocols, without systemd: a fake NOTIFY_SOCKET that
// records what p2pchatd reports (READY=1, STATUS=, WATCHDOG=1, STOPPING=1), and socket
// activation with a listening socket passed as fd 3 (LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES).
// Children get LISTEN_PID and WATCHDOG_PID set to their own pid (spawn_options::pid_vars).
// Every wait polls against a deadline; every child is killed when its owner goes out of scope.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace p2pchat::test {
namespace {

namespace fs = std::filesystem;

// What a service manager controls is never inherited from the test's own environment.
spawn_options manager_env(std::vector<std::string> env = {}) {
    return {.env = std::move(env),
            .unset = {"LISTEN_", "NOTIFY_SOCKET=", "WATCHDOG_", "P2PCHAT_SOCKET="}};
}

struct run_result {
    int status = -1;
    std::string out;  // stdout and stderr
};

// Runs p2pchatctl to completion (at most 15 s), collecting stdout and stderr.
run_result run_ctl(std::vector<std::string> args) {
    args.insert(args.begin(), P2PCHATCTL_PATH);
    child_process c(args, stdio_spec{-1, -2, -3}, manager_env({"NO_COLOR=1"}));
    auto r = c.communicate({}, 15s);
    return {r.timed_out ? -1 : r.status, r.out};
}

int bound_socket(int type, fs::path const& path) {
    int const fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw std::runtime_error("bind " + path.string() + ": " + std::strerror(errno));
    return fd;
}

// The fake service manager's end of NOTIFY_SOCKET: records every datagram.
class notify_recorder {
  public:
    explicit notify_recorder(fs::path const& path) : fd_(bound_socket(SOCK_DGRAM, path)) {}
    ~notify_recorder() { ::close(fd_); }
    notify_recorder(notify_recorder const&) = delete;
    notify_recorder& operator=(notify_recorder const&) = delete;

    // Waits for the next datagram, at most until timeout; nullopt on timeout.
    std::optional<std::string> next(std::chrono::milliseconds timeout) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
        char buf[4096];
        ssize_t const n = ::recv(fd_, buf, sizeof buf, 0);
        if (n < 0) return std::nullopt;
        std::string message(buf, static_cast<std::size_t>(n));
        messages.push_back(message);
        return message;
    }
    // Reads datagrams until one contains `line` as a whole line; false at the deadline.
    bool wait_for_line(std::string const& line, std::chrono::milliseconds timeout) {
        auto const deadline = steady::now() + timeout;
        for (;;) {
            auto const left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
            if (left <= 0ms) return false;
            auto m = next(left);
            if (!m) return false;
            if (has_line(*m, line)) return true;
        }
    }
    static bool has_line(std::string const& message, std::string const& prefix) {
        std::size_t start = 0;
        while (start <= message.size()) {
            auto const end = std::min(message.find('\n', start), message.size());
            if (message.compare(start, end - start, prefix) == 0 ||
                (prefix.back() == '=' && message.compare(start, prefix.size(), prefix) == 0))
                return true;
            start = end + 1;
        }
        return false;
    }
    int count(std::string const& line) const {
        int n = 0;
        for (auto const& m : messages) n += has_line(m, line) ? 1 : 0;
        return n;
    }
    std::string all() const {
        std::string out;
        for (auto const& m : messages) out += "[" + m + "] ";
        return out;
    }

    std::vector<std::string> messages;

  private:
    int fd_;
};

std::vector<std::string> daemon_argv(temp_dir const& dir, std::string const& name,
                                     fs::path const& socket) {
    return {P2PCHATD_PATH,   "--name",      name,
            "--listen",      "127.0.0.1:0", "--socket",
            socket.string(), "--state-dir", (dir.path() / (name + "-state")).string()};
}

std::string status_field(fs::path const& socket, char const* key) {
    auto const r = run_ctl({"--socket", socket.string(), "status", "--json"});
    if (r.status != 0) return {};
    boost::system::error_code ec;
    auto const v = boost::json::parse(r.out, ec);
    if (ec || !v.is_object()) return {};
    auto const* f = v.as_object().if_contains(key);
    if (!f) return {};
    return f->is_string() ? std::string(f->as_string()) : boost::json::serialize(*f);
}

TEST(notify_socket, ready_only_when_the_control_socket_answers_then_status_watchdog_stopping) {
    temp_dir dir;
    auto const notify_path = dir.path() / "notify";
    auto const control = dir.path() / "alice.sock";
    notify_recorder recorder(notify_path);
    auto options = manager_env({"NOTIFY_SOCKET=" + notify_path.string(), "WATCHDOG_USEC=200000"});
    options.pid_vars = {"WATCHDOG_PID"};
    auto daemon =
        spawn_logged(daemon_argv(dir, "alice", control), dir.path() / "alice.log", options);

    // Nothing but STATUS= may come before READY=1, and when READY=1 comes the control API
    // must already answer.
    ASSERT_TRUE(recorder.wait_for_line("READY=1", 10s)) << "no READY=1; got " << recorder.all();
    auto const at_ready = run_ctl({"--socket", control.string(), "status"});
    EXPECT_EQ(at_ready.status, 0) << "READY=1 sent but status fails: " << at_ready.out;
    for (std::size_t i = 0; i + 1 < recorder.messages.size(); ++i) {
        EXPECT_TRUE(recorder.messages[i].starts_with("STATUS="))
            << "before READY=1: " << recorder.messages[i];
    }
    EXPECT_EQ(recorder.count("READY=1"), 1);

    // STATUS= names the node; WATCHDOG=1 every WATCHDOG_USEC/2 = 100 ms.
    EXPECT_GE(recorder.count("STATUS="), 1) << recorder.all();
    bool status_names_node = false;
    for (auto const& m : recorder.messages)
        status_names_node |= m.find("STATUS=alice (") != std::string::npos;
    EXPECT_TRUE(status_names_node) << recorder.all();
    ASSERT_TRUE(recorder.wait_for_line("WATCHDOG=1", 5s)) << recorder.all();
    ASSERT_TRUE(recorder.wait_for_line("WATCHDOG=1", 5s)) << recorder.all();
    ASSERT_TRUE(recorder.wait_for_line("WATCHDOG=1", 5s)) << recorder.all();

    // A peer joining moves the STATUS= line.
    auto const bob_socket = dir.path() / "bob.sock";
    auto bob =
        spawn_logged(daemon_argv(dir, "bob", bob_socket), dir.path() / "bob.log", manager_env());
    ASSERT_TRUE(wait_until(
        [&] {
            return run_ctl({"--socket", bob_socket.string(), "status"}).status == 0;
        },
        10s));
    auto const join =
        run_ctl({"--socket", control.string(), "join", status_field(bob_socket, "listen")});
    ASSERT_EQ(join.status, 0) << join.out;
    bool moved = false;
    auto const deadline = steady::now() + 10s;
    while (!moved && steady::now() < deadline) {
        auto m = recorder.next(1s);
        moved = m && m->find("STATUS=") != std::string::npos &&
                m->find(": 1 peers") != std::string::npos;
    }
    EXPECT_TRUE(moved) << "no STATUS= with 1 peer after the join; got " << recorder.all();

    // SIGTERM: STOPPING=1, then a clean exit.
    daemon.signal(SIGTERM);
    EXPECT_TRUE(recorder.wait_for_line("STOPPING=1", 10s)) << recorder.all();
    EXPECT_EQ(daemon.wait_for(10s), std::optional<int>(0));
}

TEST(notify_socket, no_watchdog_pings_for_another_pid) {
    // sd_watchdog_enabled() ignores WATCHDOG_USEC when WATCHDOG_PID names another process.
    temp_dir dir;
    auto const notify_path = dir.path() / "notify";
    auto const control = dir.path() / "carol.sock";
    notify_recorder recorder(notify_path);
    auto daemon =
        spawn_logged(daemon_argv(dir, "carol", control), dir.path() / "carol.log",
                     manager_env({"NOTIFY_SOCKET=" + notify_path.string(), "WATCHDOG_USEC=200000",
                                  "WATCHDOG_PID=" + std::to_string(::getpid())}));
    ASSERT_TRUE(recorder.wait_for_line("READY=1", 10s)) << recorder.all();
    // Let several watchdog periods pass, measured by control round trips, not a sleep.
    auto const until = steady::now() + 500ms;
    while (steady::now() < until)
        ASSERT_EQ(run_ctl({"--socket", control.string(), "status"}).status, 0);
    daemon.signal(SIGTERM);
    ASSERT_TRUE(recorder.wait_for_line("STOPPING=1", 10s)) << recorder.all();
    EXPECT_EQ(recorder.count("WATCHDOG=1"), 0) << recorder.all();
    EXPECT_EQ(daemon.wait_for(10s), std::optional<int>(0));
}

TEST(socket_activation, control_api_works_through_the_inherited_socket) {
    temp_dir dir;
    auto const activated = dir.path() / "activated.sock";
    auto const unused = dir.path() / "unused.sock";
    int const listener = bound_socket(SOCK_STREAM, activated);
    ASSERT_EQ(::listen(listener, 16), 0);
    {
        auto argv = daemon_argv(dir, "dave", unused);
        auto options = manager_env({"LISTEN_FDS=1", "LISTEN_FDNAMES=control"});
        options.fd3 = listener;
        options.pid_vars = {"LISTEN_PID"};
        auto daemon = spawn_logged(argv, dir.path() / "dave.log", options);
        // Connections made before the daemon accepts wait in the backlog: status either
        // answers or the poll goes on.
        ASSERT_TRUE(wait_until(
            [&] {
                return run_ctl({"--socket", activated.string(), "status"}).status == 0;
            },
            10s));
        EXPECT_EQ(status_field(activated, "socket"), activated.string());
        EXPECT_EQ(status_field(activated, "name"), "dave");
        EXPECT_FALSE(fs::exists(unused)) << "--socket must be ignored when a socket is passed";
        auto const sent =
            run_ctl({"--socket", activated.string(), "send", "through systemd's socket"});
        EXPECT_EQ(sent.status, 75) << sent.out;  // accepted; the node is alone
        auto const peers = run_ctl({"--socket", activated.string(), "peers"});
        EXPECT_EQ(peers.status, 0) << peers.out;

        daemon.signal(SIGTERM);
        EXPECT_EQ(daemon.wait_for(10s), std::optional<int>(0));
    }
    // The socket belongs to the service manager: the daemon must not remove it.
    EXPECT_TRUE(fs::exists(activated));
    ::close(listener);
}

}  // namespace
}  // namespace p2pchat::test
