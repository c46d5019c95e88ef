// chat_room: message ids, the Lamport clock, duplicate suppression, text limits and the
// history a welcome carries.
#include "common/engine/chat_room.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "common/wire/frame_decoder.hpp"
#include "tests/unit/engine/property.hpp"

namespace p2pchat::engine {
namespace {

using namespace std::chrono_literals;

std::string const self_id(64, 'a');
std::string const bob(64, 'b');
std::string const carol(64, 'c');
constexpr std::int64_t started_ms = 1'764'000'000'000;

instant at(std::int64_t unix_ms) { return {steady_time{} + 1000s, unix_ms}; }

wire::chat_msg chat(std::string const& origin, std::uint64_t seq, std::uint64_t lamport,
                    std::string text = "hi") {
    return {origin, seq, lamport, started_ms, "bob", std::move(text)};
}

struct room_fixture : ::testing::Test {
    memory_store store{1000};
    effects out;
    chat_room room{self_id, started_ms, store, out};

    // Executes the store writes as a runtime would, and returns what was shown.
    std::vector<message_arrived> drain() {
        std::vector<message_arrived> shown;
        for (auto& e : out.take()) {
            if (auto* s = std::get_if<store_message>(&e)) store.append(s->chat);
            if (auto* ev = std::get_if<emit_event>(&e))
                if (auto* m = std::get_if<message_arrived>(&ev->event)) shown.push_back(*m);
        }
        return shown;
    }
};

// ---------------------------------------------------------------- sending

TEST_F(room_fixture, SeqsStartAtTheStartTimeAndIdsAreOriginColonSeq) {
    EXPECT_EQ(room.next_seq(), static_cast<std::uint64_t>(started_ms) * 1000 + 1);
    auto const r1 = room.send("one", "alice", at(started_ms + 5));
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->seq, static_cast<std::uint64_t>(started_ms) * 1000 + 1);
    EXPECT_EQ(r1->id, self_id + ":" + std::to_string(r1->seq));
    EXPECT_EQ(r1->lamport, 1u);
    auto const r2 = room.send("two", "alice", at(started_ms + 6));
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->seq, r1->seq + 1);
    EXPECT_EQ(r2->lamport, 2u);
    EXPECT_EQ(room.messages_sent(), 2u);
}

TEST_F(room_fixture, SendBroadcastsStoresAndShowsItAsOwn) {
    auto const r = room.send("hello", "alice", at(started_ms + 42));
    ASSERT_TRUE(r);
    auto const fx = out.take();
    ASSERT_EQ(fx.size(), 3u);
    auto const& b = std::get<broadcast>(fx[0]);
    EXPECT_TRUE(b.except.empty());
    auto const& sent = std::get<wire::chat_msg>(*b.message);
    EXPECT_EQ(sent,
              (wire::chat_msg{self_id, r->seq, r->lamport, started_ms + 42, "alice", "hello"}));
    EXPECT_EQ(std::get<store_message>(fx[1]).chat, sent);
    auto const& shown = std::get<message_arrived>(std::get<emit_event>(fx[2]).event);
    EXPECT_EQ(shown.chat, sent);
    EXPECT_TRUE(shown.self);
}

TEST_F(room_fixture, OwnMessageEchoedBackIsNotShownAgain) {
    auto const r = room.send("hello", "alice", at(started_ms));
    ASSERT_TRUE(r);
    drain();
    room.receive(chat(self_id, r->seq, r->lamport, "hello"));
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(room.messages_received(), 0u);
}

TEST_F(room_fixture, EmptyTextIsRefusedAsInvalidParams) {
    auto const r = room.send("", "alice", at(started_ms));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error_code, rpc::code::invalid_params);
    EXPECT_TRUE(out.empty());
}

TEST_F(room_fixture, SixtyFourKibIsTheLimit) {
    ASSERT_TRUE(room.send(std::string(max_text_bytes, 'x'), "alice", at(started_ms)));
    out.take();
    auto const before = room.next_seq();
    auto const r = room.send(std::string(max_text_bytes + 1, 'x'), "alice", at(started_ms));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error_code, rpc::code::text_too_long);
    EXPECT_NE(r.error().message.find("65537"), std::string::npos);
    // Refused before anything is sent or numbered.
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(room.next_seq(), before);
    EXPECT_EQ(room.lamport(), 1u);
}

TEST_F(room_fixture, TooLongIsReportedBeforeInvalidUtf8) {
    auto const r = room.send(std::string(max_text_bytes + 1, '\xff'), "alice", at(started_ms));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().error_code, rpc::code::text_too_long);
}

TEST_F(room_fixture, InvalidUtf8IsRefusedAsInvalidParams) {
    for (std::string bad : {"\xff", "abc\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
        auto const r = room.send(bad, "alice", at(started_ms));
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().error_code, rpc::code::invalid_params);
    }
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(room.messages_sent(), 0u);
}

TEST_F(room_fixture, MultibyteAndControlCharactersAreText) {
    EXPECT_TRUE(room.send("h\xc3\xa9llo \xf0\x9f\x91\x8b", "alice", at(started_ms)));
    EXPECT_TRUE(room.send("tab\there\nnewline", "alice", at(started_ms)));
}

// ---------------------------------------------------------------- receiving

TEST_F(room_fixture, LamportRuleOnReceive) {
    room.receive(chat(bob, 1, 10));
    EXPECT_EQ(room.lamport(), 11u);  // max(0, 10) + 1
    room.receive(chat(bob, 2, 3));
    EXPECT_EQ(room.lamport(), 12u);  // max(11, 3) + 1
    auto const r = room.send("after", "alice", at(started_ms));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->lamport, 13u);  // a reply is ordered after what it answers
    EXPECT_EQ(room.messages_received(), 2u);
}

TEST_F(room_fixture, DuplicateIsDroppedAndLeavesTheClockAlone) {
    room.receive(chat(bob, 7, 5));
    ASSERT_EQ(drain().size(), 1u);
    room.receive(chat(bob, 7, 500));  // same id, whatever it says
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(room.lamport(), 6u);
    EXPECT_EQ(room.messages_received(), 1u);
}

TEST_F(room_fixture, SameSeqFromAnotherOriginIsAnotherMessage) {
    room.receive(chat(bob, 1, 1));
    room.receive(chat(carol, 1, 1));
    EXPECT_EQ(drain().size(), 2u);
}

// PROTOCOL.md: a seq more than 1 000 000 ahead starts a new run and everything below it counts
// as seen. Real seqs are the origin's start time in ms x 1000 onwards, so the first message
// seen from an origin always starts a run: an older message of that origin arriving after it
// (a welcome's history processed after a live message from the same origin) is not shown.
TEST_F(room_fixture, FirstSightOfAnOriginStartsItsRun) {
    std::uint64_t const run = static_cast<std::uint64_t>(started_ms - 60'000) * 1000 + 1;
    room.receive(chat(bob, run + 1, 2, "second"));
    room.receive_history({chat(bob, run, 1, "first")});
    room.receive(chat(bob, run + 3, 4, "fourth"));
    room.receive(chat(bob, run + 2, 3, "third"));  // after first sight, order is free
    std::vector<std::string> texts;
    for (auto const& m : drain()) texts.push_back(m.chat.text);
    EXPECT_EQ(texts, (std::vector<std::string>{"second", "fourth", "third"}));
}

TEST_F(room_fixture, ReceivedMessageIsStoredAndShownNotAsOwn) {
    room.receive(chat(bob, 1, 1, "yo"));
    auto const fx = out.take();
    ASSERT_EQ(fx.size(), 2u);
    EXPECT_EQ(std::get<store_message>(fx[0]).chat.text, "yo");
    auto const& shown = std::get<message_arrived>(std::get<emit_event>(fx[1]).event);
    EXPECT_EQ(shown.chat, chat(bob, 1, 1, "yo"));
    EXPECT_FALSE(shown.self);
}

// ---------------------------------------------------------------- history

TEST_F(room_fixture, HistoryIsShownInOrderAndDeduplicated) {
    room.receive(chat(bob, 2, 2, "live"));
    drain();
    room.receive_history({chat(bob, 1, 1, "one"), chat(bob, 2, 2, "live"), chat(carol, 1, 3, "c"),
                          chat(carol, 1, 3, "c")});
    auto const shown = drain();
    ASSERT_EQ(shown.size(), 2u);
    EXPECT_EQ(shown[0].chat.text, "one");
    EXPECT_EQ(shown[1].chat.text, "c");
    EXPECT_EQ(room.lamport(), 5u);  // 2+1, then max(3, 1)+1, max(4, 3)+1
    // And a live copy of a message that came with the history is a duplicate too.
    room.receive(chat(carol, 1, 3, "c"));
    EXPECT_TRUE(out.empty());
}

TEST_F(room_fixture, OwnMessagesInHistoryAreShownAsOwn) {
    // A restarted node hears its former self's messages back in the welcome.
    room.receive_history({chat(self_id, 5, 1, "mine, before the restart"), chat(bob, 1, 2)});
    auto const shown = drain();
    ASSERT_EQ(shown.size(), 2u);
    EXPECT_TRUE(shown[0].self);
    EXPECT_FALSE(shown[1].self);
    // Its own numbering is untouched: ids come from the start time.
    EXPECT_EQ(room.next_seq(), static_cast<std::uint64_t>(started_ms) * 1000 + 1);
}

TEST_F(room_fixture, WelcomeHistoryIsTheFiftyNewestOldestFirst) {
    for (std::uint64_t i = 1; i <= 80; ++i) room.receive(chat(bob, i, i, std::to_string(i)));
    drain();
    auto const h = room.welcome_history();
    ASSERT_EQ(h.size(), chat_room::welcome_history_count);
    EXPECT_EQ(h.front().seq, 31u);
    EXPECT_EQ(h.back().seq, 80u);
    EXPECT_TRUE(std::is_sorted(h.begin(), h.end(),
                               [](auto const& a, auto const& b) { return a.seq < b.seq; }));
}

TEST_F(room_fixture, WelcomeHistoryKeepsWithinItsByteBudget) {
    for (std::uint64_t i = 1; i <= 20; ++i)
        room.receive(chat(bob, i, i, std::string(max_text_bytes, 'x')));
    drain();
    auto const h = room.welcome_history();
    std::size_t bytes = 0;
    for (auto const& c : h) bytes += approx_size(c);
    EXPECT_LE(bytes, chat_room::welcome_history_bytes);
    EXPECT_EQ(h.size(), 7u);  // 7 x (64 KiB + 203) fit in 512 KiB, 8 do not
    EXPECT_EQ(h.back().seq, 20u);
}

// Whatever the last fifty messages hold, a welcome carrying them fits in one frame: the
// newcomer's decoder closes the connection on a frame above the limit and the join fails.
TEST_F(room_fixture, WelcomeWithTheHistoryFitsInAFrame) {
    std::string const awkward[] = {
        std::string(max_text_bytes, 'x'),
        std::string(max_text_bytes, '\x01'),  // valid UTF-8; JSON writes \u0001 (6 bytes)
        std::string(max_text_bytes, '"'),     // JSON writes \" (2 bytes)
    };
    for (auto const& text : awkward) {
        memory_store s(1000);
        effects fx;
        chat_room r(self_id, started_ms, s, fx);
        for (std::uint64_t i = 1; i <= 60; ++i) {
            r.receive(chat(bob, i, i, text));
            for (auto& e : fx.take())
                if (auto* st = std::get_if<store_message>(&e)) s.append(st->chat);
        }
        std::vector<wire::peer_entry> peers;  // a full table of long names, too
        for (int i = 0; i < 256; ++i)
            peers.push_back({std::string(64, 'b'),
                             std::string(64, '"'),
                             "[2001:db8::1234:5678]:65535",
                             1'764'000'000'000'000,
                             {}});
        wire::welcome_msg const w{peers.front(), peers, r.welcome_history()};
        EXPECT_FALSE(w.history.empty());
        EXPECT_LE(wire::encode(w).size(), wire::default_frame_limit)
            << "history of " << w.history.size() << " messages of byte "
            << static_cast<int>(text[0]);
    }
}

// ---------------------------------------------------------------- properties

// Any sequence of deliveries, live or in welcome histories, with duplicates and in any order,
// shows each message exactly once, and every accepted message moves the clock past it.
TEST(ChatRoomProperty, EachMessageShownOnceAndTheLamportRuleHolds) {
    harness::check_property([] {
        // Messages from three origins, numbered as origins number them (from their start
        // time in ms x 1000); one origin is this node's former self, from before a restart.
        std::vector<wire::chat_msg> all;
        std::map<std::string, std::size_t> lowest;  // origin -> index of its lowest seq
        for (auto const& origin : {bob, carol, self_id}) {
            auto const count = *rc::gen::inRange<std::uint64_t>(0, 12);
            auto const start = origin == self_id
                                   ? *rc::gen::inRange<std::int64_t>(1, 1'000'000)
                                   : *rc::gen::inRange<std::int64_t>(-1'000'000, 1'000'000);
            auto const base = static_cast<std::uint64_t>(started_ms - start) * 1000 + 1;
            if (count > 0) lowest[origin] = all.size();
            for (std::uint64_t i = 0; i < count; ++i)
                all.push_back({origin, base + i, *rc::gen::inRange<std::uint64_t>(1, 100),
                               started_ms, "n", "m" + std::to_string(all.size())});
        }
        // Every message at least once, some more than once, in a random order.
        std::vector<std::size_t> order(all.size());
        std::iota(order.begin(), order.end(), 0);
        if (!all.empty()) {
            auto const extra = *rc::gen::container<std::vector<std::size_t>>(
                rc::gen::inRange<std::size_t>(0, all.size()));
            order.insert(order.end(), extra.begin(), extra.end());
        }
        auto const keys =
            *rc::gen::container<std::vector<int>>(order.size(), rc::gen::arbitrary<int>());
        std::vector<std::size_t> by_key(order.size());
        std::iota(by_key.begin(), by_key.end(), 0);
        std::stable_sort(by_key.begin(), by_key.end(),
                         [&](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
        std::vector<std::size_t> sequence;
        for (auto k : by_key) sequence.push_back(order[k]);
        // The first message seen from an origin starts its run: anything lower counts as seen
        // (PROTOCOL.md; see FirstSightOfAnOriginStartsItsRun). Each origin's lowest message
        // goes first among its own, the rest in any order.
        for (auto const& [origin, lo] : lowest) {
            auto const first = std::find_if(sequence.begin(), sequence.end(),
                                            [&](std::size_t i) { return all[i].origin == origin; });
            std::iter_swap(first, std::find(sequence.begin(), sequence.end(), lo));
        }
        // Cut into batches: live frames or welcome histories, with own sends in between.
        auto const cuts =
            *rc::gen::container<std::vector<bool>>(order.size(), rc::gen::arbitrary<bool>());
        auto const sends = *rc::gen::container<std::vector<bool>>(
            order.size(), rc::gen::weightedElement<bool>({{1, true}, {4, false}}));

        memory_store store(1000);
        effects out;
        chat_room room(self_id, started_ms, store, out);
        std::map<std::string, int> shown;  // text -> times shown
        std::uint64_t max_received_lamport = 0;
        std::uint64_t last_clock = 0;
        // Shows what the last input showed; checks the clock moved past all of it.
        auto take_shown = [&] {
            std::vector<message_arrived> out_shown;
            for (auto& e : out.take())
                if (auto* ev = std::get_if<emit_event>(&e))
                    out_shown.push_back(std::get<message_arrived>(ev->event));
            for (auto const& m : out_shown) ++shown[m.chat.text];
            RC_ASSERT(room.lamport() >= last_clock);  // never goes back
            last_clock = room.lamport();
            return out_shown;
        };
        std::vector<wire::chat_msg> batch;
        auto deliver_batch = [&] {
            room.receive_history(std::move(batch));
            batch.clear();
            for (auto const& m : take_shown()) {
                RC_ASSERT(m.self == (m.chat.origin == self_id));
                RC_ASSERT(room.lamport() > m.chat.lamport);
                max_received_lamport = std::max(max_received_lamport, m.chat.lamport);
            }
        };
        for (std::size_t i = 0; i < sequence.size(); ++i) {
            auto const& m = all[sequence[i]];
            if (cuts[i]) {
                batch.push_back(m);
                continue;
            }
            deliver_batch();
            room.receive(wire::chat_msg(m));
            for (auto const& s : take_shown()) {
                RC_ASSERT(!s.self);
                RC_ASSERT(room.lamport() > s.chat.lamport);
                max_received_lamport = std::max(max_received_lamport, s.chat.lamport);
            }
            if (sends[i]) {
                auto const before = room.lamport();
                auto const r = room.send("own" + std::to_string(i), "alice", at(started_ms));
                RC_ASSERT(bool(r));
                RC_ASSERT(r->lamport == before + 1);
                RC_ASSERT(r->lamport > max_received_lamport);
                auto const own = take_shown();
                RC_ASSERT(own.size() == 1u);
                RC_ASSERT(own[0].self);
            }
        }
        deliver_batch();
        for (auto const& [text, times] : shown) RC_ASSERT(times == 1);
        // A former self's message that first arrives after this node sent its own is taken
        // as old: the new run of seqs (numbered from the start time) covers it. Every other
        // message was shown.
        for (auto const& m : all)
            if (m.origin != self_id) RC_ASSERT(shown.contains(m.text));
    });
}

}  // namespace
}  // namespace p2pchat::engine
