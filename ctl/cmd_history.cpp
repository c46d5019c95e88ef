#include <boost/json/serialize.hpp>
#include <charconv>
#include <chrono>

#include "ctl/commands.hpp"
#include "ctl/format.hpp"
#include "ctl/output.hpp"
#include "ctl/stored_history.hpp"
#include "ctl/time_spec.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {

constexpr std::size_t default_count = 100;

// -n: a positive count or 'all' (nullopt); a failure names what was wrong.
result<std::optional<std::size_t>> parse_lines(std::string_view s) {
    if (s == "all") return std::optional<std::size_t>();
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size() || n == 0)
        return usage_error("history",
                           "-n wants a positive number or 'all', not '" + std::string(s) + "'");
    return std::optional<std::size_t>(n);
}

}  // namespace

int run_history(context& ctx, args_t args) {
    static constexpr option_spec specs[] = {{"lines", 'n', true}, {"since", 'S', true},
                                            {"until", 'U', true}, {"from", 0, true},
                                            {"grep", 0, true},    {"json", 0, false}};
    auto a = parse_args(args, specs, "history");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "history")) return 0;
    if (!a->positionals.empty())
        return report(usage_error(
            "history", "unexpected argument '" + std::string(a->positionals.front()) + "'"));

    history_query q;
    q.count = default_count;
    if (auto it = a->options.find("lines"); it != a->options.end()) {
        auto n = parse_lines(it->second);
        if (!n) return report(n.error());
        q.count = *n;
    }
    auto const now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    for (auto which : {bound::since, bound::until}) {
        char const* name = which == bound::since ? "since" : "until";
        auto it = a->options.find(name);
        if (it == a->options.end()) continue;
        // Event numbers say where in one node's arrival order; history is in the order every
        // node shares, so only times make sense here (tail --since N takes numbers).
        auto spec = parse_time_spec(it->second, now, which);
        auto const* t = spec ? std::get_if<point_in_time>(&*spec) : nullptr;
        if (!t)
            return report(usage_error("history", std::string("--") + name + " wants " +
                                                     time_spec_hint() + ", not '" +
                                                     std::string(it->second) + "'"));
        (which == bound::since ? q.since_ms : q.until_ms) = t->unix_ms;
    }
    for (auto [name, out] : {std::pair{"from", &q.from}, std::pair{"grep", &q.grep}}) {
        auto it = a->options.find(name);
        if (it == a->options.end()) continue;
        if (it->second.empty())
            return report(usage_error("history", std::string("--") + name + " wants a value"));
        *out = std::string(it->second);
    }

    auto client = connect(ctx);
    if (!client) return report(client.error());
    bool const as_json = a->has("json");
    name_book names;
    if (!as_json)
        if (auto r = client->call("peers"); r && r->is_object())
            if (auto const* p = r->as_object().if_contains("peers"); p && p->is_array())
                names.learn_peers(p->as_array());
    auto h = fetch_history(*client, q);
    if (!h) return report(h.error());
    style const look{colour_wanted()};
    std::string out;
    for (auto const& m : h->messages) {
        if (as_json) {
            out += json::serialize(m);
        } else {
            names.learn_event(m);
            auto line = human_event(m, look, &names);
            if (!line) continue;
            out += *line;
        }
        out += '\n';
    }
    auto printed = print(out);
    return printed ? 0 : report(printed.error());
}

}  // namespace p2pchat::ctl
