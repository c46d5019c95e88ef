#pragma once
// What p2pchat-notify posts for incoming messages, decided without I/O: one notification per
// sender, replaced (coalesced) while that sender keeps writing; none for your own messages;
// optionally only messages that mention your name; at most `burst` posts per `window`, with
// what is held back summed up in one "N more messages" notification when the rate allows.
// Times are Unix milliseconds passed in. See p2pchat-notify(1).
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "ctl/format.hpp"

namespace p2pchat::ctl {

struct notify_settings {
    bool mentions_only = false;
    std::int64_t coalesce_ms = 10'000;  // 0: every message its own desktop_notification
    std::size_t burst = 5;              // posts allowed per window
    std::int64_t window_ms = 10'000;
};

struct desktop_notification {
    std::string key;             // who it is about (a node id, or "more")
    std::uint32_t replaces = 0;  // the server's id of the desktop_notification it replaces (0: new)
    std::string summary;         // plain text
    std::string body;            // with &, < and > escaped: servers may read it as markup
};

class notify_policy {
  public:
    explicit notify_policy(notify_settings s) : settings_(s) {}

    // Your own screen name, for mentions (follows renames).
    void set_self_name(std::string name) { self_name_ = std::move(name); }

    // A "message" event; what to post now, if anything.
    std::optional<desktop_notification> on_message(boost::json::object const& event,
                                                   name_book const& names, std::int64_t now_ms);
    // The server's id for what was posted under `key` (so the next one can replace it).
    void posted(std::string const& key, std::uint32_t id, std::int64_t now_ms);
    // What to post on a timer: the summary of held-back messages once the rate allows.
    std::optional<desktop_notification> on_tick(std::int64_t now_ms);
    // When on_tick() should run next (ms from now), or -1 when nothing is held back.
    std::int64_t next_tick_in(std::int64_t now_ms) const;

    // Text made safe for a notification body (servers may interpret a subset of markup).
    static std::string escape_markup(std::string_view text);

  private:
    bool allowed(std::int64_t now_ms);

    struct thread {
        std::uint32_t id = 0;
        std::int64_t last_ms = 0;
        std::size_t count = 0;
        std::deque<std::string> lines;
    };
    notify_settings settings_;
    std::string self_name_;
    std::map<std::string, thread> threads_;  // by sender id, and "more"
    std::deque<std::int64_t> recent_posts_;  // times of the posts in the current window
    std::size_t held_ = 0;                   // messages not posted because of the rate limit
};

}  // namespace p2pchat::ctl
