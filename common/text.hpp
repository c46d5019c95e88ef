#pragma once
// Validation of user-supplied text: chat messages and screen names.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace p2pchat {

inline constexpr std::size_t max_text_bytes = 64 * 1024;
inline constexpr std::size_t max_name_bytes = 64;

bool is_valid_utf8(std::string_view s);

// A screen name: 1..64 bytes of valid UTF-8 with no control characters (C0, DEL or C1).
// This is what a peer may send (the wire rule); a name chosen here must also pass
// screen_name_problem().
bool is_valid_name(std::string_view s);

// The rules for input a user gives this node (p2pchatd --name, rename, send, on the command
// line, JSON-RPC and D-Bus alike): nullopt when acceptable, else one line saying what is
// wrong. Stricter than the wire rules, which stay as they are for older peers.
//   name: is_valid_name, and neither blank nor with white space at either end;
//   message: 1..64 KiB of valid UTF-8 that is not only white space.
std::optional<std::string> screen_name_problem(std::string_view s);
std::optional<std::string> message_problem(std::string_view s);

// True when s is empty or only spaces, tabs, carriage returns and newlines.
bool is_blank(std::string_view s);

}  // namespace p2pchat
