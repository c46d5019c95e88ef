#include "common/crypto/base64url.hpp"

#include <cstdint>

namespace p2pchat::crypto {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t invalid = 0xff;

// Each character's six bits, or `invalid`.
constexpr std::array<std::uint8_t, 256> sextets = [] {
    std::array<std::uint8_t, 256> table{};
    table.fill(invalid);
    for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(alphabet[i])] = i;
    return table;
}();

std::uint32_t sextet(char c) { return sextets[static_cast<unsigned char>(c)]; }

}  // namespace

bool in_base64url_alphabet(std::string_view text) {
    std::uint32_t all = 0;
    for (char c : text) all |= sextet(c);
    return all <= 63;
}

void encode_base64url(unsigned char const* bytes, std::size_t n, char* out) {
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        std::uint32_t const v = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8 |
                                std::uint32_t{bytes[i + 2]};
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
        *out++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        std::uint32_t const v = std::uint32_t{bytes[i]} << 16;
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        std::uint32_t const v = std::uint32_t{bytes[i]} << 16 | std::uint32_t{bytes[i + 1]} << 8;
        *out++ = alphabet[v >> 18];
        *out++ = alphabet[(v >> 12) & 63];
        *out++ = alphabet[(v >> 6) & 63];
    }
}

bool decode_base64url(std::string_view text, unsigned char* out, std::size_t n) {
    if (text.size() != base64url_length(n)) return false;
    char const* in = text.data();
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3, in += 4) {
        std::uint32_t const a = sextet(in[0]), b = sextet(in[1]), c = sextet(in[2]),
                            d = sextet(in[3]);
        if ((a | b | c | d) > 63) return false;  // `invalid` is above every sextet
        std::uint32_t const v = a << 18 | b << 12 | c << 6 | d;
        out[i] = static_cast<unsigned char>(v >> 16);
        out[i + 1] = static_cast<unsigned char>(v >> 8);
        out[i + 2] = static_cast<unsigned char>(v);
    }
    // The last one or two bytes, from two or three characters whose unused bits are zero:
    // one text for each value (canonical).
    if (n - i == 1) {
        std::uint32_t const a = sextet(in[0]), b = sextet(in[1]);
        if ((a | b) > 63 || (b & 15) != 0) return false;
        out[i] = static_cast<unsigned char>(a << 2 | b >> 4);
    } else if (n - i == 2) {
        std::uint32_t const a = sextet(in[0]), b = sextet(in[1]), c = sextet(in[2]);
        if ((a | b | c) > 63 || (c & 3) != 0) return false;
        out[i] = static_cast<unsigned char>(a << 2 | b >> 4);
        out[i + 1] = static_cast<unsigned char>((b & 15) << 4 | c >> 2);
    }
    return true;
}

}  // namespace p2pchat::crypto
