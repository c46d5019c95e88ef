#include "ctl/resume.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace p2pchat::ctl {
namespace {

namespace json = boost::json;

json::object message(std::uint64_t seq, std::int64_t time_ms, std::string const& id,
                     std::int64_t sent_ms) {
    // Field order as the daemon writes it: the body, then seq and time_ms.
    return json::parse(R"({"type":"message","id":")" + id + R"(","from":"ab","name":"a",)" +
                       R"("text":"x","lamport":1,"sent_ms":)" + std::to_string(sent_ms) +
                       R"(,"self":false,"seq":)" + std::to_string(seq) + R"(,"time_ms":)" +
                       std::to_string(time_ms) + "}")
        .as_object();
}

json::object joined(std::uint64_t seq, std::int64_t time_ms) {
    return json::parse(R"({"type":"peer_joined","peer":{"id":"cd","name":"b"},"seq":)" +
                       std::to_string(seq) + R"(,"time_ms":)" + std::to_string(time_ms) + "}")
        .as_object();
}

TEST(Resume, TheSameDaemonResumesByEventNumber) {
    resume_point r;
    EXPECT_EQ(r.reconnected(100, "node", 0), (json::object{{"since", 0}}));
    r.saw(message(7, 1000, "ab:1", 1000));
    EXPECT_EQ(r.reconnected(100, "node", 0), (json::object{{"since", 7}}));
    EXPECT_FALSE(r.after_restart());
    EXPECT_TRUE(r.wanted(message(8, 900, "ab:1", 900))) << "no filtering without a restart";
}

TEST(Resume, ARestartedDaemonIsResumedByTimeAndMessageId) {
    resume_point r;
    (void)r.reconnected(100, "node", 0);
    r.saw(message(1, 1000, "ab:1", 990));
    r.saw(joined(2, 1100));
    r.saw(message(3, 1200, "ab:2", 1190));
    EXPECT_EQ(r.reconnected(200, "node", 0), (json::object{{"since", 0}}));
    EXPECT_TRUE(r.after_restart());
    // The new daemon's log: history from the welcome (seen, and one never ours), then new.
    EXPECT_FALSE(r.wanted(message(1, 5000, "ab:2", 1190))) << "seen before the restart";
    EXPECT_FALSE(r.wanted(message(2, 5000, "ab:0", 500))) << "older than where we began";
    EXPECT_TRUE(r.wanted(message(3, 5000, "ab:3", 2000))) << "said while the daemon was away";
    EXPECT_FALSE(r.wanted(joined(4, 1100)));
    EXPECT_TRUE(r.wanted(joined(5, 5001)));
}

TEST(Resume, ARestartOfTheSameNodeThatNumberedOnIsResumedByEventNumber) {
    resume_point r;
    (void)r.reconnected(100, "node", 0);
    r.saw(message(1, 1000, "ab:1", 990));
    r.saw(joined(2, 1100));
    // Same node, its numbering has reached ours: numbers never repeat, so resume exactly.
    EXPECT_EQ(r.reconnected(200, "node", 2), (json::object{{"since", 2}}));
    EXPECT_TRUE(r.after_restart());
    EXPECT_TRUE(r.wanted(joined(3, 900))) << "by number, whatever its time";
    EXPECT_TRUE(r.wanted(message(4, 900, "ab:0", 500))) << "by number, whatever its time";
    EXPECT_FALSE(r.wanted(message(5, 5000, "ab:1", 990)))
        << "shown before a crash, stored too late, back through sync under a new number";
}

TEST(Resume, ANodeWhoseNumberingIsBehindOrAnotherNodeIsResumedByTime) {
    for (auto [id, seq] : {std::pair{"node", 1}, std::pair{"other", 50}}) {
        resume_point r;
        (void)r.reconnected(100, "node", 0);
        r.saw(message(2, 1000, "ab:1", 990));
        EXPECT_EQ(r.reconnected(200, id, static_cast<std::uint64_t>(seq)),
                  (json::object{{"since", 0}}))
            << id;
    }
}

TEST(Resume, MessagesShownFromTheStoreAreNotShownAgainLive) {
    resume_point r;
    (void)r.reconnected(100, "node", 10);
    // The store was read at event 10; the second page held a late message numbered 12.
    r.follow_after(10, {message(4, 1000, "ab:1", 990), message(12, 1300, "ab:7", 900)});
    EXPECT_EQ(r.last_seq(), 10u);
    EXPECT_TRUE(r.wanted(message(11, 1200, "ab:8", 1200)));
    EXPECT_FALSE(r.wanted(message(12, 1300, "ab:7", 900)));
    EXPECT_FALSE(r.wanted_line(json::serialize(message(12, 1300, "ab:7", 900))));
    EXPECT_TRUE(r.wanted_line(json::serialize(message(13, 1400, "ab:9", 1400))));
    EXPECT_EQ(r.reconnected(100, "node", 13), (json::object{{"since", 10}}));
}

TEST(Resume, LinesAreReadLikeObjects) {
    resume_point a, b;
    (void)a.reconnected(1, "node", 0);
    (void)b.reconnected(1, "node", 0);
    for (auto const& e : {message(1, 1000, "ab:1", 990), joined(2, 1100)}) {
        a.saw(e);
        b.saw_line(json::serialize(e));
    }
    EXPECT_EQ(a.last_seq(), b.last_seq());
    EXPECT_EQ(a.last_time_ms(), b.last_time_ms());
    (void)a.reconnected(2, "node", 0);
    (void)b.reconnected(2, "node", 0);
    for (auto const& e : {message(1, 5000, "ab:1", 990), message(2, 5000, "ab:9", 3000),
                          joined(3, 1000), joined(4, 6000)})
        EXPECT_EQ(a.wanted(e), b.wanted_line(json::serialize(e))) << json::serialize(e);
}

}  // namespace
}  // namespace p2pchat::ctl
