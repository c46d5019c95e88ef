#pragma once
// Real p2pchatd processes on loopback addresses, driven through real p2pchatctl processes,
// as a user would (the daemon launcher of every test that starts daemons). Everything here
// is single-threaded and owned by the test that creates it: every daemon is killed (SIGKILL)
// and every temporary file removed when its owner goes out of scope, also when an assertion
// fails half-way.
//
// No fixed sleeps anywhere: callers wait for a condition with wait_until() and a deadline.
#include <signal.h>
#include <sys/types.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/process.hpp"

namespace p2pchat::test {

// Parses one JSON object; nullopt when the text is not exactly one object.
std::optional<boost::json::object> parse_object(std::string_view text);

// Finds `"key": "<string>"` in an object; empty when absent or not a string.
std::string str(boost::json::object const& o, std::string_view key);
// Finds an integer field; -1 when absent or not an integer.
std::int64_t num(boost::json::object const& o, std::string_view key);

// `p2pchatctl tail --json` (plus extra args) running against one daemon: collects every line
// it prints, parsed as an event object. Lines that are not JSON objects are kept in
// bad_lines() so a test can complain about them.
//
// Its stdout is an (unlinked) regular file, not a pipe: like a terminal that always keeps up,
// it never blocks the writer, so the daemon never sees tail fall behind because the test was
// busy elsewhere (a pipe would fill after 64 KiB while the test waits on another command).
class tail_reader {
  public:
    tail_reader(std::string const& socket_path, std::vector<std::string> extra_args = {});
    ~tail_reader();
    tail_reader(tail_reader&& other) noexcept;
    tail_reader(tail_reader const&) = delete;
    tail_reader& operator=(tail_reader const&) = delete;

    // Reads whatever tail has written so far.
    void pump();
    // Pumps until pred(events()) holds or the timeout passes.
    bool wait_for(std::function<bool(std::vector<boost::json::object> const&)> const& pred,
                  milliseconds timeout);

    std::vector<boost::json::object> const& events() const { return events_; }
    std::vector<std::string> const& bad_lines() const { return bad_lines_; }
    // The `message` events only.
    std::vector<boost::json::object> messages() const;
    // The events of one type.
    std::vector<boost::json::object> of_type(std::string_view type) const;
    child_process& process() { return proc_; }
    std::string stderr_text();

  private:
    static int open_output(int& read_fd);

    int read_fd_ = -1;  // our own open file description of tail's stdout file
    child_process proc_;
    off_t offset_ = 0;
    std::string partial_;
    std::string err_;
    std::vector<boost::json::object> events_;
    std::vector<std::string> bad_lines_;
};

// One p2pchatd on a loopback address with its own state dir, config file and control socket,
// all in a temporary directory. The constructor waits until `p2pchatctl status --json`
// answers and learns the listen address and node id from it. The destructor kills the daemon.
class node {
  public:
    struct options {
        std::string host = "127.0.0.1";
        std::string name;                // --name (default: "n-" + host)
        bool default_name = false;       // no --name: the daemon's own default (login name)
        std::vector<std::string> join;   // --join, repeatable
        int max_peers = 0;               // --max-peers when > 0
        int gossip_interval_ms = 200;    // --gossip-interval
        std::string socket_path;         // --socket (default: <tmp>/ctl.sock)
        std::string listen;              // --listen (default: host:0)
        std::string state_dir;           // --state-dir (default: <tmp>/state); share it to restart
        std::vector<std::string> extra;  // further daemon arguments
        std::vector<std::string>
            prefix;              // runs the daemon through this: {"ip", "netns", "exec", ns}
        bool wait_ready = true;  // wait for `status` to answer

        // Fluent setters: node a(on("127.0.0.2").named("bob").joining(b.listen()));
        options& named(std::string n) { return name = std::move(n), *this; }
        options& unnamed() { return default_name = true, *this; }
        options& joining(std::string address) { return join.push_back(std::move(address)), *this; }
        options& max(int n) { return max_peers = n, *this; }
        options& socket(std::string path) { return socket_path = std::move(path), *this; }
        options& listening(std::string address) { return listen = std::move(address), *this; }
        options& state(std::string dir) { return state_dir = std::move(dir), *this; }
        options& with(std::vector<std::string> args) {
            return extra.insert(extra.end(), args.begin(), args.end()), *this;
        }
        options& no_wait() { return wait_ready = false, *this; }
        options& through(std::vector<std::string> command) {
            return prefix = std::move(command), *this;
        }
    };

    explicit node(options o);
    ~node();
    node(node const&) = delete;
    node& operator=(node const&) = delete;

    // p2pchatctl --socket <ours> args... (stdin = input); bounded by ctl_timeout.
    process_result ctl(std::vector<std::string> args, std::string_view input = {},
                       milliseconds timeout = ctl_timeout) const;
    // `status --json` / `peers --json`, parsed; a failure of the command throws
    // std::runtime_error with the command's stderr.
    boost::json::object status() const;
    boost::json::array peers() const;
    // Ids of the entries of `peers --json` (self included).
    std::vector<std::string> peer_ids() const;
    // Starts `p2pchatctl tail --json` and waits until the daemon counts it as a subscriber.
    tail_reader tail(std::vector<std::string> extra_args = {}) const;

    // SIGTERM, then waits; returns the exit status (nullopt if it did not exit in time).
    std::optional<int> terminate(milliseconds timeout = 10s);
    // SIGKILL: the daemon dies without a word to its peers, as in a crash.
    void crash() { daemon_.kill_and_reap(); }
    // SIGSTOP / SIGCONT: the process stops running, its kernel keeps its connections (a
    // laptop lid, swap, a debugger).
    void suspend() const { ::kill(daemon_.pid(), SIGSTOP); }
    void resume() const { ::kill(daemon_.pid(), SIGCONT); }
    bool running() { return daemon_.running(); }
    std::optional<int> wait_exit(milliseconds timeout) { return daemon_.wait_for(timeout); }

    std::string const& id() const { return id_; }
    std::string const& name() const { return name_; }
    std::string const& listen() const { return listen_; }  // host:port
    std::string const& socket_path() const { return socket_; }
    std::string const& host() const { return host_; }
    std::uint16_t port() const;
    // The daemon's stderr so far (its log), for failure messages.
    std::string log() const;

  private:
    temp_dir dir_;
    std::string host_, name_, socket_, id_, listen_;
    std::filesystem::path log_path_;
    child_process daemon_;
};

// Options for a node on this loopback host.
inline node::options on(std::string host) {
    node::options o;
    o.host = std::move(host);
    return o;
}

// A node's socket and state directory, kept across its daemons (restart tests).
struct node_home {
    temp_dir dir;
    std::string socket = (dir.path() / "ctl.sock").string();
    std::string state = (dir.path() / "state").string();
};

// Options for a node on this loopback host that lives in `h`.
inline node::options at(node_home const& h, std::string host) {
    return on(std::move(host)).socket(h.socket).state(h.state);
}

// Whether `n` lists `id` as an alive peer.
bool knows_alive(node const& n, std::string const& id);

// `p2pchatctl send TEXT`, which exits 75 when the node had no peer to send to: stored all
// the same, so that counts as sent.
bool send_kept(node const& n, std::string const& text);

// argv for p2pchatctl with --socket.
std::vector<std::string> ctl_argv(std::string const& socket_path, std::vector<std::string> args);

// Counts how many of `events` are `message` events with this text.
std::size_t count_messages(std::vector<boost::json::object> const& events, std::string_view text);

// Text describing the daemons' logs, for assertion messages.
std::string logs_of(std::vector<node const*> const& nodes);

// `n` daemons on 127.0.0.1 .. 127.0.0.n named n1 .. nN, each joining through the first.
struct node_group {
    std::vector<std::unique_ptr<node>> nodes;

    explicit node_group(int n);
    // Every node's `peers` lists every node.
    bool everyone_holds_everyone() const;
    std::vector<node const*> all() const;
};

}  // namespace p2pchat::test
