// memory_store: the newest messages in history order within a count and a byte budget, the
// ranges and seals a sync reads, the origins' tips and what a restart rebuilds from.
#include "common/engine/message_store.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <string>
#include <tuple>
#include <utility>
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
        {std::string(64, 'b'), "bob", "127.0.0.1:7447", 1, {}, {}}, {}, {}, {}, {}, {}};
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
    for (std::uint64_t i = 1; i <= 10; ++i) s.append(message(i), 0);
    EXPECT_EQ(seqs(s.newest(3, 1 << 20)), (std::vector<std::uint64_t>{8, 9, 10}));
    EXPECT_EQ(seqs(s.newest(50, 1 << 20)).size(), 10u);
    EXPECT_EQ(seqs(s.newest(50, 1 << 20)).front(), 1u);
    EXPECT_TRUE(s.newest(0, 1 << 20).empty());
}

TEST(MessageStore, CapacityDropsTheOldest) {
    memory_store s(4);
    for (std::uint64_t i = 1; i <= 10; ++i) s.append(message(i), 0);
    EXPECT_EQ(s.size(), 4u);
    EXPECT_EQ(seqs(s.newest(50, 1 << 20)), (std::vector<std::uint64_t>{7, 8, 9, 10}));
}

TEST(MessageStore, ZeroCapacityKeepsNothing) {
    memory_store s(0);
    s.append(message(1), 0);
    EXPECT_EQ(s.size(), 0u);
    EXPECT_TRUE(s.newest(50, 1 << 20).empty());
}

TEST(MessageStore, ByteBudgetStopsAtTheFirstMessageThatDoesNotFit) {
    memory_store s(100);
    for (std::uint64_t i = 1; i <= 10; ++i) s.append(message(i, 95), 0);         // 300 bytes each
    EXPECT_EQ(seqs(s.newest(50, 900)), (std::vector<std::uint64_t>{8, 9, 10}));  // exactly
    EXPECT_EQ(seqs(s.newest(50, 899)), (std::vector<std::uint64_t>{9, 10}));
    EXPECT_TRUE(s.newest(50, 299).empty());  // not even the newest fits
    // The budget never skips a large message to take older small ones: the window is
    // contiguous, so a newcomer's history has no holes.
    s.append(message(11, 5000), 0);
    s.append(message(12, 95), 0);
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
            s.append(message(i + 1, sizes[i]), 0);
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

wire::chat_msg from(char origin, std::uint64_t seq, std::uint64_t lamport) {
    auto m = message(seq);
    m.origin = std::string(64, origin);
    m.lamport = lamport;
    m.chain = std::string(43, static_cast<char>('A' + seq % 26));
    return m;
}

TEST(MessageStore, NewestIsInHistoryOrderLamportThenOrigin) {
    memory_store s(100);
    s.append(from('b', 1, 5), 0);
    s.append(from('a', 1, 5), 0);
    s.append(from('c', 1, 2), 0);
    s.append(from('a', 2, 9), 0);
    std::vector<std::pair<char, std::uint64_t>> order;
    for (auto const& m : s.newest(10, 1 << 20)) order.emplace_back(m.origin[0], m.seq);
    EXPECT_EQ(order, (std::vector<std::pair<char, std::uint64_t>>{
                         {'c', 1}, {'a', 1}, {'b', 1}, {'a', 2}}));
}

TEST(MessageStore, AppendingAHeldIdChangesNothing) {
    memory_store s(100);
    s.append(from('a', 1, 1), 0);
    auto again = from('a', 1, 7);
    again.text = "other";
    s.append(again, 0);
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(s.newest(10, 1 << 20).at(0).lamport, 1u);
}

TEST(MessageStore, RangeStartsAtTheFirstHeldAndStopsAtAGap) {
    memory_store s(100);
    for (std::uint64_t seq : {3, 4, 5, 7, 8}) s.append(from('a', seq, seq), 0);
    s.append(from('b', 1, 1), 0);
    EXPECT_EQ(seqs(s.range(std::string(64, 'a'), 1, 10, 1 << 20)),
              (std::vector<std::uint64_t>{3, 4, 5}));
    EXPECT_EQ(seqs(s.range(std::string(64, 'a'), 4, 10, 1 << 20)),
              (std::vector<std::uint64_t>{4, 5}));
    EXPECT_EQ(seqs(s.range(std::string(64, 'a'), 6, 10, 1 << 20)),
              (std::vector<std::uint64_t>{7, 8}));
    EXPECT_EQ(seqs(s.range(std::string(64, 'a'), 3, 2, 1 << 20)),
              (std::vector<std::uint64_t>{3, 4}));
    // The byte budget, but never less than one message.
    EXPECT_EQ(seqs(s.range(std::string(64, 'a'), 3, 10, 1)), (std::vector<std::uint64_t>{3}));
    EXPECT_TRUE(s.range(std::string(64, 'a'), 9, 10, 1 << 20).empty());
    EXPECT_TRUE(s.range(std::string(64, 'c'), 1, 10, 1 << 20).empty());
}

TEST(MessageStore, SealsChainsAndTips) {
    memory_store s(3);
    for (std::uint64_t seq = 1; seq <= 4; ++seq) {
        s.append(from('a', seq, seq), 0);
        s.append_seal({std::string(64, 'a'), seq, from('a', seq, seq).chain, "sig"});
    }
    auto const a = std::string(64, 'a');
    // Message 1 went with the capacity, and its seal with it.
    EXPECT_FALSE(s.chain_of(a, 1));
    EXPECT_EQ(s.chain_of(a, 2), from('a', 2, 2).chain);
    std::vector<std::uint64_t> sealed;
    for (auto const& seal : s.seals(a, 1, 3)) sealed.push_back(seal.seq);
    EXPECT_EQ(sealed, (std::vector<std::uint64_t>{2, 3}));
    EXPECT_TRUE(s.seals(std::string(64, 'b'), 1, 9).empty());
    // The tip stays whatever goes.
    EXPECT_EQ(s.tip_of(a), (chain_tip{4, from('a', 4, 4).chain}));
    EXPECT_FALSE(s.tip_of(std::string(64, 'b')));
}

TEST(MessageStore, ForEachIdVisitsByOriginThenSeq) {
    memory_store s(100);
    s.append(from('b', 2, 7), 0);
    s.append(from('a', 9, 1), 0);
    s.append(from('b', 1, 3), 0);
    std::vector<std::tuple<char, std::uint64_t, std::uint64_t>> seen;
    s.for_each_id([&](std::string_view origin, std::uint64_t seq, std::uint64_t lamport) {
        seen.emplace_back(origin[0], seq, lamport);
    });
    EXPECT_EQ(seen, (std::vector<std::tuple<char, std::uint64_t, std::uint64_t>>{
                        {'a', 9, 1}, {'b', 1, 3}, {'b', 2, 7}}));
}

}  // namespace
}  // namespace p2pchat::engine
