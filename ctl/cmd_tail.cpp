#include <poll.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>

#include "common/rpc/rpc.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"
#include "ctl/output.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {

constexpr std::int64_t history_page = 10000;  // the daemon's maximum history limit

std::optional<std::int64_t> parse_count(std::string_view s) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size() || n < 0) return std::nullopt;
    return n;
}

// --since TIME: "HH:MM[:SS]" today, or "YYYY-MM-DD[(T| )HH:MM[:SS]]", local time.
std::optional<std::int64_t> parse_time_ms(std::string const& s) {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    tm.tm_sec = 0;
    int n = 0;
    int consumed = -1;
    if (std::sscanf(s.c_str(), "%d-%d-%d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &consumed) ==
            3 &&
        consumed >= 8) {
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        std::string rest = s.substr(static_cast<std::size_t>(consumed));
        if (!rest.empty()) {
            if (rest[0] != 'T' && rest[0] != ' ') return std::nullopt;
            rest.erase(0, 1);
        }
        if (!rest.empty()) {
            consumed = -1;
            n = std::sscanf(rest.c_str(), "%d:%d%n:%d%n", &tm.tm_hour, &tm.tm_min, &consumed,
                            &tm.tm_sec, &consumed);
            if (n < 2 || consumed != static_cast<int>(rest.size())) return std::nullopt;
        }
    } else {
        consumed = -1;
        n = std::sscanf(s.c_str(), "%d:%d%n:%d%n", &tm.tm_hour, &tm.tm_min, &consumed, &tm.tm_sec,
                        &consumed);
        if (n < 2 || consumed != static_cast<int>(s.size())) return std::nullopt;
    }
    if (tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_mon < 0 || tm.tm_mon > 11 ||
        tm.tm_mday < 1 || tm.tm_mday > 31)
        return std::nullopt;
    tm.tm_isdst = -1;
    std::time_t t = std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return static_cast<std::int64_t>(t) * 1000;
}

struct tail_options {
    std::optional<std::int64_t> lines = 10;  // nullopt: all
    std::optional<std::int64_t> since_seq;
    std::optional<std::int64_t> since_ms;  // --since TIME: filter by the event's time
    bool follow = true;
    bool json = false;
};

// Prints events; remembers nothing but how to print. A failure with status 0 means stdout
// was closed: the command ends quietly.
class event_printer {
  public:
    explicit event_printer(tail_options const& o) : opts_(o), style_{colour_wanted()} {}

    result<void> print_event(json::value const& v) {
        if (!v.is_object()) return {};
        json::object const& ev = v.as_object();
        if (opts_.since_ms && int_field(ev, "time_ms") < *opts_.since_ms) return {};
        if (opts_.json) return print(json::serialize(ev) + "\n");
        if (auto line = human_event(ev, style_)) return print(*line + "\n");
        return {};
    }

  private:
    tail_options const& opts_;
    style style_;
};

int print_history(rpc_client& client, tail_options const& o) {
    event_printer printer(o);
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
        for (auto const& ev : events->as_array())
            if (auto p = printer.print_event(ev); !p) return report(p.error());
        auto const& arr = events->as_array();
        if (!paged || static_cast<std::int64_t>(arr.size()) < history_page || arr.empty()) break;
        params["since"] = arr.back().is_object() ? int_field(arr.back().as_object(), "seq") : 0;
    }
    return 0;
}

int follow(rpc_client& client, tail_options const& o) {
    json::object params;
    if (o.since_seq)
        params["since"] = *o.since_seq;
    else if (!o.lines)
        params["since"] = 0;
    else
        params["backlog"] = *o.lines;
    auto r = client.call("subscribe", std::move(params));
    if (!r) return report(r.error());

    event_printer printer(o);
    // With --json and no time filter an event is printed as the daemon serialized it
    // (byte for byte what parsing and re-serializing gives), and everything already
    // received goes out in one write before waiting again: a stream of 100 000 lines per
    // second is then cheap to follow (bench B2). Nothing is held back while we wait.
    bool const verbatim = o.json && !o.since_ms;
    std::string batch;
    for (;;) {
        for (;;) {
            if (verbatim) {
                if (auto text = client.next_event_text()) {
                    batch.append(*text);
                    batch += '\n';
                    continue;
                }
                if (!batch.empty()) {
                    if (auto p = print(batch); !p) return report(p.error());
                    batch.clear();
                }
            }
            auto m = client.next_message();
            if (!m) return report(m.error());
            if (!*m) break;
            auto* n = std::get_if<notification>(&**m);
            if (!n) continue;
            if (n->method == "event") {
                if (auto p = printer.print_event(n->params); !p) return report(p.error());
            } else if (n->method == "error") {
                json::object const empty;
                auto const& e = n->params.is_object() ? n->params.as_object() : empty;
                int code = static_cast<int>(int_field(e, "code"));
                return report(
                    failure{rpc::exit_status_for(code), std::string(string_field(e, "message"))});
            }
        }
        // stdout is watched too (events = 0 still reports POLLERR): when the reader of our
        // pipe goes away (tail | head -n 1) we end now, not at the next event.
        pollfd fds[2] = {{client.fd(), POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return report(connection_lost());
        }
        if (fds[1].revents & (POLLERR | POLLHUP)) return 0;
        if (fds[0].revents != 0)
            if (auto rd = client.on_readable(); !rd) return report(rd.error());
    }
}

}  // namespace

int run_tail(context& ctx, args_t args) {
    static constexpr option_spec specs[] = {
        {"lines", 'n', true}, {"since", 0, true}, {"no-follow", 0, false}, {"json", 0, false}};
    auto a = parse_args(args, specs, "tail");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "tail")) return 0;
    if (!a->positionals.empty())
        return report(usage_error(
            "tail", "unexpected argument '" + std::string(a->positionals.front()) + "'"));

    tail_options o;
    o.follow = !a->has("no-follow");
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
    if (auto it = a->options.find("since"); it != a->options.end()) {
        if (auto seq = parse_count(it->second)) {
            o.since_seq = seq;
        } else if (auto ms = parse_time_ms(std::string(it->second))) {
            o.since_seq = 0;
            o.since_ms = ms;
        } else {
            return report(usage_error("tail", "--since wants an event number or a time, not '" +
                                                  std::string(it->second) + "'"));
        }
    }

    auto client = connect(ctx);
    if (!client) return report(client.error());
    return o.follow ? follow(*client, o) : print_history(*client, o);
}

}  // namespace p2pchat::ctl
