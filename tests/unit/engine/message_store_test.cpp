// memory_store: the newest messages, oldest first, within a count and a byte budget.
#include "common/engine/message_store.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <vector>

#include "tests/unit/engine/property.hpp"

namespace p2pchat::engine {
namespace {

wire::chat_msg message(std::uint64_t seq, std::size_t text_bytes = 5) {
    return {std::string(64, 'a'),         seq, seq, 1000 + static_cast<std::int64_t>(seq), "alice",
            std::string(text_bytes, 'x'), {}};
}

std::vector<std::uint64_t> seqs(std::vector<wire::chat_msg> const& v) {
    std::vector<std::uint64_t> out;
    for (auto const& c : v) out.push_back(c.seq);
    return out;
}

TEST(MessageStore, ApproxSizeCountsTextNameAndRoomForTheRest) {
    auto const m = message(1, 100);
    EXPECT_EQ(approx_size(m), 100 + 5 + 200u);
}

// The byte budget of a welcome's history is in frame bytes: text and name count as JSON
// writes them, so the budget holds whatever characters they contain.
TEST(MessageStore, ApproxSizeCountsTheBytesJsonWrites) {
    auto with_text = [](std::string text) {
        auto m = message(1);
        m.text = std::move(text);
        return m;
    };
    auto const plain = with_text("x");
    for (std::string const& text :
         {std::string("plain"), std::string("\x01\x02\x1f"), std::string("tab\tnew\nline\r"),
          std::string("\b\f"), std::string("\"quoted\" \\ back"),
          std::string("h\xc3\xa9llo \xf0\x9f\x91\x8b"), std::string("\x7f/")}) {
        auto const m = with_text(text);
        EXPECT_EQ(approx_size(m) - approx_size(plain),
                  wire::encode(m).size() - wire::encode(plain).size())
            << text;
    }
    auto named = message(1);
    named.name = "\"q\"";
    EXPECT_EQ(approx_size(named) - approx_size(message(1)),
              wire::encode(named).size() - wire::encode(message(1)).size());
    // Room for the rest: ids, numbers and keys of a message with the largest numbers.
    auto big = message(1);
    big.seq = big.lamport = UINT64_MAX;
    big.time_ms = INT64_MAX;
    wire::welcome_msg without{
        {std::string(64, 'b'), "bob", "127.0.0.1:7447", 1, {}, {}}, {}, {}, {}, {}};
    wire::welcome_msg with = without;
    with.history.push_back(big);
    EXPECT_LE(wire::encode(with).size() - wire::encode(without).size(), approx_size(big));
}

TEST(MessageStore, EmptyStoreHasNothing) {
    memory_store s(10);
    EXPECT_EQ(s.size(), 0u);
    EXPECT_TRUE(s.newest(50, 1 << 20).empty());
}

TEST(MessageStore, NewestAreTheLastOnesOldestFirst) {
    memory_store s(100);
    for (std::uint64_t i = 1; i <= 10; ++i) s.append(message(i));
    EXPECT_EQ(seqs(s.newest(3, 1 << 20)), (std::vector<std::uint64_t>{8, 9, 10}));
    EXPECT_EQ(seqs(s.newest(50, 1 << 20)).size(), 10u);
    EXPECT_EQ(seqs(s.newest(50, 1 << 20)).front(), 1u);
    EXPECT_TRUE(s.newest(0, 1 << 20).empty());
}

TEST(MessageStore, CapacityDropsTheOldest) {
    memory_store s(4);
    for (std::uint64_t i = 1; i <= 10; ++i) s.append(message(i));
    EXPECT_EQ(s.size(), 4u);
    EXPECT_EQ(seqs(s.newest(50, 1 << 20)), (std::vector<std::uint64_t>{7, 8, 9, 10}));
}

TEST(MessageStore, ZeroCapacityKeepsNothing) {
    memory_store s(0);
    s.append(message(1));
    EXPECT_EQ(s.size(), 0u);
    EXPECT_TRUE(s.newest(50, 1 << 20).empty());
}

TEST(MessageStore, ByteBudgetStopsAtTheFirstMessageThatDoesNotFit) {
    memory_store s(100);
    for (std::uint64_t i = 1; i <= 10; ++i) s.append(message(i, 95));            // 300 bytes each
    EXPECT_EQ(seqs(s.newest(50, 900)), (std::vector<std::uint64_t>{8, 9, 10}));  // exactly
    EXPECT_EQ(seqs(s.newest(50, 899)), (std::vector<std::uint64_t>{9, 10}));
    EXPECT_TRUE(s.newest(50, 299).empty());  // not even the newest fits
    // The budget never skips a large message to take older small ones: the window is
    // contiguous, so a newcomer's history has no holes.
    s.append(message(11, 5000));
    s.append(message(12, 95));
    EXPECT_EQ(seqs(s.newest(50, 1000)), (std::vector<std::uint64_t>{12}));
}

// Whatever the store holds, newest() is the longest suffix within both limits.
TEST(MessageStore, NewestIsTheLongestSuffixWithinBothLimits) {
    harness::check_property([] {
        auto const sizes =
            *rc::gen::container<std::vector<std::size_t>>(rc::gen::inRange<std::size_t>(1, 2000));
        auto const capacity = *rc::gen::inRange<std::size_t>(0, 40);
        auto const max_count = *rc::gen::inRange<std::size_t>(0, 60);
        auto const max_bytes = *rc::gen::inRange<std::size_t>(0, 20000);
        memory_store s(capacity);
        std::vector<wire::chat_msg> kept;
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            s.append(message(i + 1, sizes[i]));
            if (capacity > 0) kept.push_back(message(i + 1, sizes[i]));
            if (kept.size() > capacity) kept.erase(kept.begin());
        }
        RC_ASSERT(s.size() == kept.size());
        auto const got = s.newest(max_count, max_bytes);
        RC_ASSERT(got.size() <= max_count);
        RC_ASSERT(got.size() <= kept.size());
        // A suffix of what is kept, in order.
        RC_ASSERT(std::equal(got.begin(), got.end(), kept.end() - got.size()));
        std::size_t const bytes = std::accumulate(
            got.begin(), got.end(), std::size_t{0},
            [](std::size_t n, wire::chat_msg const& c) { return n + approx_size(c); });
        RC_ASSERT(bytes <= max_bytes);
        // Longest: one more (older) message would break a limit.
        if (got.size() < kept.size() && got.size() < max_count) {
            auto const& next = kept[kept.size() - got.size() - 1];
            RC_ASSERT(bytes + approx_size(next) > max_bytes);
        }
    });
}

}  // namespace
}  // namespace p2pchat::engine
