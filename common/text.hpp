#pragma once
// Validation of user-supplied text: chat messages and screen names.
#include <cstddef>
#include <string_view>

namespace p2pchat {

inline constexpr std::size_t max_text_bytes = 64 * 1024;
inline constexpr std::size_t max_name_bytes = 64;

bool is_valid_utf8(std::string_view s);

// A screen name: 1..64 bytes of valid UTF-8 with no control characters (C0, DEL or C1).
bool is_valid_name(std::string_view s);

}  // namespace p2pchat
