#include "daemon/messages_method.hpp"

#include <optional>
#include <string>

#include "daemon/control_json.hpp"
#include "daemon/node.hpp"

namespace p2pchat::daemon {

namespace json = boost::json;

namespace {

rpc::error invalid(std::string message) { return {rpc::code::invalid_params, std::move(message)}; }

std::optional<std::int64_t> integer(json::value const& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    return std::nullopt;
}

std::optional<std::uint64_t> count(json::value const* v) {
    if (!v) return std::nullopt;
    auto const i = integer(*v);
    if (!i || *i < 0) return std::nullopt;
    return static_cast<std::uint64_t>(*i);
}

std::optional<history_cursor> cursor_of(json::value const& v) {
    if (!v.is_object()) return std::nullopt;
    auto const& o = v.as_object();
    auto const lamport = count(o.if_contains("lamport"));
    auto const seq = count(o.if_contains("seq"));
    auto const* origin = o.if_contains("origin");
    if (!lamport || !seq || !origin || !origin->is_string() || o.size() != 3) return std::nullopt;
    return history_cursor{*lamport, std::string(origin->get_string()), *seq};
}

json::object message_json(stored_message const& m, node const& n) {
    auto const& self = n.id();
    bool const mine = m.chat.origin == self;
    auto body = to_json(engine::node_event{engine::message_arrived{m.chat, mine, false}});
    // As in the message event: seq is the event number it was shown with (null for one a
    // version-1 daemon stored and never numbered), time_ms when it arrived here. Never
    // `late`: in history order every message is in its place (the flag is the event
    // stream's: a message shown after ones it precedes).
    if (m.event_seq != 0)
        body["seq"] = m.event_seq;
    else
        body["seq"] = nullptr;
    body["time_ms"] = m.arrived_ms;
    // How many nodes hold it as far as this one knows, itself included (docs/CONTROL.md).
    body["delivered"] = n.delivered_count(m.chat.origin, m.chat.seq);
    return body;
}

}  // namespace

awaitable<std::variant<json::value, rpc::error>> messages_method(node& n, json::object const& p,
                                                                 std::size_t max_bytes) {
    std::size_t limit = 100;
    if (auto const* v = p.if_contains("limit")) {
        auto const c = count(v);
        if (!c || *c == 0 || *c > max_messages_page)
            co_return invalid("limit must be an integer from 1 to " +
                              std::to_string(max_messages_page));
        limit = static_cast<std::size_t>(*c);
    }
    history_filter filter;
    for (auto [key, out] :
         {std::pair{"since_ms", &filter.since_ms}, std::pair{"until_ms", &filter.until_ms}}) {
        if (auto const* v = p.if_contains(key)) {
            auto const t = integer(*v);
            if (!t) co_return invalid(std::string(key) + " must be an integer (Unix milliseconds)");
            *out = *t;
        }
    }
    if (auto const* v = p.if_contains("grep")) {
        if (!v->is_string() || v->get_string().empty())
            co_return invalid("grep must be a non-empty string");
        filter.grep = std::string(v->get_string());
    }
    std::optional<std::string> from;
    if (auto const* v = p.if_contains("from")) {
        if (!v->is_string() || v->get_string().empty())
            co_return invalid("from must be a non-empty string (a name, an id or its start)");
        from = std::string(v->get_string());
    }
    std::optional<history_cursor> before;
    if (auto const* v = p.if_contains("before")) {
        before = cursor_of(*v);
        if (!before)
            co_return invalid(
                "before must be a cursor from an earlier reply ({\"lamport\", \"origin\", "
                "\"seq\"})");
    }
    auto r = co_await n.messages(std::move(from), std::move(filter), std::move(before), limit,
                                 max_bytes);
    if (!r) co_return r.error();
    json::array messages;
    messages.reserve(r->page.messages.size());
    for (auto const& m : r->page.messages) messages.emplace_back(message_json(m, n));
    json::object out{{"messages", std::move(messages)},
                     {"more", r->page.next.has_value()},
                     {"event_seq", r->event_seq}};
    if (auto const& next = r->page.next)
        out["before"] =
            json::object{{"lamport", next->lamport}, {"origin", next->origin}, {"seq", next->seq}};
    co_return out;
}

}  // namespace p2pchat::daemon
