// The table-driven base64url codec for public values against libsodium's constant-time one
// (common/crypto/base64url.hpp): the same text for every byte string, and the same answer,
// accept with the same bytes or refuse, for every text tried.
#include "common/crypto/base64url.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <random>
#include <string>

namespace p2pchat::crypto {
namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

template <std::size_t N>
void encodes_as_libsodium(std::mt19937& random) {
    for (int round = 0; round < 2000; ++round) {
        std::array<unsigned char, N> bytes;
        for (auto& b : bytes) b = static_cast<unsigned char>(random());
        auto const text = to_base64url(bytes);
        ASSERT_EQ(text, secret_to_base64url(bytes));
        ASSERT_EQ(text.size(), base64url_length(N));
        ASSERT_EQ(from_base64url<N>(text), bytes) << text;
    }
}

// Both codecs on one text: both refuse it, or both accept it with the same bytes.
template <std::size_t N>
void decodes_as_libsodium(std::string const& text) {
    auto const fast = from_base64url<N>(text);
    auto const reference = secret_from_base64url<N>(text);
    ASSERT_EQ(fast.has_value(), reference.has_value()) << '"' << text << "\" N=" << N;
    if (fast) {
        ASSERT_EQ(*fast, *reference) << text;
    }
}

TEST(Base64url, EncodesEveryLengthAsLibsodium) {
    ASSERT_GE(sodium_init(), 0);
    std::mt19937 random(7);
    encodes_as_libsodium<1>(random);
    encodes_as_libsodium<2>(random);
    encodes_as_libsodium<3>(random);
    encodes_as_libsodium<4>(random);
    encodes_as_libsodium<32>(random);  // chain values, keys
    encodes_as_libsodium<64>(random);  // signatures
}

// The last character carries unused bits (two after 32 or 2 bytes, four after 64): every one
// of the 256 possible last bytes is tried, and only the canonical texts are accepted.
TEST(Base64url, AcceptsOnlyTheCanonicalLastCharacter) {
    ASSERT_GE(sodium_init(), 0);
    std::string const body32(42, 'A'), body64(85, 'x'), body2(2, 'Q');
    int accepted32 = 0;
    for (int c = 0; c < 256; ++c) {
        auto const last = std::string(1, static_cast<char>(c));
        decodes_as_libsodium<32>(body32 + last);
        decodes_as_libsodium<64>(body64 + last);
        decodes_as_libsodium<2>(body2 + last);
        accepted32 += from_base64url<32>(body32 + last).has_value();
    }
    EXPECT_EQ(accepted32, 16);  // the characters whose low two bits are zero
}

// libsodium 1.0.18 alone would take some bytes above 127 for letters (0xdd 0xb7 here, in a text
// it decodes to 32 bytes); both codecs refuse them.
TEST(Base64url, RefusesBytesAbove127) {
    ASSERT_GE(sodium_init(), 0);
    std::string const text = "jv3tpXu3JAmcNiKCVPo0T_RNMzKpnOikh\xdd\xb7sij_sQlI";
    EXPECT_FALSE(from_base64url<32>(text));
    EXPECT_FALSE(secret_from_base64url<32>(text));
    for (int c = 128; c < 256; ++c) {
        std::string const group = std::string("AAA") + static_cast<char>(c);
        EXPECT_FALSE(from_base64url<3>(group)) << c;
        EXPECT_FALSE(secret_from_base64url<3>(group)) << c;
    }
}

TEST(Base64url, RefusesWhatLibsodiumRefuses) {
    ASSERT_GE(sodium_init(), 0);
    std::mt19937 random(11);
    auto const valid = to_base64url(std::array<unsigned char, 32>{1, 2, 3});
    for (std::string const& text :
         {std::string(), valid + "=", valid.substr(1), valid + "A", "+" + valid.substr(1),
          valid.substr(0, 20) + "/" + valid.substr(21), valid.substr(0, 42) + "=",
          valid.substr(0, 10) + " " + valid.substr(11),
          valid.substr(0, 5) + '\0' + valid.substr(6)})
        decodes_as_libsodium<32>(text);
    // Random texts of the right length: mostly the alphabet, now and then any byte.
    for (int round = 0; round < 20000; ++round) {
        std::string text(base64url_length(32), 'A');
        for (auto& c : text)
            c = random() % 50 == 0 ? static_cast<char>(random())
                                   : alphabet[random() % alphabet.size()];
        decodes_as_libsodium<32>(text);
        if (text.find_first_not_of(alphabet) != std::string::npos) {
            ASSERT_FALSE(from_base64url<32>(text)) << text;
        }
        EXPECT_EQ(in_base64url_alphabet(text),
                  text.find_first_not_of(alphabet) == std::string::npos);
    }
}

}  // namespace
}  // namespace p2pchat::crypto
