#pragma once
// Human-readable rendering of daemon replies and events. Pure functions of their input (and
// the local time zone): no I/O, so tail, chat, peers and status share one look.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace p2pchat::ctl {

struct style {
    bool colour = false;  // ANSI colours for names (only on a terminal, never with NO_COLOR)
};

// Text from the network made safe for a terminal: control characters (C0, DEL, C1) become
// visible ^X / U+FFFD so a peer cannot move our cursor or retitle the window.
std::string terminal_safe(std::string_view text);

// Columns a UTF-8 string takes, counting one per code point (good enough for names).
std::size_t display_width(std::string_view text);

// "HH:MM:SS" in local time for Unix milliseconds.
std::string clock_time(std::int64_t unix_ms);

// One line (no newline) for an event, as p2pchatctl tail prints it:
//   HH:MM:SS alice: hello / HH:MM:SS * bob joined (1a2b3c4d) / * bob left / * bob is now
//   known as robert. nullopt for event types that are not shown to humans.
std::optional<std::string> human_event(boost::json::object const& event, style const& s);

// The peers table (ID NAME ADDRESS STATE, header first), one '\n'-terminated line per row.
std::string peers_table(boost::json::array const& peers);

// The multi-line status summary, '\n'-terminated.
std::string status_summary(boost::json::object const& status);

// Field accessors that tolerate missing or mistyped fields (a newer daemon may differ).
std::string_view string_field(boost::json::object const& o, std::string_view key);
std::int64_t int_field(boost::json::object const& o, std::string_view key,
                       std::int64_t fallback = 0);

}  // namespace p2pchat::ctl
