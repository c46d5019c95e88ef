#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/rpc/rpc.hpp"
#include "common/text.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"
#include "ctl/output.hpp"

namespace p2pchat::ctl {

namespace {

// Requests in flight at once when streaming stdin (seq 100000 | p2pchatctl send). The daemon
// answers a read's requests once they are committed (docs/STORAGE.md), so the window must
// cover a commit, a few milliseconds at 200 000 messages a second: 256 left a stream of short
// lines waiting on commits (bench B2, docs/BENCHMARKS.md). The bytes bound paces long lines
// as before (256 of 1 KiB): what a window brings lands in the daemon's event log at once, and
// a tail must be able to keep up with the smallest log (--event-log-size 1 MiB).
constexpr std::size_t send_window = 4096;
constexpr std::size_t send_window_bytes = 256 * 1024;
constexpr std::size_t stdin_chunk_bytes = 64 * 1024;

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t") == line.npos; }

constexpr std::string_view nobody_heard =
    "nobody received it: this node has no peers (it stays in the node's history; join a "
    "network with p2pchatctl join)";

// A send reply whose "peers" says the message went to nobody (an older daemon says nothing).
bool reached_nobody(boost::json::value const& result) {
    if (!result.is_object()) return false;
    auto const* peers = result.as_object().if_contains("peers");
    return peers && peers->is_number() && peers->to_number<double>() == 0;
}

// send --wait without a value, and the most it may say (the daemon's limit).
constexpr std::int64_t default_wait_ms = 10'000;
constexpr std::int64_t max_wait_ms = 600'000;
// How much longer than the wait the reply may take to come back.
constexpr int reply_slack_ms = 15'000;

// TIMEOUT of --wait: seconds (2, 2.5, 2s), milliseconds (500ms) or minutes (1m).
std::optional<std::int64_t> parse_wait(std::string_view text) {
    if (text.empty()) return default_wait_ms;
    double scale = 1000;
    if (text.ends_with("ms")) {
        scale = 1, text.remove_suffix(2);
    } else if (text.ends_with('s')) {
        text.remove_suffix(1);
    } else if (text.ends_with('m')) {
        scale = 60'000, text.remove_suffix(1);
    }
    if (text.empty() || text.find_first_not_of("0123456789.") != text.npos ||
        text.find('.') != text.rfind('.'))
        return std::nullopt;
    double const ms = std::stod(std::string(text)) * scale;
    if (ms > static_cast<double>(max_wait_ms)) return std::nullopt;
    return static_cast<std::int64_t>(ms);
}

// "10 s", "2.5 s", "500 ms".
std::string format_wait(std::int64_t ms) {
    if (ms < 1000 || ms % 100 != 0) return std::to_string(ms) + " ms";
    std::string out = std::to_string(ms / 1000);
    if (ms % 1000 != 0) out += "." + std::to_string(ms % 1000 / 100);
    return out + " s";
}

// "alice (1a2b3c4d), bob (5e6f7a8b, removed)": the members a waited send names as missing.
std::string missing_members(boost::json::value const& result) {
    std::string out;
    auto const* missing = result.as_object().if_contains("missing");
    if (!missing || !missing->is_array()) return out;
    for (auto const& v : missing->as_array()) {
        if (!v.is_object()) continue;
        auto const& m = v.as_object();
        if (!out.empty()) out += ", ";
        out += terminal_safe(string_field(m, "name"));
        out += " (" + terminal_safe(string_field(m, "id").substr(0, 8));
        if (auto const* r = m.if_contains("removed"); r && r->is_bool() && r->as_bool())
            out += ", removed";
        out += ')';
    }
    return out;
}

// A waited send's reply that says the message is not stored by every member: why, else
// nothing (delivered, or a daemon that does not wait).
std::optional<std::string> not_delivered(boost::json::value const& result, std::int64_t wait_ms) {
    if (!result.is_object()) return std::nullopt;
    auto const* delivered = result.as_object().if_contains("delivered");
    if (!delivered || !delivered->is_bool() || delivered->as_bool()) return std::nullopt;
    if (auto const error = string_field(result.as_object(), "error"); !error.empty())
        return "cannot tell whether every member stored it: " + terminal_safe(error);
    auto const* settled = result.as_object().if_contains("settled");
    bool const gave_up = settled && settled->is_bool() && settled->as_bool();
    std::string const who = missing_members(result);
    if (gave_up) return "not stored by every member (the node gave up): " + who;
    return "not stored by every member within " + format_wait(wait_ms) + ": " + who;
}

// Streams stdin, one message per line, over one connection. Owns the pipelining state:
// line numbers of requests in flight, so a refusal names the line it refused.
class line_sender {
  public:
    line_sender(rpc_client& client, std::optional<std::int64_t> wait_ms)
        : client_(client), wait_ms_(wait_ms) {}

    int run() {
        for (;;) {
            queue_lines();
            bool input_done = stdin_eof_ && pos_ == buf_.size();
            if (input_done && in_flight_.empty() && !client_.wants_write()) break;

            // stdin is polled only while the window has room: that is the back-pressure that
            // keeps memory bounded however fast the input comes.
            bool want_input = !stdin_eof_ && window_open();
            pollfd fds[2] = {{want_input ? STDIN_FILENO : -1, POLLIN, 0},
                             {client_.fd(), client_.poll_events(), 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return report(connection_lost());
            }
            if (fds[0].revents != 0) read_stdin();
            if (fds[1].revents & POLLOUT)
                if (auto w = client_.on_writable(); !w) return report(w.error());
            if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
                if (auto r = client_.on_readable(); !r) return report(r.error());
            if (auto f = take_replies(); f) return report(*f);
        }
        if (unheard_ > 1) report(failure{0, std::to_string(unheard_) + " messages reached nobody"});
        if (unheard_ > 0 && status_ == 0) return rpc::exit_status::nobody;
        if (undelivered_ > 1)
            report(
                failure{0, std::to_string(undelivered_) + " messages not stored by every member"});
        if (undelivered_ > 0 && status_ == 0) return rpc::exit_status::not_delivered;
        return status_;
    }

  private:
    void note(int status, std::string const& what) {
        report(failure{status, what});
        if (status_ == 0) status_ = status;
    }

    void read_stdin() {
        buf_.erase(0, pos_);  // once per read: lines are consumed by offset in between
        pos_ = 0;
        std::size_t old = buf_.size();
        buf_.resize(old + stdin_chunk_bytes);
        ssize_t n = ::read(STDIN_FILENO, buf_.data() + old, stdin_chunk_bytes);
        buf_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) stdin_eof_ = true;
    }

    bool window_open() const {
        return in_flight_.size() < send_window && in_flight_bytes_ < send_window_bytes;
    }

    // Turns complete lines into requests while the window has room.
    void queue_lines() {
        while (window_open() && pos_ < buf_.size()) {
            std::size_t nl = buf_.find('\n', pos_);
            if (nl == buf_.npos) {
                // A line longer than any message could be: refuse it without buffering it.
                if (buf_.size() - pos_ > max_text_bytes + 1) {
                    if (!discarding_)
                        note(rpc::exit_status::refused,
                             "line " + std::to_string(line_no_ + 1) +
                                 ": text too long (over 64 KiB), skipped");
                    discarding_ = true;
                    pos_ = buf_.size();
                    return;
                }
                if (!stdin_eof_) return;  // wait for the rest of the line
                nl = buf_.size();         // last line without '\n'
            }
            std::string_view line(buf_.data() + pos_, nl - pos_);
            pos_ = std::min(nl + 1, buf_.size());
            if (discarding_) {
                discarding_ = false;
                ++line_no_;
                continue;
            }
            ++line_no_;
            if (line.ends_with('\r')) line.remove_suffix(1);
            if (is_blank(line)) continue;
            if (!is_valid_utf8(line)) {
                note(rpc::exit_status::data_error,
                     "line " + std::to_string(line_no_) + ": not valid UTF-8, skipped");
                continue;
            }
            boost::json::object params{{"text", line}};
            if (wait_ms_) params["wait_ms"] = *wait_ms_;
            std::int64_t id = client_.request("send", std::move(params));
            in_flight_.emplace(id, sent_line{line_no_, line.size()});
            in_flight_bytes_ += line.size();
        }
    }

    // Consumes the replies received so far; a failure here ends the command.
    std::optional<failure> take_replies() {
        for (;;) {
            auto m = client_.next_message();
            if (!m) {
                // The daemon went away: lines in flight may or may not have been sent.
                if (in_flight_.empty() && stdin_eof_ && pos_ == buf_.size()) return std::nullopt;
                return m.error();
            }
            if (!*m) return std::nullopt;
            auto* r = std::get_if<reply>(&**m);
            if (!r) continue;  // we did not subscribe; ignore stray notifications
            auto it = in_flight_.find(r->id);
            if (it == in_flight_.end()) continue;
            if (r->error) {
                note(r->error->status,
                     "line " + std::to_string(it->second.number) + ": " + r->error->message);
            } else if (reached_nobody(r->result)) {
                // Said once, counted after: a pipe into a lonely node must not flood stderr.
                if (unheard_++ == 0)
                    report(failure{0, "line " + std::to_string(it->second.number) + ": " +
                                          std::string(nobody_heard)});
            } else if (auto why = wait_ms_ ? not_delivered(r->result, *wait_ms_) : std::nullopt) {
                if (undelivered_++ == 0)
                    report(failure{0, "line " + std::to_string(it->second.number) + ": " + *why});
            }
            in_flight_bytes_ -= it->second.bytes;
            in_flight_.erase(it);
        }
    }

    rpc_client& client_;
    std::string buf_;
    std::size_t pos_ = 0;  // start of the first line of buf_ not yet sent
    std::size_t line_no_ = 0;
    bool stdin_eof_ = false;
    bool discarding_ = false;  // inside an overlong line: drop bytes up to its '\n'
    struct sent_line {
        std::size_t number = 0, bytes = 0;
    };
    std::unordered_map<std::int64_t, sent_line> in_flight_;  // by request id
    std::size_t in_flight_bytes_ = 0;
    std::optional<std::int64_t> wait_ms_;  // --wait: each reply says the message's delivery
    std::size_t unheard_ = 0;              // messages sent while the node had no peers
    std::size_t undelivered_ = 0;          // --wait: messages not stored by every member in time
    int status_ = 0;  // the first problem's exit status; later lines are still sent
};

}  // namespace

int run_send(context& ctx, args_t args) {
    static constexpr option_spec specs[] = {{"wait", 'w', false, true}};
    auto a = parse_args(args, specs, "send");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "send")) return 0;
    std::optional<std::int64_t> wait_ms;
    if (a->has("wait")) {
        wait_ms = parse_wait(a->options.at("wait"));
        if (!wait_ms)
            return report(usage_error("send",
                                      "--wait=TIMEOUT: seconds (10, 2.5s), 500ms or 1m, "
                                      "at most 10 minutes"));
    }

    auto const& words = a->positionals;
    bool from_stdin = words.empty() || (words.size() == 1 && words.front() == "-");
    std::string text;
    if (!from_stdin) {
        for (auto w : words) {
            if (!text.empty()) text += ' ';
            text += w;
        }
        if (!is_valid_utf8(text))
            return report(failure{rpc::exit_status::data_error, "TEXT is not valid UTF-8"});
        // The daemon's rule, checked here so a bad argument is a usage error (64).
        if (auto problem = message_problem(text)) return report(usage_error("send", *problem));
    } else if (::isatty(STDIN_FILENO) == 1) {
        // Like `cat` with no file, but a person at a terminal may not expect it: say so.
        (void)write_all(STDERR_FILENO,
                        "p2pchatctl: sending each line you type; Ctrl-D ends (to send one "
                        "message: p2pchatctl send TEXT)\n");
    }

    auto client = connect(ctx);
    if (!client) return report(client.error());
    if (from_stdin) return line_sender(*client, wait_ms).run();
    boost::json::object params{{"text", text}};
    if (wait_ms) params["wait_ms"] = *wait_ms;
    auto r = client->call(
        "send", std::move(params),
        wait_ms ? static_cast<int>(*wait_ms) + reply_slack_ms : rpc_client::default_timeout_ms);
    if (!r) return report(r.error());
    if (reached_nobody(*r))
        return report(failure{rpc::exit_status::nobody, std::string(nobody_heard)});
    if (auto why = wait_ms ? not_delivered(*r, *wait_ms) : std::nullopt)
        return report(failure{rpc::exit_status::not_delivered, *why});
    return 0;
}

}  // namespace p2pchat::ctl
