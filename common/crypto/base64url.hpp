#pragma once
// Keys, signatures and chain values travel as unpadded base64url text (RFC 4648 §5): the
// shared encoding of common/crypto/signatures and common/invite.
//
// Two codecs with one format. Public values (chain values, signatures, public keys) use a
// table-driven codec: every chat message's chain is encoded by its author and decoded and
// encoded again by every node that checks it, where libsodium's constant-time codec cost
// about 4 000 instructions a message (callgrind). Secrets (the network key) use libsodium's,
// whose time does not depend on the bytes: a table lookup would leak them through the cache.
// Both accept exactly the canonical text: the alphabet only, no padding, nothing left over,
// the unused low bits of the last character zero (tests/unit/crypto/base64url_test.cpp checks
// them against each other).
#include <sodium.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace p2pchat::crypto {

// The length of the text of `n` bytes.
constexpr std::size_t base64url_length(std::size_t n) { return (n * 4 + 2) / 3; }

// Whether every character of `text` is in the base64url alphabet.
bool in_base64url_alphabet(std::string_view text);
// Writes the base64url_length(n) characters of `bytes` at `out`.
void encode_base64url(unsigned char const* bytes, std::size_t n, char* out);
// Exactly n bytes from canonical text into `out`; false (out unspecified) for anything else.
bool decode_base64url(std::string_view text, unsigned char* out, std::size_t n);

template <std::size_t N>
std::string to_base64url(std::array<unsigned char, N> const& bytes) {
    std::string out(base64url_length(N), '\0');
    encode_base64url(bytes.data(), N, out.data());
    return out;
}

// Exactly N bytes in canonical text, or nothing.
template <std::size_t N>
std::optional<std::array<unsigned char, N>> from_base64url(std::string_view text) {
    std::array<unsigned char, N> out;
    if (!decode_base64url(text, out.data(), N)) return std::nullopt;
    return out;
}

// The same, in time that does not depend on the bytes (libsodium): for secrets.
template <std::size_t N>
std::string secret_to_base64url(std::array<unsigned char, N> const& bytes) {
    constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string out(sodium_base64_encoded_len(N, variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), N, variant);
    out.pop_back();  // the terminating NUL
    return out;
}

template <std::size_t N>
std::optional<std::array<unsigned char, N>> secret_from_base64url(std::string_view text) {
    constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    if (text.size() + 1 != sodium_base64_encoded_len(N, variant)) return std::nullopt;
    // libsodium 1.0.18 takes some bytes above 127 for letters of the alphabet; they are
    // refused here, in one pass without a branch on any byte.
    unsigned char high = 0;
    for (char c : text) high |= static_cast<unsigned char>(c);
    if ((high & 0x80) != 0) return std::nullopt;
    std::array<unsigned char, N> out;
    std::size_t length = 0;
    char const* end = nullptr;
    if (sodium_base642bin(out.data(), N, text.data(), text.size(), nullptr, &length, &end,
                          variant) != 0 ||
        length != N || end != text.data() + text.size())
        return std::nullopt;
    return out;
}

}  // namespace p2pchat::crypto
