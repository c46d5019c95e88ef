#pragma once
// Keys, signatures and chain values travel as unpadded base64url text (RFC 4648 §5): the
// shared encoding of common/crypto/signatures and common/invite, by libsodium.
#include <sodium.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace p2pchat::crypto {

template <std::size_t N>
std::string to_base64url(std::array<unsigned char, N> const& bytes) {
    constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    std::string out(sodium_base64_encoded_len(N, variant), '\0');
    sodium_bin2base64(out.data(), out.size(), bytes.data(), N, variant);
    out.pop_back();  // the terminating NUL
    return out;
}

// Exactly N bytes in canonical text (no padding, nothing left over), or nothing.
template <std::size_t N>
std::optional<std::array<unsigned char, N>> from_base64url(std::string_view text) {
    constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    if (text.size() + 1 != sodium_base64_encoded_len(N, variant)) return std::nullopt;
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
