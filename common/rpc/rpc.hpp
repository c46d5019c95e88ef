#pragma once
// JSON-RPC 2.0 over NDJSON (docs/CONTROL.md): parsing a request line into calls, building
// replies and notifications, and the one table that maps error codes to CLI exit codes.
// Pure: no sockets.
#include <boost/assert/source_location.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace p2pchat::rpc {

inline constexpr std::size_t max_line_bytes = 1024 * 1024;
// One batch may hold this many calls; a larger one is refused whole (-32600).
inline constexpr std::size_t max_batch_calls = 100;

enum class code : int {
    parse_error = -32700,
    invalid_request = -32600,
    method_not_found = -32601,
    invalid_params = -32602,
    internal_error = -32603,
    too_many_clients = -32000,
    not_allowed = -32001,  // the control socket's peer is not root, the daemon's user or group
    text_too_long = 1001,
    peer_unreachable = 1002,
    join_refused = 1003,
    timed_out = 1004,
    subscriber_too_slow = 1005,
};

struct error {
    code error_code = code::internal_error;
    std::string message;
    boost::json::value data = nullptr;
};

// The result of an operation a user asked for: a value, or an error meant for that user
// (mapped to JSON-RPC and D-Bus errors by the front ends, to exit statuses by p2pchatctl).
template <class T>
using result = boost::system::result<T, error>;

// value() on a failed result is a programmer error.
[[noreturn]] void throw_exception_from_error(error const& e, boost::source_location const& loc);

// A well-formed call. id is absent for a notification (which gets no reply).
struct call {
    std::optional<boost::json::value> id;
    std::string method;
    boost::json::object params;
};

// A request that failed validation: reply with this error under this id (null if unknown),
// unless it is a notification, which JSON-RPC never answers (not even with an error).
struct bad_call {
    boost::json::value id = nullptr;
    error err;
    bool notification = false;
};

using entry = std::variant<call, bad_call>;

struct parsed_line {
    std::vector<entry> entries;
    bool batch = false;  // replies must go back as one array
};

parsed_line parse_line(std::string_view line);

boost::json::object make_result(boost::json::value const& id, boost::json::value result);
boost::json::object make_error(boost::json::value const& id, error const& e);
boost::json::object make_notification(std::string_view method, boost::json::value params);

// Exit status of p2pchatctl for a daemon error (sysexits-style, see p2pchatctl(1)).
int exit_status_for(int rpc_code);

// CLI exit statuses (DESIGN.md section 6).
namespace exit_status {
inline constexpr int ok = 0;
inline constexpr int refused = 1;         // the daemon refused the request
inline constexpr int not_running = 3;     // status: no daemon answers
inline constexpr int not_delivered = 4;   // send --wait: not stored by every member in time
inline constexpr int usage = 64;          // EX_USAGE
inline constexpr int data_error = 65;     // EX_DATAERR: bad input (invalid UTF-8 on stdin)
inline constexpr int unavailable = 69;    // EX_UNAVAILABLE: daemon unreachable
inline constexpr int software = 70;       // EX_SOFTWARE: protocol mismatch with the daemon
inline constexpr int io_error = 74;       // EX_IOERR: connection lost mid-way
inline constexpr int nobody = 75;         // EX_TEMPFAIL: sent, but the node had no peers
inline constexpr int no_permission = 77;  // EX_NOPERM: socket permission denied
}  // namespace exit_status

}  // namespace p2pchat::rpc
