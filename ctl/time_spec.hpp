#pragma once
// What `tail --since/--until` accept, as journalctl and docker users write it (p2pchatctl(1),
// TIMES): event numbers, absolute times and dates in local time, relative times. Pure: the
// current time is a parameter, the time zone is the process's (TZ).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace p2pchat::ctl {

// An event number (seq) or a point in time (Unix milliseconds).
struct event_number {
    std::int64_t seq = 0;
};
struct point_in_time {
    std::int64_t unix_ms = 0;
};
using time_spec = std::variant<event_number, point_in_time>;

// Which end of a range a bare clock time ("23:59") bounds. For --since it is the last time
// the clock showed it (yesterday when that is still ahead today: `--since 23:59` just after
// midnight means a few minutes ago); for --until it is today's.
enum class bound { since, until };

// Accepted (case-insensitive words, surrounding blanks ignored):
//   N                      event number N (digits only)
//   @S                     Unix time S seconds
//   now, today, yesterday, tomorrow       (the last three at 00:00)
//   HH:MM[:SS]             a clock time, see `bound`
//   today|yesterday HH:MM[:SS]
//   YYYY-MM-DD[( |T)HH:MM[:SS]][Z]        local time, or UTC with Z
//   10s 10m 2h 3d 1w 1h30m                that long ago (docker's --since 10m)
//   -10m, "10 min ago", "1 hour ago", "2 days ago"  (journalctl's forms)
// nullopt for anything else.
std::optional<time_spec> parse_time_spec(std::string_view text, std::int64_t now_ms, bound b);

// What a time looks like, for error lines: "a time or date in local time (14:00, ...) or an
// age (10m, ...)".
std::string time_spec_hint();

}  // namespace p2pchat::ctl
