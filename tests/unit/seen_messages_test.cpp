#include "common/seen_messages.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace p2pchat {
namespace {

std::string const alice(64, 'a');
std::string const bob(64, 'b');

TEST(SeenMessages, NothingSeenAtFirst) {
    seen_messages s;
    EXPECT_FALSE(s.contains(alice, 1));
    EXPECT_EQ(s.watermark(alice), 0u);
}

TEST(SeenMessages, DuplicateIsRejected) {
    seen_messages s;
    EXPECT_TRUE(s.insert(alice, 1));
    EXPECT_TRUE(s.contains(alice, 1));
    EXPECT_FALSE(s.insert(alice, 1));
    EXPECT_FALSE(s.insert(alice, 1));
}

TEST(SeenMessages, SeqZeroIsNeverNew) {
    // Sequence numbers start at 1 (the codec refuses 0); 0 must not become deliverable.
    seen_messages s;
    EXPECT_FALSE(s.insert(alice, 0));
    EXPECT_TRUE(s.insert(alice, 1));
    EXPECT_FALSE(s.insert(alice, 0));
}

TEST(SeenMessages, InOrderAdvancesTheWatermark) {
    seen_messages s(4);
    for (std::uint64_t seq = 1; seq <= 1000; ++seq) {
        ASSERT_TRUE(s.insert(alice, seq));
        ASSERT_EQ(s.watermark(alice), seq);
    }
    for (std::uint64_t seq = 1; seq <= 1000; ++seq) ASSERT_FALSE(s.insert(alice, seq));
    EXPECT_FALSE(s.contains(alice, 1001));
}

TEST(SeenMessages, OutOfOrderIsAcceptedOnceAndGapsFillIn) {
    seen_messages s;
    EXPECT_TRUE(s.insert(alice, 3));
    EXPECT_EQ(s.watermark(alice), 0u);
    EXPECT_TRUE(s.contains(alice, 3));
    EXPECT_FALSE(s.contains(alice, 1));
    EXPECT_FALSE(s.contains(alice, 2));
    EXPECT_FALSE(s.insert(alice, 3));
    EXPECT_TRUE(s.insert(alice, 5));
    EXPECT_TRUE(s.insert(alice, 1));
    EXPECT_EQ(s.watermark(alice), 1u);
    EXPECT_TRUE(s.insert(alice, 2));
    EXPECT_EQ(s.watermark(alice), 3u);  // 3 was waiting
    EXPECT_FALSE(s.contains(alice, 4));
    EXPECT_TRUE(s.insert(alice, 4));
    EXPECT_EQ(s.watermark(alice), 5u);
    for (std::uint64_t seq = 1; seq <= 5; ++seq) EXPECT_FALSE(s.insert(alice, seq));
}

TEST(SeenMessages, ReverseOrder) {
    seen_messages s;
    for (std::uint64_t seq = 200; seq >= 1; --seq) ASSERT_TRUE(s.insert(alice, seq));
    EXPECT_EQ(s.watermark(alice), 200u);
}

TEST(SeenMessages, OriginsAreIndependent) {
    seen_messages s;
    EXPECT_TRUE(s.insert(alice, 1));
    EXPECT_TRUE(s.insert(bob, 1));
    EXPECT_TRUE(s.insert(alice, 2));
    EXPECT_FALSE(s.contains(bob, 2));
    EXPECT_EQ(s.watermark(alice), 2u);
    EXPECT_EQ(s.watermark(bob), 1u);
    EXPECT_FALSE(s.contains(std::string(64, 'c'), 1));
}

TEST(SeenMessages, GapCapGivesUpTheOldestGap) {
    seen_messages s(3);
    EXPECT_TRUE(s.insert(alice, 1));
    EXPECT_TRUE(s.insert(alice, 3));
    EXPECT_TRUE(s.insert(alice, 5));
    EXPECT_TRUE(s.insert(alice, 7));
    EXPECT_EQ(s.watermark(alice), 1u);  // three seqs above the watermark: at the cap
    EXPECT_TRUE(s.insert(alice, 9));    // a fourth: the gap at 2 is given up
    EXPECT_EQ(s.watermark(alice), 3u);
    EXPECT_TRUE(s.contains(alice, 2));
    EXPECT_FALSE(s.insert(alice, 2));  // treated as seen from now on
    EXPECT_FALSE(s.contains(alice, 4));
    EXPECT_TRUE(s.insert(alice, 4));  // later gaps still work and absorb what waits above
    EXPECT_EQ(s.watermark(alice), 5u);
    EXPECT_FALSE(s.insert(alice, 7));
    EXPECT_FALSE(s.insert(alice, 9));
}

TEST(SeenMessages, GapCapJumpAbsorbsContiguousRun) {
    seen_messages s(2);
    EXPECT_TRUE(s.insert(alice, 2));
    EXPECT_TRUE(s.insert(alice, 3));
    EXPECT_TRUE(s.insert(alice, 4));  // over the cap: watermark jumps to 2, then runs to 4
    EXPECT_EQ(s.watermark(alice), 4u);
    EXPECT_TRUE(s.insert(alice, 5));
    EXPECT_EQ(s.watermark(alice), 5u);
}

TEST(SeenMessages, DuplicateAboveWatermarkDoesNotTriggerTheCap) {
    seen_messages s(2);
    EXPECT_TRUE(s.insert(alice, 3));
    EXPECT_TRUE(s.insert(alice, 5));
    EXPECT_FALSE(s.insert(alice, 5));
    EXPECT_FALSE(s.insert(alice, 3));
    EXPECT_EQ(s.watermark(alice), 0u);
    EXPECT_TRUE(s.insert(alice, 1));
}

TEST(SeenMessages, CapBoundsTheWindowAndNeverDropsNewMessages) {
    // Every other message lost: the gap set stays at the cap while the watermark follows.
    seen_messages s(10);
    for (std::uint64_t seq = 2; seq <= 2000; seq += 2) ASSERT_TRUE(s.insert(alice, seq)) << seq;
    EXPECT_GE(s.watermark(alice), 2000u - 2 * 11);
    EXPECT_LT(s.watermark(alice), 2000u);
    for (std::uint64_t seq = 2; seq <= 2000; seq += 2) ASSERT_TRUE(s.contains(alice, seq)) << seq;
    EXPECT_FALSE(s.contains(alice, 2001));
    EXPECT_TRUE(s.insert(alice, 2001));
}

// With a cap that is never reached, it behaves exactly like a set of (origin, seq).
TEST(SeenMessages, RestartedOriginFarAheadStartsANewRun) {
    // A restarted origin numbers from its start time; its first message must not wait in
    // the gap set behind thousands of seqs that will never come.
    seen_messages s;
    for (std::uint64_t seq = 1; seq <= 3; ++seq) ASSERT_TRUE(s.insert(alice, seq));
    EXPECT_TRUE(s.insert(alice, 3 + seen_messages::new_run_distance)) << "a gap, not a new run";
    EXPECT_EQ(s.watermark(alice), 3u);
    std::uint64_t const restart = 1'795'647'500'861'000;
    EXPECT_TRUE(s.insert(alice, restart));
    EXPECT_EQ(s.watermark(alice), restart);
    EXPECT_FALSE(s.insert(alice, restart));
    EXPECT_TRUE(s.insert(alice, restart + 1));
    EXPECT_EQ(s.watermark(alice), restart + 1);
    EXPECT_FALSE(s.insert(alice, 2)) << "the old run stays seen";
}

TEST(SeenMessages, MatchesAnExactSetUnderTheCap) {
    std::mt19937 rng(7);
    seen_messages s;
    std::map<std::string, std::set<std::uint64_t>> reference;
    std::vector<std::string> const origins = {alice, bob, std::string(64, 'c')};
    for (int i = 0; i < 20000; ++i) {
        auto const& origin = origins[rng() % origins.size()];
        std::uint64_t const seq = 1 + rng() % 700;
        bool const fresh = reference[origin].insert(seq).second;
        ASSERT_EQ(s.insert(origin, seq), fresh) << origin.front() << ":" << seq;
    }
    for (auto const& origin : origins) {
        auto const& seen = reference[origin];
        std::uint64_t contiguous = 0;
        while (seen.contains(contiguous + 1)) ++contiguous;
        EXPECT_EQ(s.watermark(origin), contiguous);
        for (std::uint64_t seq = 1; seq <= 701; ++seq)
            ASSERT_EQ(s.contains(origin, seq), seen.contains(seq)) << seq;
    }
}

// Followed: an origin with a watermark, or one started (from its first message, watermark 0).
// One seen only above a gap is not: a sync gives it the origin's newcomer window.
TEST(SeenMessages, AnOriginStartedAtItsFirstMessageIsFollowedWithNothingHeld) {
    seen_messages s;
    s.insert(bob, 5);
    EXPECT_FALSE(s.follows(bob));
    s.start_at(alice, 1);
    EXPECT_TRUE(s.follows(alice));
    EXPECT_EQ(s.watermark(alice), 0u);
    EXPECT_FALSE(s.contains(alice, 1));
    std::map<std::string, std::uint64_t> followed;
    s.for_each_followed([&](std::string const& o, std::uint64_t w) { followed[o] = w; });
    EXPECT_EQ(followed, (std::map<std::string, std::uint64_t>{{alice, 0}}));

    s.start_at(alice, 40);  // followed already: a later start moves nothing
    EXPECT_EQ(s.watermark(alice), 0u);
    EXPECT_FALSE(s.contains(alice, 39));
    s.start_at(bob, 3);  // seen above a gap only: it starts, and 5 waits above 3
    EXPECT_TRUE(s.follows(bob));
    EXPECT_EQ(s.watermark(bob), 2u);
    EXPECT_TRUE(s.insert(bob, 3));
    EXPECT_TRUE(s.insert(bob, 4));
    EXPECT_EQ(s.watermark(bob), 5u);
}

}  // namespace
}  // namespace p2pchat
