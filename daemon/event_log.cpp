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

void event_log::append(engine::node_event what) {
    std::uint64_t const seq = next_seq_++;
    // The notification rpc::make_notification("event", body) would build, framed by hand so
    // the body is serialized in place rather than copied into a wrapper object first; a
    // message's body (most events) is written straight into the line.
    std::string line = R"({"jsonrpc":"2.0","method":"event","params":)";
    if (auto const* m = std::get_if<engine::message_arrived>(&what)) {
        append_message_body(line, *m, seq, unix_time_ms());
    } else {
        auto body = to_json(what);
        body["seq"] = seq;
        body["time_ms"] = unix_time_ms();
        line += boost::json::serialize(body);
    }
    line += "}\n";
    event const e{seq, what, std::make_shared<std::string const>(std::move(line))};
    bytes_ += e.line->size();
    events_.push_back({e.seq, e.line, std::holds_alternative<engine::message_delivery>(what)});
    while (events_.size() > capacity_ || (bytes_ > max_bytes_ && events_.size() > 1)) {
        bytes_ -= events_.front().line->size();
        events_.pop_front();
    }
    deliver(*observers_, e);
    deliver(*sinks_, e);
}

std::vector<logged_event const*> event_log::after(std::uint64_t seq, std::size_t limit,
                                                  bool deliveries) const {
    std::vector<logged_event const*> out;
    if (events_.empty()) return out;
    std::uint64_t const first = events_.front().seq;
    std::size_t start = seq < first ? 0 : static_cast<std::size_t>(seq - first + 1);
    for (std::size_t i = start; i < events_.size() && out.size() < limit; ++i)
        if (deliveries || !events_[i].delivery) out.push_back(&events_[i]);
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
