#include "ctl/format.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdlib>
#include <ctime>

namespace p2pchat::ctl {
namespace {

namespace json = boost::json;

json::object event(char const* text) { return json::parse(text).as_object(); }

class Format : public ::testing::Test {
  protected:
    // clock_time() renders local time: pin the zone so the lines are exact.
    void SetUp() override {
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
};

// "Today" for the lines below: 1970-01-01, the day of their events.
style const plain{.colour = false, .now_ms = 0};

TEST_F(Format, MessageLine) {
    auto const line = human_event(
        event(R"({"type":"message","time_ms":3723000,"name":"alice","from":"ab","text":"hi"})"),
        plain);
    EXPECT_EQ(line, std::optional<std::string>("01:02:03 alice: hi"));
}

TEST_F(Format, MessagesShowTheirSendTimeWithTheDateWhenNotToday) {
    // Sent on 2025-11-24 at 23:59:30 UTC, received (time_ms) the next day after a join.
    auto const msg =
        event(R"({"type":"message","time_ms":1764115200000,"sent_ms":1764028770000,"name":"alice",)"
              R"("from":"ab","text":"late"})");
    EXPECT_EQ(human_event(msg, {.now_ms = 1764115200000}),
              std::optional<std::string>("2025-11-24 23:59:30 alice: late"));
    EXPECT_EQ(human_event(msg, {.now_ms = 1764028800000 - 1}),
              std::optional<std::string>("23:59:30 alice: late"));
    EXPECT_EQ(event_unix_ms(msg), 1764028770000);
    EXPECT_EQ(event_unix_ms(event(R"({"type":"peer_joined","time_ms":5})")), 5);
}

TEST_F(Format, OwnMessagesAreMarkedAndActionsShownAsActions) {
    EXPECT_EQ(human_event(event(R"({"type":"message","time_ms":0,"name":"al","from":"ab",)"
                                R"("text":"hi","self":true})"),
                          plain),
              std::optional<std::string>("00:00:00 al (you): hi"));
    EXPECT_EQ(human_event(event(R"({"type":"message","time_ms":0,"name":"al","from":"ab",)"
                                R"("text":"/me waves"})"),
                          plain),
              std::optional<std::string>("00:00:00 * al waves"));
    // Synced after a fault: marked, so that its earlier time is not taken for a clock error.
    EXPECT_EQ(human_event(event(R"({"type":"message","time_ms":0,"name":"al","from":"ab",)"
                                R"("text":"hi","late":true})"),
                          plain),
              std::optional<std::string>("00:00:00 al (late): hi"));
    EXPECT_EQ(me_action("/me"), std::nullopt);
    EXPECT_EQ(me_action("/mew x"), std::nullopt);
}

TEST_F(Format, SharedNamesCarryTheShortId) {
    name_book names;
    names.learn("1111111199", "alice");
    auto const from = [](char const* id) {
        return event((std::string(R"({"type":"message","time_ms":0,"name":"alice","from":")") + id +
                      R"(","text":"x"})")
                         .c_str());
    };
    EXPECT_EQ(human_event(from("1111111199"), plain, &names),
              std::optional<std::string>("00:00:00 alice: x"));
    names.learn_event(from("2222222299"));
    EXPECT_TRUE(names.shared("alice"));
    EXPECT_EQ(human_event(from("1111111199"), plain, &names),
              std::optional<std::string>("00:00:00 alice#11111111: x"));
    EXPECT_EQ(human_event(from("2222222299"), plain, &names),
              std::optional<std::string>("00:00:00 alice#22222222: x"));
    // One of them renames: both names are unique again.
    names.learn("2222222299", "alicia");
    EXPECT_FALSE(names.shared("alice"));
    // A name with '#' cannot pose as a qualified one.
    EXPECT_EQ(names.display("3333333399", "alice#11111111"), "alice#11111111#33333333");
}

TEST_F(Format, MentionsAreWholeWordsAnyCase) {
    EXPECT_TRUE(mentions("hey Alice, look", "alice"));
    EXPECT_TRUE(mentions("alice: hi", "alice"));
    EXPECT_TRUE(mentions("thanks @alice", "alice"));
    EXPECT_FALSE(mentions("malice aforethought", "alice"));
    EXPECT_FALSE(mentions("alices", "alice"));
    EXPECT_FALSE(mentions("hi", ""));
}

TEST_F(Format, PeerLines) {
    std::string const peer = R"("peer":{"id":"1a2b3c4d5e","short_id":"1a2b3c4d","name":"bob"})";
    EXPECT_EQ(
        human_event(event((R"({"type":"peer_joined","time_ms":0,)" + peer + "}").c_str()), plain),
        std::optional<std::string>("00:00:00 * bob joined (1a2b3c4d)"));
    EXPECT_EQ(
        human_event(
            event((R"({"type":"peer_left","time_ms":0,"reason":"left",)" + peer + "}").c_str()),
            plain),
        std::optional<std::string>("00:00:00 * bob left"));
    EXPECT_EQ(human_event(
                  event((R"({"type":"peer_left","time_ms":0,"reason":"unreachable",)" + peer + "}")
                            .c_str()),
                  plain),
              std::optional<std::string>("00:00:00 * bob left (unreachable)"));
    EXPECT_EQ(human_event(
                  event((R"({"type":"peer_renamed","time_ms":0,"old_name":"robert",)" + peer + "}")
                            .c_str()),
                  plain),
              std::optional<std::string>("00:00:00 * robert is now known as bob"));
}

TEST_F(Format, UnknownEventTypesAreNotShownToHumans) {
    EXPECT_EQ(human_event(event(R"({"type":"network_weather","time_ms":0})"), {}), std::nullopt);
}

TEST_F(Format, MissingOrMistypedFieldsDoNotThrow) {
    // A newer or broken daemon must not crash the CLI.
    EXPECT_NO_THROW((void)human_event(event(R"({"type":"message","text":5})"), {}));
    EXPECT_NO_THROW((void)human_event(event(R"({"type":"peer_joined","peer":"nope"})"), {}));
    EXPECT_EQ(int_field(event(R"({"n":"x"})"), "n", 7), 7);
    EXPECT_EQ(string_field(event(R"({"s":1})"), "s"), "");
}

TEST_F(Format, RemoteTextCannotDriveTheTerminal) {
    // ESC, BEL, CSI (C1 U+009B) and DEL from a peer are shown, never obeyed.
    auto const line = human_event(
        event(R"({"type":"message","time_ms":0,"name":"e\u001b]0;pwned\u0007","from":"ab",)"
              R"("text":"a\u001b[2Jb\u009bc\u007fd"})"),
        {});
    ASSERT_TRUE(line);
    for (char c : *line) {
        auto const u = static_cast<unsigned char>(c);
        EXPECT_FALSE(u < 0x20 || u == 0x7f) << "raw control byte " << int(u) << " in " << *line;
    }
    EXPECT_EQ(line->find("\xc2\x9b"), std::string::npos) << "raw C1 CSI in " << *line;
    EXPECT_NE(line->find('a'), std::string::npos);
}

TEST_F(Format, ColourOnlyWhenAsked) {
    auto const msg =
        event(R"({"type":"message","time_ms":0,"name":"alice","from":"ab","text":"x"})");
    EXPECT_EQ(human_event(msg, {.colour = false})->find('\x1b'), std::string::npos);
    EXPECT_NE(human_event(msg, {.colour = true})->find('\x1b'), std::string::npos);
}

TEST_F(Format, PeersTableAlignsColumns) {
    auto const peers =
        json::parse(
            R"([{"id":"aaaaaaaa11","short_id":"aaaaaaaa","name":"me","address":"127.0.0.1:7447","state":"self"},)"
            R"({"id":"bbbbbbbb22","short_id":"bbbbbbbb","name":"robert","address":"[::1]:9","state":"alive"}])")
            .as_array();
    auto const table = peers_table(peers);
    std::vector<std::string> lines;
    for (std::size_t start = 0, nl; (nl = table.find('\n', start)) != std::string::npos;
         start = nl + 1)
        lines.push_back(table.substr(start, nl - start));
    ASSERT_EQ(lines.size(), 3u) << table;
    EXPECT_EQ(lines[0].rfind("ID", 0), 0u);
    // Every column starts at the same offset on every row.
    auto const name_at = lines[0].find("NAME");
    EXPECT_EQ(lines[1].find("me"), name_at);
    EXPECT_EQ(lines[2].find("robert"), name_at);
    auto const state_at = lines[0].find("STATE");
    EXPECT_EQ(lines[1].find("self"), state_at);
    EXPECT_EQ(lines[2].find("alive"), state_at);
}

TEST(DisplayWidth, CountsCodePoints) {
    EXPECT_EQ(display_width("abc"), 3u);
    EXPECT_EQ(display_width("h\xc3\xa9llo"), 5u);  // é is two bytes, one column
    EXPECT_EQ(display_width(""), 0u);
}

}  // namespace
}  // namespace p2pchat::ctl
