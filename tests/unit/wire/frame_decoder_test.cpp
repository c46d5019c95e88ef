#include "common/wire/frame_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace p2pchat::wire {
namespace {

std::string header(std::uint32_t n) {
    std::string h(4, '\0');
    h[0] = static_cast<char>((n >> 24) & 0xff);
    h[1] = static_cast<char>((n >> 16) & 0xff);
    h[2] = static_cast<char>((n >> 8) & 0xff);
    h[3] = static_cast<char>(n & 0xff);
    return h;
}

std::vector<std::string> drain(frame_decoder& d) {
    std::vector<std::string> out;
    while (auto f = d.next()) out.push_back(*f);
    return out;
}

TEST(EncodeFrame, PrependsBigEndianLength) {
    EXPECT_EQ(encode_frame("abc"), std::string("\0\0\0\3abc", 7));
    std::string const payload(0x010203, 'x');
    std::string const framed = encode_frame(payload);
    ASSERT_EQ(framed.size(), payload.size() + 4);
    EXPECT_EQ(framed.substr(0, 4), std::string("\x00\x01\x02\x03", 4));
    EXPECT_EQ(framed.substr(4), payload);
}

TEST(FrameDecoder, EmptyDecoderHasNothing) {
    frame_decoder d;
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::none);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, OneWholeFrame) {
    frame_decoder d;
    d.feed(encode_frame(R"({"v":1})"));
    auto f = d.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, R"({"v":1})");
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::none);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, PayloadMayHoldAnyByteIncludingNul) {
    std::string payload("a\0b\xff\n", 5);
    frame_decoder d;
    d.feed(encode_frame(payload));
    auto f = d.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, payload);
}

TEST(FrameDecoder, SeveralFramesInOneFeed) {
    std::vector<std::string> const payloads = {"a", "bb", std::string(300, 'c'), "dddd"};
    std::string stream;
    for (auto const& p : payloads) stream += encode_frame(p);
    frame_decoder d;
    d.feed(stream);
    EXPECT_EQ(drain(d), payloads);
    EXPECT_EQ(d.buffered(), 0u);
    EXPECT_EQ(d.error(), frame_error::none);
}

// The property that matters for TCP: however the stream is cut, the same frames come out.
TEST(FrameDecoder, StreamSplitAtEveryByteBoundary) {
    std::vector<std::string> const payloads = {"first", std::string(257, 'x'), "3", "last one"};
    std::string stream;
    for (auto const& p : payloads) stream += encode_frame(p);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        frame_decoder d;
        std::vector<std::string> got;
        d.feed(std::string_view(stream).substr(0, cut));
        for (auto& f : drain(d)) got.push_back(std::move(f));
        d.feed(std::string_view(stream).substr(cut));
        for (auto& f : drain(d)) got.push_back(std::move(f));
        EXPECT_EQ(got, payloads) << "cut at " << cut;
        EXPECT_EQ(d.buffered(), 0u) << "cut at " << cut;
        EXPECT_EQ(d.error(), frame_error::none);
    }
}

TEST(FrameDecoder, StreamFedOneByteAtATime) {
    std::vector<std::string> const payloads = {"alpha", "b", std::string(1000, 'z'), "omega"};
    std::string stream;
    for (auto const& p : payloads) stream += encode_frame(p);
    frame_decoder d;
    std::vector<std::string> got;
    for (char c : stream) {
        d.feed(std::string_view(&c, 1));
        for (auto& f : drain(d)) got.push_back(std::move(f));
    }
    EXPECT_EQ(got, payloads);
    EXPECT_EQ(d.buffered(), 0u);
}

TEST(FrameDecoder, PartialFrameWaitsAndReportsBuffered) {
    std::string const framed = encode_frame("hello");
    frame_decoder d;
    d.feed(framed.substr(0, 3));
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::none);
    EXPECT_EQ(d.buffered(), 3u);
    d.feed(framed.substr(3, 4));
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.buffered(), 7u);
    d.feed(framed.substr(7));
    auto f = d.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, "hello");
}

TEST(FrameDecoder, ZeroLengthFrameIsAnError) {
    frame_decoder d;
    d.feed(header(0));
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::empty_frame);
}

TEST(FrameDecoder, ZeroLengthFrameAfterAGoodOne) {
    frame_decoder d;
    d.feed(encode_frame("ok") + header(0) + encode_frame("never"));
    auto f = d.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, "ok");
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::empty_frame);
}

TEST(FrameDecoder, FrameAtTheLimitIsAccepted) {
    frame_decoder d(16);
    std::string const payload(16, 'q');
    d.feed(encode_frame(payload));
    auto f = d.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(*f, payload);
}

TEST(FrameDecoder, FrameOverTheLimitIsRejectedFromTheHeaderAlone) {
    frame_decoder d(16);
    d.feed(header(17));  // no payload yet: the decoder must not wait for 17 bytes
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::frame_too_large);
}

TEST(FrameDecoder, DefaultLimitIsOneMebibyte) {
    EXPECT_EQ(default_frame_limit, 1048576u);
    {
        frame_decoder d;
        d.feed(header(1048576));
        EXPECT_FALSE(d.next());
        EXPECT_EQ(d.error(), frame_error::none);  // legal, just incomplete
    }
    {
        frame_decoder d;
        d.feed(header(1048577));
        EXPECT_FALSE(d.next());
        EXPECT_EQ(d.error(), frame_error::frame_too_large);
    }
    {
        frame_decoder d;
        d.feed(header(0xffffffffu));
        EXPECT_FALSE(d.next());
        EXPECT_EQ(d.error(), frame_error::frame_too_large);
    }
}

TEST(FrameDecoder, HeaderBytesAreUnsigned) {
    // 0x00 0x00 0x00 0x80 is 128, not a negative number.
    frame_decoder d(1000);
    std::string const payload(128, 'p');
    d.feed(header(128) + payload);
    auto f = d.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->size(), 128u);
}

TEST(FrameDecoder, ErrorIsSticky) {
    frame_decoder d(8);
    d.feed(encode_frame("123456789"));
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::frame_too_large);
    d.feed(encode_frame("ok"));
    EXPECT_FALSE(d.next());
    EXPECT_EQ(d.error(), frame_error::frame_too_large);
}

TEST(FrameDecoder, LongLivedStreamDoesNotAccumulate) {
    frame_decoder d;
    std::string const framed = encode_frame(std::string(100, 'm'));
    for (int i = 0; i < 1000; ++i) {
        d.feed(framed);
        auto f = d.next();
        ASSERT_TRUE(f);
        ASSERT_EQ(f->size(), 100u);
    }
    EXPECT_EQ(d.buffered(), 0u);
    // Now the buffer never empties exactly: half a frame always stays behind.
    d.feed(framed.substr(0, 50));
    for (int i = 0; i < 1000; ++i) {
        d.feed(framed.substr(50));
        d.feed(framed.substr(0, 50));
        auto f = d.next();
        ASSERT_TRUE(f);
        ASSERT_EQ(*f, std::string(100, 'm'));
        ASSERT_EQ(d.buffered(), 50u);
    }
}

}  // namespace
}  // namespace p2pchat::wire
