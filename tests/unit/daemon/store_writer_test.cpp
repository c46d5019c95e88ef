// store_writer: retention by count, which the writer runs on its own. A stream's
// transactions prune only what goes over twice the limit; the idle writer prunes back to the
// limit in bounded steps, one transaction each. Real SQLite files in a temporary directory.
#include "daemon/store_writer.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace p2pchat::daemon {
namespace {

std::string const author(64, 'a');

// Messages from..to of one author, in one batch.
std::shared_ptr<write_batch> batch_of(std::uint64_t number, std::uint64_t from, std::uint64_t to) {
    auto batch = std::make_shared<write_batch>();
    batch->number = number;
    for (auto seq = from; seq <= to; ++seq)
        batch->messages.push_back({.origin = author,
                                   .seq = seq,
                                   .lamport = seq,
                                   .time_ms = 1,
                                   .name = batch->text.keep("alice"),
                                   .text = batch->text.keep("m" + std::to_string(seq)),
                                   .chain = batch->text.keep("c" + std::to_string(seq)),
                                   .arrived_ms = 1});
    return batch;
}

struct outcome {
    std::uint64_t pruned = 0, count = 0;
    bool operator==(outcome const&) const = default;
};
std::ostream& operator<<(std::ostream& os, outcome const& o) {
    return os << "{pruned " << o.pruned << ", count " << o.count << "}";
}

class StoreWriter : public ::testing::Test {
  protected:
    std::unique_ptr<store_writer> open(std::uint64_t max_messages) {
        auto writer = std::make_unique<store_writer>(
            dir_.path() / "history.db",
            retention{.max_messages = max_messages, .max_age = std::chrono::days(0)});
        writer->start({});
        return writer;
    }
    // What each transaction since the last call did; every one committed.
    static std::vector<outcome> outcomes(store_writer& writer) {
        writer.wait_idle();
        std::vector<outcome> out;
        for (auto const& o : writer.take_outcomes()) {
            EXPECT_TRUE(o.committed);
            out.push_back({o.pruned, o.message_count});
        }
        return out;
    }
    test::temp_dir dir_;
};

TEST_F(StoreWriter, AStreamPrunesOnlyBeyondTwiceTheLimitAndTheIdleWriterTheRest) {
    auto writer = open(100);
    writer->push(batch_of(1, 1, 150));
    EXPECT_EQ(outcomes(*writer), (std::vector<outcome>{{0, 150}, {50, 100}}))
        << "under twice the limit, the write deletes nothing; then a step when idle";
    writer->push(batch_of(2, 151, 450));
    EXPECT_EQ(outcomes(*writer), (std::vector<outcome>{{200, 200}, {100, 100}}))
        << "over twice the limit, the write itself goes back to twice the limit";
}

TEST_F(StoreWriter, ALoweredLimitIsReachedInBoundedSteps) {
    auto const n = 2 * store_writer::prune_step + 150;
    {
        auto writer = open(0);
        writer->push(batch_of(1, 1, n));
        EXPECT_EQ(outcomes(*writer), (std::vector<outcome>{{0, n}}));
    }
    auto writer = open(100);
    EXPECT_EQ(outcomes(*writer),
              (std::vector<outcome>{{store_writer::prune_step, n - store_writer::prune_step},
                                    {store_writer::prune_step, 150},
                                    {50, 100}}));
}

TEST_F(StoreWriter, NoLimitNeverPrunes) {
    auto writer = open(0);
    writer->push(batch_of(1, 1, 300));
    writer->push(batch_of(2, 301, 600));
    auto const all = outcomes(*writer);
    ASSERT_FALSE(all.empty());
    for (auto const& o : all) EXPECT_EQ(o.pruned, 0u);
    EXPECT_EQ(all.back().count, 600u);
}

}  // namespace
}  // namespace p2pchat::daemon
