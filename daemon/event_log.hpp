#pragma once
// The node's event stream: every chat message and peer change, numbered. `tail`,
// `history`, D-Bus signals and the service status all read this one stream. Each new event is
// handed to the sinks as the engine's typed event, then kept only as its serialized JSON-RPC
// notification line (shared by every subscriber), the newest ones up to a count and a byte
// budget: the control socket's replay buffer.
//
// Numbers increase and never repeat, also across restarts (docs/STORAGE.md): a restarted
// node restores its stored messages under the numbers they had and goes on after the highest
// number it may have handed out (resume_numbering). There may be gaps: peer events are not
// stored, and a crash skips the numbers reserved but not used.
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/engine/events.hpp"

namespace p2pchat::daemon {

// A new event, as sinks see it (only during the call).
struct event {
    std::uint64_t seq = 0;
    engine::node_event const& what;
    std::shared_ptr<std::string const> line;  // JSON-RPC "event" notification + '\n'
};

// An event as the log keeps it: the line alone (a parsed body costs several times its size).
struct logged_event {
    std::uint64_t seq = 0;
    std::shared_ptr<std::string const> line;
    // A delivery event: numbered like the others, but read only by the clients that ask for
    // them (docs/CONTROL.md), so that `tail -n 10` still means ten messages and peer changes.
    bool delivery = false;

    boost::json::object body() const;  // parsed back from the line (history; rare)
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

    // Holds at most `capacity` events and `max_bytes` of notification lines, whichever is
    // reached first: subscribers read from here, so this is also how far one may lag.
    explicit event_log(std::size_t capacity = 1'000'000, std::size_t max_bytes = 16 * 1024 * 1024);

    // Numbers the event, stores its notification line (with seq and time_ms stamped on the
    // body) and delivers it to every observer and subscriber.
    void append(engine::node_event what);

    // Puts back an event of an earlier run under its number and time (no sink sees it: the
    // node restores before any front end subscribes). `seq` must be above last_seq().
    void restore(std::uint64_t seq, std::int64_t time_ms, engine::node_event const& what);
    // New events are numbered from last + 1 on (never lower than they are now).
    void resume_numbering(std::uint64_t last);

    std::uint64_t last_seq() const { return next_seq_ - 1; }
    // The number of the newest event discarded to stay within the budget (0: none): a reader
    // whose cursor is below it missed events.
    std::uint64_t discarded_through() const { return discarded_through_; }
    // The oldest seq still held (last_seq() + 1 when empty).
    std::uint64_t first_seq() const { return events_.empty() ? next_seq_ : events_.front().seq; }
    // Events with seq > after, oldest first, at most limit; delivery events only when asked.
    std::vector<logged_event const*> after(std::uint64_t seq, std::size_t limit,
                                           bool deliveries = false) const;
    // The newest n events, oldest first; delivery events only when asked.
    std::vector<logged_event const*> newest(std::size_t n, bool deliveries = false) const;

    // A client following the stream (counted in status as a subscriber).
    subscription subscribe(sink s) { return add(sinks_, std::move(s)); }
    // The daemon's own consumers (service status, D-Bus signals): not counted.
    subscription observe(sink s) { return add(observers_, std::move(s)); }
    std::size_t subscribers() const { return sinks_->size(); }

  private:
    using sink_map = std::map<std::uint64_t, sink>;
    subscription add(std::shared_ptr<sink_map> const& map, sink s);
    void deliver(sink_map& map, event const& e);
    std::shared_ptr<std::string const> line_of(engine::node_event const& what, std::uint64_t seq,
                                               std::int64_t time_ms) const;
    void keep(std::uint64_t seq, std::shared_ptr<std::string const> const& line, bool delivery);

    std::size_t capacity_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::deque<logged_event> events_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t discarded_through_ = 0;
    std::uint64_t next_key_ = 1;
    std::shared_ptr<sink_map> sinks_;
    std::shared_ptr<sink_map> observers_;
};

std::int64_t unix_time_ms();

}  // namespace p2pchat::daemon
