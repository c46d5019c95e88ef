#include "daemon/event_log.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <chrono>

#include "daemon/control_json.hpp"

namespace p2pchat::daemon {

std::int64_t unix_time_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

event_log::subscription::~subscription() {
    if (auto sinks = sinks_.lock()) sinks->erase(key_);
}

event_log::event_log(std::size_t capacity, std::size_t max_bytes)
    : capacity_(capacity),
      max_bytes_(max_bytes),
      sinks_(std::make_shared<sink_map>()),
      observers_(std::make_shared<sink_map>()) {}

void event_log::deliver(sink_map& map, event const& e) {
    // A sink may unsubscribe (itself or another) while we deliver: walk a snapshot of keys.
    std::vector<std::uint64_t> keys;
    keys.reserve(map.size());
    for (auto const& [key, s] : map) keys.push_back(key);
    for (auto key : keys)
        if (auto it = map.find(key); it != map.end()) it->second(e);
}

boost::json::object logged_event::body() const {
    // The line is our own serialization: parsing it back cannot fail.
    auto v = boost::json::parse(*line);
    return std::move(v.as_object().at("params").as_object());
}

std::shared_ptr<std::string const> event_log::line_of(engine::node_event const& what,
                                                      std::uint64_t seq,
                                                      std::int64_t time_ms) const {
    // The notification rpc::make_notification("event", body) would build, framed by hand so
    // the body is serialized in place rather than copied into a wrapper object first; a
    // message's body (most events) is written straight into the line.
    constexpr std::string_view head = R"({"jsonrpc":"2.0","method":"event","params":)";
    std::string line;
    if (auto const* m = std::get_if<engine::message_arrived>(&what)) {
        // One allocation for the whole line (the body reserves what it needs).
        line.reserve(head.size() + 2 * m->chat.origin.size() + m->chat.name.size() +
                     m->chat.text.size() + 210);
        line += head;
        append_message_body(line, *m, seq, time_ms);
    } else {
        line += head;
        auto body = to_json(what);
        body["seq"] = seq;
        body["time_ms"] = time_ms;
        line += boost::json::serialize(body);
    }
    line += "}\n";
    return std::make_shared<std::string const>(std::move(line));
}

void event_log::keep(std::uint64_t seq, std::shared_ptr<std::string const> const& line,
                     bool delivery) {
    bytes_ += line->size();
    events_.push_back({seq, line, delivery});
    while (events_.size() > capacity_ || (bytes_ > max_bytes_ && events_.size() > 1)) {
        bytes_ -= events_.front().line->size();
        discarded_through_ = events_.front().seq;
        events_.pop_front();
    }
}

void event_log::append(engine::node_event what) {
    std::uint64_t const seq = next_seq_++;
    event const e{seq, what, line_of(what, seq, unix_time_ms())};
    keep(seq, e.line, std::holds_alternative<engine::message_delivery>(what));
    deliver(*observers_, e);
    deliver(*sinks_, e);
}

void event_log::restore(std::uint64_t seq, std::int64_t time_ms, engine::node_event const& what) {
    if (seq < next_seq_) return;  // numbers only go up
    keep(seq, line_of(what, seq, time_ms), std::holds_alternative<engine::message_delivery>(what));
    next_seq_ = seq + 1;
}

void event_log::resume_numbering(std::uint64_t last) { next_seq_ = std::max(next_seq_, last + 1); }

std::vector<logged_event const*> event_log::after(std::uint64_t seq, std::size_t limit,
                                                  bool deliveries) const {
    // Numbers increase but may have gaps (a restart): found by bisection, not by offset.
    auto it = std::upper_bound(events_.begin(), events_.end(), seq,
                               [](std::uint64_t s, logged_event const& e) { return s < e.seq; });
    std::vector<logged_event const*> out;
    for (; it != events_.end() && out.size() < limit; ++it)
        if (deliveries || !it->delivery) out.push_back(&*it);
    return out;
}

std::vector<logged_event const*> event_log::newest(std::size_t n, bool deliveries) const {
    std::vector<logged_event const*> out;
    for (std::size_t i = events_.size(); i > 0 && out.size() < n; --i)
        if (deliveries || !events_[i - 1].delivery) out.push_back(&events_[i - 1]);
    std::reverse(out.begin(), out.end());
    return out;
}

event_log::subscription event_log::add(std::shared_ptr<sink_map> const& map, sink s) {
    auto const key = next_key_++;
    map->emplace(key, std::move(s));
    return {map, key};
}

}  // namespace p2pchat::daemon
