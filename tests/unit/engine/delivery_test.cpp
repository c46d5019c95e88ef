// Delivery you can see (docs/PROTOCOL.md, "Delivery"): batched acks, the delivery tracker's
// settlements, and the delivered counts, on engines driven through the harness.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/engine/delivery_tracker.hpp"
#include "common/engine/node.hpp"
#include "tests/unit/engine/harness.hpp"

namespace p2pchat::engine {
namespace {

using namespace std::chrono_literals;
using harness::frame;
using harness::network;

struct delivery_test : ::testing::Test {
    network net;

    void TearDown() override {
        for (auto const& v : net.violations()) ADD_FAILURE() << v;
    }
    void mesh(std::string const& keys) { ASSERT_EQ(net.mesh(keys), "") << "did not join"; }
    static std::string nid(char k) { return harness::node_id(k); }
    // Acks delivered from `from` to `to` so far.
    std::size_t acks(char from, char to) const {
        std::size_t n = 0;
        for (auto const& d : net.delivered())
            if (auto const* h = std::get_if<wire::heads_msg>(&d.message))
                if (h->ack && d.from == nid(from) && d.to == nid(to)) ++n;
        return n;
    }
    // Which of `key`'s own messages its delivery events settled delivered, and which not.
    std::pair<std::uint64_t, std::uint64_t> settled(char key) const {
        std::uint64_t delivered = 0, missing = 0;
        for (auto const& d : net.at(key).events_of<message_delivery>())
            (d.delivered() ? delivered : missing) += d.seq - d.first_seq + 1;
        return {delivered, missing};
    }
};

TEST_F(delivery_test, AStreamIsAcknowledgedInBatchesAndDeliveredToAll) {
    mesh("abc");
    std::uint64_t first = 0, last = 0;
    constexpr int messages = 400;
    for (int i = 0; i < messages; ++i) {
        auto r = net.send('a', "m" + std::to_string(i));
        ASSERT_TRUE(r);
        if (first == 0) first = r->seq;
        last = r->seq;
        net.run();        // each message arrives in a turn of its own
        net.settle(1ms);  // a busy stream: one message a millisecond
    }
    net.settle(200ms);
    // One ack per ack_delay at most, not one per message: 400 ms of stream, 50 ms batches.
    for (char k : {'b', 'c'}) {
        EXPECT_GE(acks(k, 'a'), 1u) << k;
        EXPECT_LE(acks(k, 'a'), 12u) << k;
    }
    EXPECT_EQ(settled('a'), (std::pair<std::uint64_t, std::uint64_t>{messages, 0}));
    // Settled in runs: far fewer events than messages, in seq order.
    auto const events = net.at('a').events_of<message_delivery>();
    EXPECT_LE(events.size(), 30u);
    EXPECT_EQ(events.front().first_seq, first);
    EXPECT_EQ(events.back().seq, last);
    EXPECT_EQ(events.back().members, 2u);
    EXPECT_EQ(net.engine('a').delivered_count(nid('a'), last), 3u);
    EXPECT_FALSE(net.engine('a').delivery_of(last).has_value());
}

TEST_F(delivery_test, AMemberThatHasNotStoredItIsNamedUntilItHas) {
    mesh("abc");
    auto const to_c = [this](frame const& f) { return f.to == nid('c'); };
    auto r = net.send('a', "hello");
    ASSERT_TRUE(r);
    net.run_except(to_c);
    net.advance(100ms);  // b's ack timer fires
    net.run_except(to_c);
    auto status = net.engine('a').delivery_of(r->seq);
    ASSERT_TRUE(status);
    EXPECT_FALSE(status->settled);
    ASSERT_EQ(status->missing.size(), 1u);
    EXPECT_EQ(status->missing[0].id, nid('c'));
    EXPECT_FALSE(status->missing[0].removed);
    EXPECT_EQ(net.engine('a').delivered_count(nid('a'), r->seq), 2u);
    EXPECT_TRUE(net.at('a').events_of<message_delivery>().empty());
    // c gets it at last: its ack settles the message.
    net.run();
    net.settle(100ms);
    auto const events = net.at('a').events_of<message_delivery>();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0].delivered());
    EXPECT_EQ(events[0].first_seq, r->seq);
}

TEST_F(delivery_test, AMemberRemovedBeforeItStoredItIsNamedAsRemoved) {
    mesh("abc");
    net.crash('c');
    auto r = net.send('a', "to b and a dead c");
    ASSERT_TRUE(r);
    net.run();
    net.settle(100ms);
    EXPECT_TRUE(net.at('a').events_of<message_delivery>().empty());
    // The peer timeout (the detector is off here) removes c; the message settles then.
    for (int i = 0; i < 40 && net.at('a').events_of<message_delivery>().empty(); ++i)
        net.settle(1s);
    auto const events = net.at('a').events_of<message_delivery>();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_FALSE(events[0].delivered());
    ASSERT_EQ(events[0].missing.size(), 1u);
    EXPECT_EQ(events[0].missing[0].id, nid('c'));
    EXPECT_TRUE(events[0].missing[0].removed);
    // Kept for a waiter that asks after the event.
    auto const kept = net.engine('a').delivery_of(r->seq);
    ASSERT_TRUE(kept);
    EXPECT_TRUE(kept->settled);
    EXPECT_EQ(kept->missing, events[0].missing);
}

TEST_F(delivery_test, AMessageToNobodyIsDeliveredAtOnce) {
    net.add('a');
    auto r = net.send('a', "alone");
    ASSERT_TRUE(r);
    auto const events = net.at('a').events_of<message_delivery>();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0].delivered());
    EXPECT_EQ(events[0].members, 0u);
}

TEST_F(delivery_test, AcksAreNotAnsweredWithHistory) {
    mesh("ab");
    net.send('a', "one");
    net.run();
    auto const before = net.delivered().size();
    net.settle(100ms);
    std::size_t histories = 0;
    for (auto it = net.delivered().begin() + static_cast<std::ptrdiff_t>(before);
         it != net.delivered().end(); ++it)
        if (std::holds_alternative<wire::history_msg>(it->message)) ++histories;
    EXPECT_EQ(acks('b', 'a'), 1u);
    EXPECT_EQ(histories, 0u);
}

// ---------------------------------------------------------------- the tracker alone

struct tracker_test : ::testing::Test {
    effects out;
    delivery_tracker tracker{"self", out};
    instant now{steady_time{}, 0};

    std::vector<message_delivery> events() {
        std::vector<message_delivery> got;
        for (auto& e : out.take())
            if (auto* ev = std::get_if<emit_event>(&e))
                got.push_back(std::get<message_delivery>(ev->event));
        return got;
    }
};

TEST_F(tracker_test, ConsecutiveSettlementsAreOneEvent) {
    for (std::uint64_t s = 1; s <= 5; ++s) tracker.track(s, {{"b", "bob"}, {"c", "carol"}}, now);
    tracker.heard_head("b", 5);
    EXPECT_TRUE(events().empty());
    tracker.heard_head("c", 3);
    auto got = events();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first_seq, 1u);
    EXPECT_EQ(got[0].seq, 3u);
    EXPECT_EQ(tracker.pending(), 2u);
}

TEST_F(tracker_test, WaitingIsBoundedAndTimedOut) {
    for (std::uint64_t s = 1; s <= delivery_tracker::max_pending + 10; ++s)
        tracker.track(s, {{"b", "bob"}}, now);
    EXPECT_EQ(tracker.pending(), delivery_tracker::max_pending);
    // Each send past the bound makes the oldest give up: one settlement per send, in order, so
    // a busy stream to a member that never answers costs one event per message, not more.
    auto got = events();
    ASSERT_EQ(got.size(), 10u);
    for (std::uint64_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first_seq, i + 1);
        EXPECT_EQ(got[i].seq, i + 1);
        EXPECT_TRUE(got[i].settled);
        ASSERT_EQ(got[i].missing.size(), 1u);
        EXPECT_EQ(got[i].missing[0].id, "b");
        EXPECT_FALSE(got[i].missing[0].removed);
    }
    EXPECT_TRUE(tracker.status(1).has_value());  // kept: a late `send --wait` still hears it
    tracker.check([](std::string const&) { return true; },
                  {now.steady + delivery_tracker::give_up_after, 0});
    EXPECT_EQ(tracker.pending(), 0u);
}

}  // namespace
}  // namespace p2pchat::engine
