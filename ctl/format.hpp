#pragma once
// Human-readable rendering of daemon replies and events. Pure functions of their input (and
// the local time zone): no I/O, so tail, chat, peers and status share one look.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace p2pchat::ctl {

struct style {
    bool colour = false;       // ANSI colours for names (only on a terminal, never with NO_COLOR)
    std::int64_t now_ms = -1;  // what "today" is for dates (Unix ms); -1: the clock
    std::string mention = {};  // with colour, others' messages that mention it are highlighted
};

// Who is who, as far as this client has seen (peer table, events): the current name of each
// node id. A name that two nodes share, or that contains '#' (so that nobody can pose as
// "alice#1a2b3c4d"), is shown with the node's short id: alice#1a2b3c4d. Never forgets an
// id during a session, so a name stays qualified after one of its holders left.
class name_book {
  public:
    void learn(std::string_view id, std::string_view name);
    // Learns only ids not seen yet (a message carries the name it was sent under, which may
    // be older than what the book knows).
    void learn_if_new(std::string_view id, std::string_view name);
    bool shared(std::string_view name) const;
    // The name as it should be shown (not yet made terminal-safe).
    std::string display(std::string_view id, std::string_view name) const;
    // Feeds the book from one event (peer_joined/renamed, message) or a peers array.
    void learn_event(boost::json::object const& event);
    void learn_peers(boost::json::array const& peers);
    std::vector<std::pair<std::string, std::string>> const& entries() const { return entries_; }

  private:
    std::vector<std::pair<std::string, std::string>> entries_;  // id, name
};

// Text from the network made safe for a terminal: control characters (C0, DEL, C1) become
// visible ^X / U+FFFD so a peer cannot move our cursor or retitle the window.
std::string terminal_safe(std::string_view text);

// Columns a UTF-8 string takes, counting one per code point (good enough for names).
std::size_t display_width(std::string_view text);

// "HH:MM:SS" in local time for Unix milliseconds.
std::string clock_time(std::int64_t unix_ms);

// "HH:MM:SS" when unix_ms falls on the local day of now_ms (-1: the clock), else
// "YYYY-MM-DD HH:MM:SS".
std::string event_time(std::int64_t unix_ms, std::int64_t now_ms = -1);

// When an event happened, for people and filters: a message's send time on its author's
// clock (sent_ms), any other event's time on this node (time_ms).
std::int64_t event_unix_ms(boost::json::object const& event);

// A message sent with `/me waves` ("/me " + action): the action, else nullopt.
std::optional<std::string_view> me_action(std::string_view text);

// True when text mentions name as a word (case-insensitive ASCII, not inside a longer word).
bool mentions(std::string_view text, std::string_view name);

// One line (no newline) for an event, as p2pchatctl tail prints it:
//   HH:MM:SS alice: hello / HH:MM:SS alice (you): hi / HH:MM:SS * alice waves /
//   HH:MM:SS * bob joined (1a2b3c4d) / * bob left / * bob is now known as robert.
// Messages show their send time, with the date when it is not today. Names come out as
// `names` says (alice#1a2b3c4d when shared). nullopt for event types not shown to humans.
std::optional<std::string> human_event(boost::json::object const& event, style const& s,
                                       name_book const* names = nullptr);

// The peers table (ID NAME ADDRESS STATE, header first), one '\n'-terminated line per row.
// Columns ID, NAME, ADDRESS, STATE (self, alive, suspect, connecting) and LAST SEEN, counted
// back from `now_ms` (Unix ms; default: this machine's clock).
std::string peers_table(boost::json::array const& peers,
                        std::optional<std::int64_t> now_ms = std::nullopt);

// The multi-line status summary, '\n'-terminated.
std::string status_summary(boost::json::object const& status);

// Field accessors that tolerate missing or mistyped fields (a newer daemon may differ).
std::string_view string_field(boost::json::object const& o, std::string_view key);
std::int64_t int_field(boost::json::object const& o, std::string_view key,
                       std::int64_t fallback = 0);

}  // namespace p2pchat::ctl
