#include "common/text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace p2pchat {
namespace {

// UTF-8 encoding of a code point, written from the standard's table (no validity checks,
// so it also produces the encodings of surrogates).
std::string encode(std::uint32_t cp) {
    std::string out;
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
    return out;
}

bool is_scalar(std::uint32_t cp) { return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff); }

// An independent oracle for one multi-byte sequence: it is valid exactly when it is the
// (unique, shortest) encoding of the scalar value its payload bits spell.
bool is_one_encoded_scalar(std::string const& bytes) {
    static constexpr std::uint32_t lead_mask[] = {0, 0, 0x1f, 0x0f, 0x07};
    std::uint32_t cp = static_cast<unsigned char>(bytes[0]) & lead_mask[bytes.size()];
    for (std::size_t i = 1; i < bytes.size(); ++i)
        cp = (cp << 6) | (static_cast<unsigned char>(bytes[i]) & 0x3f);
    return is_scalar(cp) && encode(cp) == bytes;
}

TEST(Utf8, EveryScalarValueIsValidAndSurrogatesAreNot) {
    for (std::uint32_t cp = 0; cp <= 0x10ffff; ++cp)
        ASSERT_EQ(is_valid_utf8(encode(cp)), is_scalar(cp)) << std::hex << "U+" << cp;
}

TEST(Utf8, EveryTwoByteSequence) {
    for (unsigned b0 = 0; b0 < 256; ++b0) {
        for (unsigned b1 = 0; b1 < 256; ++b1) {
            std::string const s{static_cast<char>(b0), static_cast<char>(b1)};
            bool const want = (b0 < 0x80 && b1 < 0x80) || is_one_encoded_scalar(s);
            ASSERT_EQ(is_valid_utf8(s), want) << std::hex << b0 << " " << b1;
        }
    }
}

TEST(Utf8, EveryThreeByteSequenceWithAThreeByteOrLongerLead) {
    for (unsigned b0 = 0xe0; b0 < 256; ++b0) {
        for (unsigned b1 = 0; b1 < 256; ++b1) {
            for (unsigned b2 = 0; b2 < 256; ++b2) {
                std::string const s{static_cast<char>(b0), static_cast<char>(b1),
                                    static_cast<char>(b2)};
                ASSERT_EQ(is_valid_utf8(s), is_one_encoded_scalar(s))
                    << std::hex << b0 << " " << b1 << " " << b2;
            }
        }
    }
}

TEST(Utf8, FourByteSequences) {
    // Every lead from F0 and every second byte, with boundary and off-pattern tail bytes.
    unsigned const tails[] = {0x00, 0x41, 0x7f, 0x80, 0x81, 0x9f, 0xa0, 0xbe, 0xbf, 0xc0, 0xff};
    for (unsigned b0 = 0xf0; b0 < 256; ++b0)
        for (unsigned b1 = 0; b1 < 256; ++b1)
            for (unsigned b2 : tails)
                for (unsigned b3 : tails) {
                    std::string const s{static_cast<char>(b0), static_cast<char>(b1),
                                        static_cast<char>(b2), static_cast<char>(b3)};
                    ASSERT_EQ(is_valid_utf8(s), is_one_encoded_scalar(s))
                        << std::hex << b0 << " " << b1 << " " << b2 << " " << b3;
                }
}

TEST(Utf8, KnownCases) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii\n\t"));
    EXPECT_TRUE(is_valid_utf8(std::string("nul\0inside", 10)));
    EXPECT_TRUE(is_valid_utf8("Grüße, мир, 世界, 🎉"));
    EXPECT_TRUE(is_valid_utf8("\xef\xbb\xbf"));       // BOM is a scalar value
    EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // U+110000
    EXPECT_FALSE(is_valid_utf8("\xc0\x80"));          // overlong NUL
    EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));      // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xf0\x82\x82\xac"));  // overlong euro sign
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // U+D800
    EXPECT_FALSE(is_valid_utf8("\xed\xbf\xbf"));      // U+DFFF
    EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
    EXPECT_FALSE(is_valid_utf8("abc\xe2\x82"));       // truncated at the end
    EXPECT_FALSE(
        is_valid_utf8("\xe2\x82"
                      "abc"));                            // truncated in the middle
    EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));  // five-byte form
    EXPECT_FALSE(is_valid_utf8("\xfe\xff"));
    EXPECT_FALSE(is_valid_utf8("ok then \xff"));
}

TEST(Utf8, NeverReadsPastTheView) {
    // Every proper prefix of a multi-byte sequence is truncated, even when the bytes that
    // would complete it sit right after the view in memory.
    for (std::string const whole : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8e\x89"}) {
        std::string_view const all(whole);
        EXPECT_TRUE(is_valid_utf8(all));
        for (std::size_t n = 1; n < whole.size(); ++n)
            EXPECT_FALSE(is_valid_utf8(all.substr(0, n))) << whole.size() << " bytes cut to " << n;
    }
}

TEST(Name, Lengths) {
    EXPECT_EQ(max_name_bytes, 64u);
    EXPECT_FALSE(is_valid_name(""));
    EXPECT_TRUE(is_valid_name("a"));
    EXPECT_TRUE(is_valid_name(std::string(64, 'a')));
    EXPECT_FALSE(is_valid_name(std::string(65, 'a')));
    std::string check_marks;
    for (int i = 0; i < 21; ++i) check_marks += "✓";  // 63 bytes
    EXPECT_TRUE(is_valid_name(check_marks + "a"));
    EXPECT_FALSE(is_valid_name(check_marks + "✓"));  // 66 bytes, 22 characters: bytes count
}

TEST(Name, NoControlCharacters) {
    for (std::uint32_t cp = 0; cp < 0x20; ++cp)
        EXPECT_FALSE(is_valid_name("a" + encode(cp) + "b")) << "U+" << std::hex << cp;
    EXPECT_FALSE(is_valid_name("a\x7f"));
    EXPECT_FALSE(is_valid_name("\x1b[31mred"));
    // C1 controls are control characters too (U+009B is a terminal CSI).
    for (std::uint32_t cp = 0x80; cp < 0xa0; ++cp)
        EXPECT_FALSE(is_valid_name("a" + encode(cp) + "b")) << "U+" << std::hex << cp;
    EXPECT_TRUE(is_valid_name("a" + encode(0xa0) + "b"));
    EXPECT_TRUE(is_valid_name("with space"));
    EXPECT_TRUE(is_valid_name("Zoë 🎉"));
    EXPECT_TRUE(is_valid_name("~!@#$%^&*()"));
}

TEST(Name, MustBeValidUtf8) {
    EXPECT_FALSE(is_valid_name("bad\xff"));
    EXPECT_FALSE(is_valid_name("\xed\xa0\x80"));
    EXPECT_FALSE(is_valid_name("\xc3"));
}

TEST(Text, Limits) { EXPECT_EQ(max_text_bytes, 65536u); }

TEST(UserInput, ScreenNamesAreNotBlankOrPadded) {
    EXPECT_EQ(screen_name_problem("alice"), std::nullopt);
    EXPECT_EQ(screen_name_problem("Ada Lovelace"), std::nullopt);
    EXPECT_TRUE(screen_name_problem(""));
    EXPECT_TRUE(screen_name_problem("   "));
    EXPECT_TRUE(screen_name_problem(" alice"));
    EXPECT_TRUE(screen_name_problem("alice\t"));
    EXPECT_TRUE(screen_name_problem("a\x01"));
    EXPECT_TRUE(screen_name_problem(std::string(65, 'a')));
    EXPECT_TRUE(screen_name_problem("\xff"));
}

TEST(UserInput, MessagesAreNotBlank) {
    EXPECT_EQ(message_problem("hi"), std::nullopt);
    EXPECT_EQ(message_problem("  indented"), std::nullopt);
    EXPECT_EQ(message_problem(""), std::optional<std::string>("message is empty"));
    EXPECT_EQ(message_problem(" \t "), std::optional<std::string>("message is blank"));
    EXPECT_TRUE(message_problem(std::string(max_text_bytes + 1, 'x')));
    EXPECT_EQ(message_problem(std::string(max_text_bytes, 'x')), std::nullopt);
    EXPECT_TRUE(message_problem("\xc3"));
}

}  // namespace
}  // namespace p2pchat
