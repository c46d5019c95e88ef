#include "common/text.hpp"

#include <cstdint>
#include <string>

namespace p2pchat {

bool is_valid_utf8(std::string_view s) {
    auto const* p = reinterpret_cast<unsigned char const*>(s.data());
    auto const* const end = p + s.size();
    while (p < end) {
        unsigned char const c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra = 0;
        std::uint32_t cp = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (end - p <= extra) return false;
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += extra + 1;
    }
    return true;
}

bool is_valid_name(std::string_view s) {
    if (s.empty() || s.size() > max_name_bytes || !is_valid_utf8(s)) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto const c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f) return false;
        // C1 controls U+0080..U+009F are C2 80..C2 9F (valid UTF-8, so a byte follows C2);
        // U+009B is a terminal CSI.
        if (c == 0xc2 && static_cast<unsigned char>(s[i + 1]) < 0xa0) return false;
    }
    return true;
}

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == s.npos; }

std::optional<std::string> screen_name_problem(std::string_view s) {
    if (is_blank(s)) return "a screen name cannot be blank";
    if (s.size() > max_name_bytes)
        return "a screen name is at most 64 bytes (this one is " + std::to_string(s.size()) + ")";
    if (!is_valid_utf8(s)) return "a screen name must be valid UTF-8";
    if (!is_valid_name(s)) return "a screen name cannot contain control characters";
    auto const space = [](char c) { return c == ' ' || c == '\t'; };
    if (space(s.front()) || space(s.back()))
        return "a screen name cannot begin or end with white space";
    return std::nullopt;
}

std::optional<std::string> message_problem(std::string_view s) {
    if (s.empty()) return "message is empty";
    if (is_blank(s)) return "message is blank";
    if (s.size() > max_text_bytes)
        return "message is " + std::to_string(s.size()) + " bytes; the limit is 65536";
    if (!is_valid_utf8(s)) return "message is not valid UTF-8";
    return std::nullopt;
}

}  // namespace p2pchat
