// pending_index: the store's overlay index, by origin then seq.
#include "daemon/pending_index.hpp"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

namespace p2pchat::daemon {
namespace {

struct entry {
    int n = 0;
};

using visited = std::vector<std::tuple<std::string, std::uint64_t, int>>;

visited all(pending_index<entry> const& index) {
    visited out;
    index.for_each([&](std::string_view origin, std::uint64_t seq, entry const& e) {
        out.emplace_back(std::string(origin), seq, e.n);
    });
    return out;
}

TEST(PendingIndex, EntriesComeInOriginThenSeqOrderWhateverTheOrderTheyCameIn) {
    std::string const a(64, 'a'), b(64, 'b');
    entry e1{1}, e2{2}, e3{3}, e4{4};
    pending_index<entry> index;
    index.insert(b, 2, &e1);
    index.insert(a, 7, &e2);
    index.insert(b, 1, &e3);
    index.insert(a, 3, &e4);
    EXPECT_EQ(index.size(), 4u);
    EXPECT_EQ(all(index), (visited{{a, 3, 4}, {a, 7, 2}, {b, 1, 3}, {b, 2, 1}}));
    EXPECT_EQ(index.find(b, 1), &e3);
    EXPECT_EQ(index.find(b, 3), nullptr);
    EXPECT_EQ(index.find(std::string(64, 'c'), 1), nullptr);
    ASSERT_NE(index.seqs_of(a), nullptr);
    EXPECT_EQ(index.seqs_of(a)->begin()->first, 3u);
}

TEST(PendingIndex, AnIdHeldAlreadyKeepsItsFirstEntry) {
    std::string const a(64, 'a');
    entry e1{1}, e2{2};
    pending_index<entry> index;
    index.insert(a, 1, &e1);
    index.insert(a, 1, &e2);
    EXPECT_EQ(index.size(), 1u);
    EXPECT_EQ(index.find(a, 1), &e1);
}

// A later batch may hold the same id again: only the entry of the batch acknowledged goes.
TEST(PendingIndex, EraseDropsAnEntryOnlyIfItIsStillTheSameOne) {
    std::string const a(64, 'a'), b(64, 'b');
    entry e1{1}, e2{2}, e3{3};
    pending_index<entry> index;
    index.insert(a, 1, &e1);
    index.insert(b, 1, &e3);
    index.erase(a, 1, &e2);
    EXPECT_EQ(index.find(a, 1), &e1);
    index.erase(a, 1, &e1);
    EXPECT_EQ(index.find(a, 1), nullptr);
    EXPECT_EQ(index.seqs_of(a), nullptr) << "an origin with no entries left is dropped";
    EXPECT_EQ(index.size(), 1u);
    // The origin comes back after it was dropped (the remembered last one was forgotten).
    index.insert(a, 2, &e2);
    EXPECT_EQ(all(index), (visited{{a, 2, 2}, {b, 1, 3}}));
    index.erase(b, 1, &e3);
    index.erase(a, 2, &e2);
    EXPECT_TRUE(index.empty());
    EXPECT_TRUE(all(index).empty());
}

}  // namespace
}  // namespace p2pchat::daemon
