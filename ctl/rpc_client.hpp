#pragma once
// A JSON-RPC 2.0 client for the daemon's control socket (docs/CONTROL.md): one Unix stream
// socket, NDJSON lines, integer ids. Single-threaded and poll(2)-driven so a one-shot command
// starts fast; callers that multiplex other descriptors (send, chat) drive it with
// pollfd()/on_readable()/on_writable(), simple commands use the blocking call().
//
// Ownership: owns the socket; move-only. Invariant: out_ holds whole request lines not yet
// written; in_ from in_pos_ holds received lines not yet parsed.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ctl/failure.hpp"

struct pollfd;

namespace p2pchat::ctl {

// A reply to one of our requests: either result or error is set.
struct reply {
    std::int64_t id = 0;
    boost::json::value result;
    std::optional<failure> error;  // daemon error, already mapped to its exit status
    int error_code = 0;            // the daemon's JSON-RPC error code when error is set
};

// A notification from the daemon (after subscribe: "event", "error").
struct notification {
    std::string method;
    boost::json::value params;
};

using message = std::variant<reply, notification>;

class rpc_client {
  public:
    // Connects to the socket at path. Failures carry exit statuses 69 (no daemon) or 77
    // (permission denied); when not_running_status is set it replaces 69 (status exits 3).
    static result<rpc_client> connect(std::string const& path, int not_running_status);

    rpc_client(rpc_client&& other) noexcept;
    rpc_client& operator=(rpc_client&&) = delete;
    rpc_client(rpc_client const&) = delete;
    ~rpc_client();

    // Queues a request line and returns its id; nothing is written until on_writable() or
    // call()/flush() runs.
    std::int64_t request(std::string_view method, boost::json::object params = {});

    // Blocking round trip: queues, writes, and waits up to timeout_ms (-1: forever) for the
    // reply. Notifications that arrive meanwhile are kept for next_message().
    result<boost::json::value> call(std::string_view method, boost::json::object params = {},
                                    int timeout_ms = default_timeout_ms);

    // The next already-received message, if any.
    result<std::optional<message>> next_message();

    // Fast path for followers: when the next received line is an "event" notification in
    // the daemon's own serialization ({"jsonrpc":"2.0","method":"event","params":{...}}),
    // consumes it and returns the params object's text, valid until the next read. Anything
    // else (or held messages) is left for next_message().
    std::optional<std::string_view> next_event_text();

    // For callers running their own poll loop.
    int fd() const { return fd_; }
    bool wants_write() const { return !out_.empty(); }
    short poll_events() const;
    result<void> on_writable();  // writes what the socket takes without blocking
    result<void> on_readable();  // reads what is there; replies then come from next_message()
    result<void> flush();        // blocks until every queued request is written

    static constexpr int default_timeout_ms = 60'000;  // join alone may take 10 s

  private:
    explicit rpc_client(int fd) : fd_(fd) {}
    result<std::optional<message>> parse_next_line();

    int fd_ = -1;
    std::int64_t next_id_ = 1;
    std::string out_;
    std::size_t out_offset_ = 0;  // bytes of out_ already written
    std::string in_;
    std::size_t in_pos_ = 0;      // start of the first unconsumed line in in_
    std::size_t in_scanned_ = 0;  // bytes of in_ already searched for '\n'
    std::deque<message> held_;    // messages received while call() waited for its reply
    bool eof_ = false;
};

// The failure for "the daemon closed the connection" (exit 74), and whether f is one.
failure connection_lost();
bool is_connection_lost(failure const& f);

// The failure for a reply whose shape we do not understand (exit 70).
failure unexpected_reply(std::string_view method);

}  // namespace p2pchat::ctl
