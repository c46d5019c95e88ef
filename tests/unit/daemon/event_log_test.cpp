// event_log: numbers that go on from an earlier run (restore, resume_numbering), with gaps,
// and what readers find after a number.
#include "daemon/event_log.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon/options.hpp"

namespace p2pchat::daemon {
namespace {

engine::node_event chat(std::uint64_t seq) {
    wire::chat_msg m;
    m.origin = std::string(64, 'a');
    m.seq = seq;
    return engine::message_arrived{m, false, false};
}

std::vector<std::uint64_t> seqs(std::vector<logged_event const*> const& v) {
    std::vector<std::uint64_t> out;
    for (auto const* e : v) out.push_back(e->seq);
    return out;
}

TEST(EventLog, RestoredEventsKeepTheirNumbersAndNewOnesGoOnAfterTheReservation) {
    event_log log;
    log.restore(5, 1000, chat(1));
    log.restore(9, 2000, chat(2));
    log.restore(7, 3000, chat(3));  // lower than the last: ignored, numbers only go up
    log.resume_numbering(20);
    log.append(chat(4));
    EXPECT_EQ(log.last_seq(), 21u);
    EXPECT_EQ(log.first_seq(), 5u);
    EXPECT_EQ(seqs(log.after(0, 10)), (std::vector<std::uint64_t>{5, 9, 21}));
    EXPECT_EQ(seqs(log.after(5, 10)), (std::vector<std::uint64_t>{9, 21}));
    EXPECT_EQ(seqs(log.after(6, 1)), (std::vector<std::uint64_t>{9}));
    EXPECT_EQ(seqs(log.after(21, 10)), (std::vector<std::uint64_t>{}));
    EXPECT_EQ(log.after(5, 1).front()->body().at("time_ms").as_int64(), 2000);
    log.resume_numbering(3);  // never lower
    log.append(chat(5));
    EXPECT_EQ(log.last_seq(), 22u);
}

TEST(EventLog, DiscardedThroughSaysWhatAReaderMissed) {
    event_log log(2);
    log.restore(10, 1, chat(1));
    log.append(chat(2));
    EXPECT_EQ(log.discarded_through(), 0u);
    log.append(chat(3));
    EXPECT_EQ(log.discarded_through(), 10u);
    EXPECT_EQ(seqs(log.after(0, 10)), (std::vector<std::uint64_t>{11, 12}));
}

// The default size (options.hpp) holds the longest backlog a client may ask for, 10 000
// events, of long chat lines, and what a restart replays; and it is a bound: a stream of
// short lines does not make the log hold more than its bytes.
TEST(EventLog, TheDefaultSizeHoldsTheLongestBacklogAndBoundsTheRest) {
    event_log log(1'000'000, options{}.event_log_bytes);
    for (std::uint64_t i = 1; i <= 10'000; ++i) {
        wire::chat_msg m;
        m.origin = std::string(64, 'a');
        m.seq = i;
        m.name = "a screen name";
        m.text = std::string(1000, 't');
        log.append(engine::message_arrived{m, false, false});
    }
    EXPECT_EQ(log.discarded_through(), 0u);
    EXPECT_EQ(log.newest(10'000, false).size(), 10'000u);

    for (std::uint64_t i = 1; i <= 100'000; ++i) log.append(chat(i));
    EXPECT_GT(log.discarded_through(), 10'000u);
    std::size_t held = 0;
    for (auto const* e : log.after(0, 1'000'000, true)) held += e->line->size();
    EXPECT_LE(held, options{}.event_log_bytes);
    EXPECT_GT(held, options{}.event_log_bytes / 2);
}

}  // namespace
}  // namespace p2pchat::daemon
