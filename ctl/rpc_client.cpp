#include "ctl/rpc_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "common/paths.hpp"
#include "common/rpc/rpc.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {

// Replies can be large (history with 10000 events of up to 64 KiB text), but not unbounded:
// a runaway daemon must not make us eat all memory.
constexpr std::size_t max_reply_line_bytes = 1024 * 1024 * 1024;
constexpr std::size_t read_chunk_bytes = 64 * 1024;

failure protocol_error(std::string what) {
    return failure{rpc::exit_status::software, "protocol error with p2pchatd: " + what};
}

}  // namespace

failure connection_lost() {
    return failure{rpc::exit_status::io_error, "connection to p2pchatd lost"};
}

bool is_connection_lost(failure const& f) {
    return f.status == rpc::exit_status::io_error && f.message == connection_lost().message;
}

failure unexpected_reply(std::string_view method) {
    return protocol_error("unexpected reply to " + std::string(method));
}

result<rpc_client> rpc_client::connect(std::string const& path, int not_running_status) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof addr.sun_path)
        return failure{rpc::exit_status::usage, "bad socket path: " + path};
    std::memcpy(addr.sun_path, path.data(), path.size());
    // Never talk through a socket someone else could have put in our place.
    if (auto const problem = private_socket_dir_problem(path, false); !problem.empty())
        return failure{rpc::exit_status::no_permission, problem};

    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return failure{rpc::exit_status::unavailable, std::strerror(errno)};
    int rc;
    do {
        rc = ::connect(fd, reinterpret_cast<sockaddr const*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        int err = errno;
        ::close(fd);
        switch (err) {
            case ENOENT:
            case ECONNREFUSED:
                return failure{not_running_status,
                               "p2pchatd is not running (no daemon answers on " + path + ")"};
            case EACCES:
            case EPERM:
                return failure{
                    rpc::exit_status::no_permission,
                    "permission denied on " + path + " (is your user in group p2pchat?)"};
            default:
                return failure{rpc::exit_status::unavailable,
                               "cannot connect to " + path + ": " + std::strerror(err)};
        }
    }
    // Non-blocking from here on: every wait is an explicit poll(2) with a timeout.
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    return rpc_client(fd);
}

rpc_client::rpc_client(rpc_client&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      next_id_(other.next_id_),
      out_(std::move(other.out_)),
      out_offset_(other.out_offset_),
      in_(std::move(other.in_)),
      in_pos_(other.in_pos_),
      in_scanned_(other.in_scanned_),
      held_(std::move(other.held_)),
      eof_(other.eof_) {}

rpc_client::~rpc_client() {
    if (fd_ >= 0) ::close(fd_);
}

std::int64_t rpc_client::request(std::string_view method, json::object params) {
    std::int64_t id = next_id_++;
    json::object req;
    req["jsonrpc"] = "2.0";
    req["id"] = id;
    req["method"] = method;
    if (!params.empty()) req["params"] = std::move(params);
    out_ += json::serialize(req);
    out_ += '\n';
    return id;
}

short rpc_client::poll_events() const {
    return eof_ ? 0 : (POLLIN | (wants_write() ? POLLOUT : 0));
}

result<void> rpc_client::on_writable() {
    while (out_offset_ < out_.size()) {
        ssize_t n = ::send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
        if (n >= 0) {
            out_offset_ += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
        return connection_lost();
    }
    out_.clear();
    out_offset_ = 0;
    return {};
}

result<void> rpc_client::on_readable() {
    // Drop consumed lines once per read, not once per line: thousands of small replies
    // arrive per read when send pipelines.
    in_.erase(0, in_pos_);
    in_scanned_ -= in_pos_;
    in_pos_ = 0;
    // At most 1 MiB per call, so a flood cannot starve the caller's other descriptors and
    // parse_next_line() gets to enforce the line cap.
    for (int chunks = 0; chunks < 16; ++chunks) {
        std::size_t old = in_.size();
        in_.resize(old + read_chunk_bytes);
        ssize_t n = ::recv(fd_, in_.data() + old, read_chunk_bytes, 0);
        in_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
        if (n > 0) continue;
        if (n == 0) {
            eof_ = true;
            return {};
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
        eof_ = true;  // ECONNRESET and friends: whatever was read still counts
        return {};
    }
    return {};
}

result<void> rpc_client::flush() {
    while (wants_write()) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, -1) < 0 && errno != EINTR) return connection_lost();
        if (auto r = on_writable(); !r) {
            // The daemon may have said why before it hung up (refused, too many clients).
            (void)on_readable();
            if (auto said = parse_next_line(); !said) return said.error();
            return r.error();
        }
    }
    return {};
}

result<std::optional<message>> rpc_client::parse_next_line() {
    std::size_t nl = in_.find('\n', std::max(in_scanned_, in_pos_));
    if (nl == in_.npos) {
        if (in_.size() - in_pos_ > max_reply_line_bytes)
            return protocol_error("reply line too long");
        in_scanned_ = in_.size();
        return std::optional<message>{};
    }
    std::string_view line(in_.data() + in_pos_, nl - in_pos_);
    in_pos_ = nl + 1;
    in_scanned_ = in_pos_;

    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) return protocol_error("reply is not a JSON object");
    json::object& o = v.as_object();

    if (json::value const* method = o.if_contains("method"); method && method->is_string()) {
        notification n{std::string(method->as_string()), nullptr};
        if (auto* params = o.if_contains("params")) n.params = std::move(*params);
        return std::optional<message>{std::move(n)};
    }

    json::value const* id = o.if_contains("id");
    json::value* error = o.if_contains("error");
    std::string daemon_message;
    int code = 0;
    if (error && error->is_object()) {
        json::object const& e = error->as_object();
        if (auto const* c = e.if_contains("code"); c && c->is_int64())
            code = static_cast<int>(c->as_int64());
        if (auto const* m = e.if_contains("message"); m && m->is_string())
            daemon_message = m->as_string();
        if (daemon_message.empty()) daemon_message = "error " + std::to_string(code);
    }
    if (!id || !id->is_int64()) {
        // An error with a null id: the daemon could not read our request at all, or it is
        // closing the connection on us (too many clients).
        if (error) return failure{rpc::exit_status_for(code), "p2pchatd: " + daemon_message};
        return protocol_error("reply without a usable id");
    }

    reply r;
    r.id = id->as_int64();
    if (error) {
        r.error = failure{rpc::exit_status_for(code), std::move(daemon_message)};
        r.error_code = code;
    } else if (auto* res = o.if_contains("result")) {
        r.result = std::move(*res);
    } else {
        return protocol_error("reply with neither result nor error");
    }
    return std::optional<message>{std::move(r)};
}

result<std::optional<message>> rpc_client::next_message() {
    if (!held_.empty()) {
        message m = std::move(held_.front());
        held_.pop_front();
        return std::optional<message>{std::move(m)};
    }
    auto m = parse_next_line();
    if (m && !*m && eof_) return connection_lost();
    return m;
}

std::optional<std::string_view> rpc_client::next_event_text() {
    static constexpr std::string_view prefix = R"({"jsonrpc":"2.0","method":"event","params":{)";
    if (!held_.empty()) return std::nullopt;
    std::size_t const nl = in_.find('\n', std::max(in_scanned_, in_pos_));
    if (nl == in_.npos) return std::nullopt;
    std::string_view line(in_.data() + in_pos_, nl - in_pos_);
    if (!line.starts_with(prefix) || !line.ends_with("}}")) return std::nullopt;
    in_pos_ = nl + 1;
    in_scanned_ = in_pos_;
    line.remove_prefix(prefix.size() - 1);
    line.remove_suffix(1);
    return line;
}

result<json::value> rpc_client::call(std::string_view method, json::object params, int timeout_ms) {
    std::int64_t id = request(method, std::move(params));
    if (auto w = flush(); !w) return w.error();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        auto m = parse_next_line();
        if (!m) return m.error();
        if (*m) {
            if (auto* r = std::get_if<reply>(&**m); r && r->id == id) {
                if (r->error) return *r->error;
                return std::move(r->result);
            }
            held_.push_back(std::move(**m));
            continue;
        }
        if (eof_) return connection_lost();
        int wait = -1;
        if (timeout_ms >= 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return failure{rpc::exit_status::unavailable,
                               "p2pchatd did not answer " + std::string(method) + " in time"};
            wait = static_cast<int>(left.count());
        }
        pollfd p{fd_, POLLIN, 0};
        int rc = ::poll(&p, 1, wait);
        if (rc < 0 && errno != EINTR) return connection_lost();
        if (rc > 0)
            if (auto r = on_readable(); !r) return r.error();
    }
}

}  // namespace p2pchat::ctl
