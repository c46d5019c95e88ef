#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <deque>
#include <optional>

#include "common/rpc/rpc.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"
#include "ctl/output.hpp"
#include "ctl/resume.hpp"
#include "ctl/stored_history.hpp"
#include "ctl/time_spec.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {

constexpr std::int64_t history_page = 10000;  // the daemon's maximum history limit

std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<std::int64_t> parse_count(std::string_view s) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size() || n < 0) return std::nullopt;
    return n;
}

struct tail_options {
    std::optional<std::int64_t> lines = 10;  // nullopt: all
    std::optional<std::int64_t> since_seq;
    std::optional<std::int64_t> since_ms;  // --since TIME: filter by the event's time
    std::optional<std::int64_t> until_seq;
    std::optional<std::int64_t> until_ms;
    std::optional<std::size_t> keep_last;  // print only the last N wanted events (-n with --until)
    bool follow = true;
    bool json = false;
};

// Prints events; remembers who is who (for names two nodes share) and how to print. A
// failure with status 0 means stdout was closed: the command ends quietly.
class event_printer {
  public:
    explicit event_printer(tail_options const& o) : opts_(o), style_{colour_wanted()} {}

    name_book& names() { return names_; }

    // Whether the event is inside --since/--until. Times are the event's own (a message's
    // send time, see event_unix_ms), so history a newcomer was handed sorts where it was said.
    bool wanted(json::object const& ev) const {
        std::int64_t const t = event_unix_ms(ev);
        if (opts_.since_ms && t < *opts_.since_ms) return false;
        if (opts_.until_ms && t > *opts_.until_ms) return false;
        if (opts_.until_seq && int_field(ev, "seq") > *opts_.until_seq) return false;
        return true;
    }
    // An event past --until SEQ: nothing later can be wanted.
    bool past_end(json::object const& ev) const {
        return opts_.until_seq && int_field(ev, "seq") > *opts_.until_seq;
    }

    result<void> print_event(json::value const& v) {
        if (!v.is_object()) return {};
        json::object const& ev = v.as_object();
        names_.learn_event(ev);
        if (!wanted(ev)) return {};
        std::string line;
        if (opts_.json) {
            line = json::serialize(ev);
        } else if (auto human = human_event(ev, style_, &names_)) {
            line = std::move(*human);
        } else {
            return {};
        }
        line += '\n';
        if (!opts_.keep_last) return print(line);
        held_.push_back(std::move(line));
        if (held_.size() > *opts_.keep_last) held_.pop_front();
        return {};
    }

    // Prints what keep_last held back.
    result<void> flush() {
        std::string out;
        for (auto& line : held_) out += line;
        held_.clear();
        return print(out);
    }

  private:
    tail_options const& opts_;
    style style_;
    name_book names_;
    std::deque<std::string> held_;
};

// Seeds the names with the peer table, so the first line of a shared name is already
// qualified. Best effort: an old daemon without `peers` still tails.
void learn_peers(rpc_client& client, event_printer& printer) {
    auto r = client.call("peers");
    if (!r || !r->is_object()) return;
    if (auto const* peers = r->as_object().if_contains("peers"); peers && peers->is_array())
        printer.names().learn_peers(peers->as_array());
}

// Whether the backlog is the last N messages of the stored history (in history order) rather
// than a range of the event stream (--since/--until: arrival order, peer events too).
bool backlog_from_store(tail_options const& o) { return !o.since_seq && !o.until_seq; }

// Prints the stored backlog (-n N, -n all) and tells `resume` where following goes on; a
// failure (its status 0 when the output was closed) ends the command.
result<void> print_stored(rpc_client& client, event_printer& printer, resume_point& resume,
                          tail_options const& o) {
    history_query q;
    q.count =
        o.lines ? std::optional<std::size_t>(static_cast<std::size_t>(*o.lines)) : std::nullopt;
    auto h = fetch_history(client, q);
    if (!h) return h.error();
    for (auto const& m : h->messages)
        if (auto p = printer.print_event(m); !p) return p.error();
    resume.follow_after(h->event_seq, h->messages);
    return {};
}

int print_history(rpc_client& client, tail_options const& o) {
    event_printer printer(o);
    if (!o.json) learn_peers(client, printer);
    if (backlog_from_store(o)) {
        resume_point unused;
        if (o.lines == 0) return 0;
        auto p = print_stored(client, printer, unused, o);
        return p ? 0 : report(p.error());
    }
    json::object params;
    bool paged = o.since_seq || !o.lines;
    if (o.since_seq)
        params["since"] = *o.since_seq;
    else if (!o.lines)
        params["since"] = 0;
    if (!paged && *o.lines == 0) return 0;
    params["limit"] = paged ? history_page : std::min(*o.lines, history_page);
    for (;;) {
        auto r = client.call("history", params);
        if (!r) return report(r.error());
        auto const* events = r->is_object() ? r->as_object().if_contains("events") : nullptr;
        if (!events || !events->is_array()) return report(unexpected_reply("history"));
        bool done = false;
        for (auto const& ev : events->as_array()) {
            if (ev.is_object() && printer.past_end(ev.as_object())) {
                done = true;
                break;
            }
            if (auto p = printer.print_event(ev); !p) return report(p.error());
        }
        auto const& arr = events->as_array();
        if (done || !paged || static_cast<std::int64_t>(arr.size()) < history_page || arr.empty())
            break;
        params["since"] = arr.back().is_object() ? int_field(arr.back().as_object(), "seq") : 0;
    }
    if (auto p = printer.flush(); !p) return report(p.error());
    return 0;
}

// Says one line on stderr (tail's stdout is for events).
void note(std::string const& what) { (void)write_all(STDERR_FILENO, "p2pchatctl: " + what + "\n"); }

constexpr int connection_gone = -1;  // stream() result: reconnect

// Prints the events of one subscription until the connection is lost (connection_gone), the
// output closes (0), --until is reached (0) or a failure (its status).
int stream(rpc_client& client, event_printer& printer, resume_point& resume,
           tail_options const& o) {
    auto const lost_or = [](failure const& f) {
        return is_connection_lost(f) ? connection_gone : report(f);
    };
    // With --json and no time filter an event is printed as the daemon serialized it
    // (byte for byte what parsing and re-serializing gives), and everything already
    // received goes out in one write before waiting again: a stream of 100 000 lines per
    // second is then cheap to follow (bench B2). Nothing is held back while we wait.
    bool const verbatim = o.json && !o.since_ms && !o.until_ms && !o.until_seq;
    std::string batch;
    for (;;) {
        for (;;) {
            if (verbatim) {
                if (auto text = client.next_event_text()) {
                    bool const fresh = resume.wanted_line(*text);
                    resume.saw_line(*text);
                    if (fresh) {
                        batch.append(*text);
                        batch += '\n';
                    }
                    continue;
                }
                if (!batch.empty()) {
                    if (auto p = print(batch); !p) return report(p.error());
                    batch.clear();
                }
            }
            auto m = client.next_message();
            if (!m) return lost_or(m.error());
            if (!*m) break;
            auto* n = std::get_if<notification>(&**m);
            if (!n) continue;
            if (n->method == "event") {
                if (!n->params.is_object()) continue;
                json::object const& ev = n->params.as_object();
                if (printer.past_end(ev)) return 0;
                bool const fresh = resume.wanted(ev);
                resume.saw(ev);
                if (!fresh) continue;
                if (auto p = printer.print_event(ev); !p) return report(p.error());
            } else if (n->method == "error") {
                json::object const empty;
                auto const& e = n->params.is_object() ? n->params.as_object() : empty;
                int code = static_cast<int>(int_field(e, "code"));
                return report(
                    failure{rpc::exit_status_for(code), std::string(string_field(e, "message"))});
            }
        }
        int timeout = -1;
        if (o.until_ms) {
            // --follow --until TIME ends when the clock passes TIME (a message sent before it
            // may still arrive later; journalctl and docker stop at the time too).
            std::int64_t const left = *o.until_ms - unix_now_ms();
            if (left < 0) return 0;
            timeout = static_cast<int>(std::min<std::int64_t>(left + 1, 60'000));
        }
        // stdout is watched too (events = 0 still reports POLLERR): when the reader of our
        // pipe goes away (tail | head -n 1) we end now, not at the next event.
        pollfd fds[2] = {{client.fd(), POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
        if (::poll(fds, 2, timeout) < 0) {
            if (errno == EINTR) continue;
            return connection_gone;
        }
        if (fds[1].revents & (POLLERR | POLLHUP)) return 0;
        if (fds[0].revents != 0)
            if (auto rd = client.on_readable(); !rd) return lost_or(rd.error());
    }
}

// Connects again after the daemon went away, backing off from 100 ms to 2 s, for as long as
// it takes (Ctrl-C ends tail, as it ends journalctl -f); a closed output ends it too.
result<rpc_client> reconnect(context const& ctx) {
    int wait_ms = 100;
    for (;;) {
        pollfd out{STDOUT_FILENO, 0, 0};
        if (::poll(&out, 1, wait_ms) > 0 && (out.revents & (POLLERR | POLLHUP)))
            return failure{0, ""};
        auto client = rpc_client::connect(ctx.socket_path, rpc::exit_status::unavailable);
        if (client) return client;
        if (client.error().status != rpc::exit_status::unavailable) return client.error();
        wait_ms = std::min(wait_ms * 2, 2000);
    }
}

int follow(context const& ctx, rpc_client first, tail_options const& o) {
    event_printer printer(o);
    resume_point resume;
    std::optional<rpc_client> client(std::move(first));
    for (bool first_time = true;; first_time = false) {
        // The daemon's pid tells a restarted daemon (resume by time) from the same one.
        auto st = client->call("status", {}, 10'000);
        json::object params;
        if (st && st->is_object()) {
            params = resume.reconnected(st->as_object());
        }
        if (first_time) {
            params.clear();
            if (o.since_seq) {
                params["since"] = *o.since_seq;
                resume.follow_after(static_cast<std::uint64_t>(*o.since_seq), {});
            }
        }
        int rc = connection_gone;
        if (st) {
            if (!o.json) learn_peers(*client, printer);
            if (first_time && backlog_from_store(o)) {
                // The backlog in history order from the store, then the live stream from the
                // event number the store was read at: nothing twice, nothing skipped.
                if (o.lines == 0) {
                    params["backlog"] = 0;
                } else if (auto p = print_stored(*client, printer, resume, o); !p) {
                    return report(p.error());
                } else {
                    params["since"] = resume.last_seq();
                }
            }
            auto r = client->call("subscribe", std::move(params));
            if (r && first_time && o.lines == 0 && !o.since_seq && r->is_object())
                // Nothing shown yet: following begins at the newest event now, not at 0.
                resume.follow_after(static_cast<std::uint64_t>(int_field(r->as_object(), "seq")),
                                    {});
            if (r) {
                if (!first_time) {
                    note(resume.last_time_ms() > 0
                             ? "reconnected; resuming after " + event_time(resume.last_time_ms())
                             : "reconnected");
                }
                rc = stream(*client, printer, resume, o);
            } else if (!is_connection_lost(r.error())) {
                return report(r.error());
            }
        } else if (!is_connection_lost(st.error())) {
            return report(st.error());
        }
        if (rc != connection_gone) return rc;
        note("p2pchatd went away; reconnecting (Ctrl-C to stop)");
        client.reset();
        auto again = reconnect(ctx);
        if (!again) return report(again.error());
        client.emplace(std::move(*again));
    }
}

}  // namespace

int run_tail(context& ctx, args_t args) {
    static constexpr option_spec specs[] = {{"lines", 'n', true},    {"since", 'S', true},
                                            {"until", 'U', true},    {"follow", 'f', false},
                                            {"no-follow", 0, false}, {"json", 0, false}};
    auto a = parse_args(args, specs, "tail");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "tail")) return 0;
    if (!a->positionals.empty())
        return report(usage_error(
            "tail", "unexpected argument '" + std::string(a->positionals.front()) + "'"));

    tail_options o;
    if (a->has("follow") && a->has("no-follow"))
        return report(usage_error("tail", "--follow and --no-follow contradict each other"));
    // --until ends the output, so it implies --no-follow unless --follow is given.
    o.follow = a->has("follow") || (!a->has("no-follow") && !a->has("until"));
    o.json = a->has("json");
    if (auto it = a->options.find("lines"); it != a->options.end()) {
        if (it->second == "all") {
            o.lines.reset();
        } else if (auto n = parse_count(it->second)) {
            o.lines = n;
        } else {
            return report(usage_error(
                "tail", "-n wants a number or 'all', not '" + std::string(it->second) + "'"));
        }
    }
    std::int64_t const now = unix_now_ms();
    for (auto which : {bound::since, bound::until}) {
        char const* name = which == bound::since ? "since" : "until";
        auto it = a->options.find(name);
        if (it == a->options.end()) continue;
        auto spec = parse_time_spec(it->second, now, which);
        if (!spec)
            return report(usage_error("tail", std::string("--") + name +
                                                  " wants an event number, " + time_spec_hint() +
                                                  ", not '" + std::string(it->second) + "'"));
        if (auto* n = std::get_if<event_number>(&*spec)) {
            (which == bound::since ? o.since_seq : o.until_seq) = n->seq;
        } else {
            auto const ms = std::get<point_in_time>(*spec).unix_ms;
            if (which == bound::since) {
                o.since_seq = 0;
                o.since_ms = ms;
            } else {
                o.until_ms = ms;
            }
        }
    }
    if ((o.until_seq || o.until_ms) && !o.since_seq) {
        // The range starts at the oldest event; -n N keeps its last N, as journalctl does.
        o.since_seq = 0;
        if (a->has("lines") && o.lines && !o.follow)
            o.keep_last = static_cast<std::size_t>(*o.lines);
    }

    auto client = connect(ctx);
    if (!client) return report(client.error());
    return o.follow ? follow(ctx, std::move(*client), o) : print_history(*client, o);
}

}  // namespace p2pchat::ctl
