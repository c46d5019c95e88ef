#pragma once
// The node's event stream: every chat message and peer change, numbered from 1. `tail`,
// `history`, D-Bus signals and storage all read this one stream. Keeps the newest `capacity`
// events in memory and fans each new one out to subscribers. Each event is serialized once,
// as the control API's notification line, and shared by every subscriber.
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace p2pchat::daemon {

struct event {
    std::uint64_t seq = 0;
    boost::json::object body;                 // seq, type, time_ms and the type's fields
    std::shared_ptr<std::string const> line;  // JSON-RPC "event" notification + '\n'
};

class event_log {
  public:
    using sink = std::function<void(event const&)>;

    // Unsubscribes when destroyed; safe to outlive the log.
    class subscription {
      public:
        subscription() = default;
        subscription(std::weak_ptr<std::map<std::uint64_t, sink>> sinks, std::uint64_t key)
            : sinks_(std::move(sinks)), key_(key) {}
        subscription(subscription&&) = default;
        subscription& operator=(subscription&&) = default;
        ~subscription();

      private:
        std::weak_ptr<std::map<std::uint64_t, sink>> sinks_;
        std::uint64_t key_ = 0;
    };

    explicit event_log(std::size_t capacity = 10000);

    // Stamps seq and time_ms on body, stores it and delivers it to every subscriber.
    event const& append(boost::json::object body);

    std::uint64_t last_seq() const { return next_seq_ - 1; }
    // Events with seq > after, oldest first, at most limit.
    std::vector<event const*> after(std::uint64_t seq, std::size_t limit) const;
    // The newest n events, oldest first.
    std::vector<event const*> newest(std::size_t n) const;

    // A client following the stream (counted in status as a subscriber).
    subscription subscribe(sink s) { return add(sinks_, std::move(s)); }
    // The daemon's own consumers (service status, D-Bus signals): not counted.
    subscription observe(sink s) { return add(observers_, std::move(s)); }
    std::size_t subscribers() const { return sinks_->size(); }

  private:
    using sink_map = std::map<std::uint64_t, sink>;
    subscription add(std::shared_ptr<sink_map> const& map, sink s);
    void deliver(sink_map& map, event const& e);

    std::size_t capacity_;
    std::deque<event> events_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t next_key_ = 1;
    std::shared_ptr<sink_map> sinks_;
    std::shared_ptr<sink_map> observers_;
};

std::int64_t unix_time_ms();

}  // namespace p2pchat::daemon
