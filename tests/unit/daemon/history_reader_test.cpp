// history_reader: the stored history as `history` and `tail -n` read it (pages in history
// order, filters, a bounded scan), the event numbers kept with each message, and the schema
// migration from version 1 that added them. Real SQLite files in a temporary directory.
#include "daemon/history_reader.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/io_context.hpp>
#include <string>
#include <vector>

#include "daemon/sqlite_store.hpp"
#include "tests/support/process.hpp"
#include "tests/support/schema_v1.hpp"
#include "tests/support/schema_v2.hpp"

namespace p2pchat::daemon {
namespace {

std::string origin_id(char c) { return std::string(64, c); }

wire::chat_msg message(char origin, std::uint64_t seq, std::uint64_t lamport,
                       std::string text = "hello", std::int64_t time_ms = 1000) {
    return {origin_id(origin), seq,    lamport, time_ms, std::string("name-") + origin,
            std::move(text),   "chain"};
}

// "a1" for message 1 of origin 'a'.
std::vector<std::string> ids(std::vector<stored_message> const& v) {
    std::vector<std::string> out;
    for (auto const& m : v) out.push_back(m.chat.origin.substr(0, 1) + std::to_string(m.chat.seq));
    return out;
}

history_filter with_grep(std::string text) {
    history_filter f;
    f.grep = std::move(text);
    return f;
}

history_filter by(std::string origin) {
    history_filter f;
    f.from = {std::move(origin)};
    return f;
}

history_filter sent_between(std::optional<std::int64_t> since, std::optional<std::int64_t> until) {
    history_filter f;
    f.since_ms = since;
    f.until_ms = until;
    return f;
}

class HistoryReader : public ::testing::Test {
  protected:
    std::filesystem::path file() const { return dir_.path() / "history.db"; }
    history_page page(history_filter const& f = {}, std::optional<history_cursor> before = {},
                      std::size_t limit = 100) {
        history_page out;
        auto const why = reader_.page(f, before, limit, 1 << 20, out);
        EXPECT_EQ(why, "");
        return out;
    }

    test::temp_dir dir_;
    asio::io_context io_;  // outlives the store: its writer posts here
    sqlite_store store_{file(), retention{0, std::chrono::days{0}}, io_.get_executor()};
    history_reader reader_{file()};
};

TEST_F(HistoryReader, PagesAreInHistoryOrderNewestFirstAndGoOnFromTheirCursor) {
    // Arrival order differs from history order (Lamport time, then origin).
    store_.append(message('b', 1, 2), 10, 1);
    store_.append(message('a', 1, 1), 11, 2);
    store_.append(message('a', 2, 2), 12, 3);
    store_.append(message('c', 1, 5), 13, 4);
    ASSERT_TRUE(store_.sync());
    auto const all = page();
    EXPECT_EQ(ids(all.messages), (std::vector<std::string>{"a1", "a2", "b1", "c1"}));
    EXPECT_FALSE(all.next);
    EXPECT_EQ(all.messages[2].event_seq, 1u);
    EXPECT_EQ(all.messages[2].arrived_ms, 10);
    auto const newest = page({}, {}, 2);
    EXPECT_EQ(ids(newest.messages), (std::vector<std::string>{"b1", "c1"}));
    ASSERT_TRUE(newest.next);
    auto const older = page({}, newest.next, 2);
    EXPECT_EQ(ids(older.messages), (std::vector<std::string>{"a1", "a2"}));
}

TEST_F(HistoryReader, FiltersByTimeAuthorAndTextIgnoringCase) {
    store_.append(message('a', 1, 1, "Hello World", 1000), 1, 1);
    store_.append(message('b', 1, 2, "say HELLO", 2000), 1, 2);
    store_.append(message('a', 2, 3, "bye", 3000), 1, 3);
    ASSERT_TRUE(store_.sync());
    EXPECT_EQ(ids(page(with_grep("hello")).messages), (std::vector<std::string>{"a1", "b1"}));
    EXPECT_EQ(ids(page(with_grep("o w")).messages), (std::vector<std::string>{"a1"}));
    EXPECT_EQ(ids(page(by(origin_id('a'))).messages), (std::vector<std::string>{"a1", "a2"}));
    EXPECT_EQ(ids(page(sent_between(2000, std::nullopt)).messages),
              (std::vector<std::string>{"b1", "a2"}));
    EXPECT_EQ(ids(page(sent_between(1500, 2500)).messages), (std::vector<std::string>{"b1"}));
    EXPECT_TRUE(page(with_grep("nowhere")).messages.empty());
}

TEST_F(HistoryReader, APageScansABoundedNumberOfRows) {
    store_.append(message('a', 1, 1, "needle"), 1, 1);
    for (std::uint64_t i = 1; i <= history_reader::scan_step + 10; ++i)
        store_.append(message('b', i, 1 + i, "hay"), 1, 1 + i);
    ASSERT_TRUE(store_.sync());
    auto const first = page(with_grep("needle"));
    EXPECT_TRUE(first.messages.empty());
    ASSERT_TRUE(first.next) << "stopped after scan_step rows, with where to go on";
    auto const second = page(with_grep("needle"), first.next);
    EXPECT_EQ(ids(second.messages), (std::vector<std::string>{"a1"}));
    EXPECT_FALSE(second.next);
}

TEST_F(HistoryReader, TheNewestNumberedMessagesComeInEventOrder) {
    store_.append(message('a', 1, 9), 1, 7);
    store_.append(message('a', 2, 10), 1, 3);
    store_.append(message('b', 1, 1), 1, 5);
    store_.append(message('c', 1, 1), 1);  // no number
    ASSERT_TRUE(store_.sync());
    std::vector<stored_message> out;
    ASSERT_EQ(reader_.numbered_newest(2, out), "");
    EXPECT_EQ(ids(out), (std::vector<std::string>{"b1", "a1"}));
    ASSERT_EQ(reader_.numbered_newest(10, out), "");
    EXPECT_EQ(ids(out), (std::vector<std::string>{"a2", "b1", "a1"}));
}

// A message shown as late (it came by sync or in a welcome) is read back late, so that a
// restarted node shows it again as it was shown; the others are not.
TEST_F(HistoryReader, AMessageShownLateIsReadBackLate) {
    store_.append(message('a', 1, 1), 1, 1);
    store_.append(message('b', 1, 2), 1, 2, true);
    ASSERT_TRUE(store_.sync());
    std::vector<stored_message> out;
    ASSERT_EQ(reader_.numbered_newest(10, out), "");
    ASSERT_EQ(ids(out), (std::vector<std::string>{"a1", "b1"}));
    EXPECT_FALSE(out[0].late);
    EXPECT_TRUE(out[1].late);
    auto const p = page();
    ASSERT_EQ(ids(p.messages), (std::vector<std::string>{"a1", "b1"}));
    EXPECT_FALSE(p.messages[0].late);
    EXPECT_TRUE(p.messages[1].late);
}

// Through the many-row INSERT too (a batch of more than one group of rows): each row keeps
// its own flag.
TEST_F(HistoryReader, EveryRowOfABatchKeepsItsOwnLateFlag) {
    for (std::uint64_t i = 1; i <= 70; ++i) store_.append(message('a', i, i), 1, i, i % 3 == 0);
    ASSERT_TRUE(store_.sync());
    std::vector<stored_message> out;
    ASSERT_EQ(reader_.numbered_newest(100, out), "");
    ASSERT_EQ(out.size(), 70u);
    for (auto const& m : out) EXPECT_EQ(m.late, m.chat.seq % 3 == 0) << m.chat.seq;
}

TEST_F(HistoryReader, AuthorsAreTheTipsWithTheirNewestName) {
    store_.append(message('a', 1, 1), 1, 1);
    auto renamed = message('a', 2, 2);
    renamed.name = "alice";
    store_.append(std::move(renamed), 1, 2);
    store_.append(message('b', 1, 3), 1, 3);
    ASSERT_TRUE(store_.sync());
    std::vector<std::pair<std::string, std::string>> out;
    ASSERT_EQ(reader_.authors(out), "");
    std::sort(out.begin(), out.end());
    EXPECT_EQ(out, (std::vector<std::pair<std::string, std::string>>{{origin_id('a'), "alice"},
                                                                     {origin_id('b'), "name-b"}}));
}

TEST(MatchAuthors, AnIdANameOrAnIdPrefix) {
    std::vector<std::pair<std::string, std::string>> const authors{
        {"ab12" + std::string(60, '0'), "alice"},
        {"ab34" + std::string(60, '0'), "bob"},
        {"cd56" + std::string(60, '0'), "alice"},
        {"ef78" + std::string(60, '0'), "beef"}};
    EXPECT_EQ(match_authors(authors[1].first, authors).ids, std::vector{authors[1].first});
    EXPECT_EQ(match_authors("alice", authors).ids,
              (std::vector{authors[0].first, authors[2].first}));
    EXPECT_EQ(match_authors("ab12", authors).ids, std::vector{authors[0].first});
    EXPECT_EQ(match_authors("beef", authors).ids, std::vector{authors[3].first})
        << "a name wins over an id prefix";
    auto const ambiguous = match_authors("ab", authors);
    EXPECT_TRUE(ambiguous.ids.empty());
    EXPECT_NE(ambiguous.error.find("no author named 'ab'"), std::string::npos)
        << "under 4 hex digits is no prefix: " << ambiguous.error;
    EXPECT_NE(match_authors("ab1", authors).error.find("no author"), std::string::npos)
        << "3 digits are no prefix";
    auto const several = match_authors("0000", {{"0000aa", "x"}, {"0000bb", "y"}});
    EXPECT_NE(several.error.find("2 authors"), std::string::npos) << several.error;
    EXPECT_NE(match_authors("nobody", authors).error.find("no author named 'nobody'"),
              std::string::npos);
}

// Writes a file as an older daemon left it: its schema, then its rows. Returns SQLite's
// error, or an empty string.
std::string write_file(std::filesystem::path const& file, char const* schema, char const* rows) {
    sqlite3* db = nullptr;
    std::string why;
    if (sqlite3_open(file.c_str(), &db) != SQLITE_OK ||
        sqlite3_exec(db, schema, nullptr, nullptr, nullptr) != SQLITE_OK ||
        sqlite3_exec(db, rows, nullptr, nullptr, nullptr) != SQLITE_OK)
        why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return why;
}

// A file written by a version-1 daemon (its schema: tests/support/schema_v1.hpp).
TEST(SchemaMigration, AVersion1FileOpensKeepsItsMessagesAndNumbersTheNewest) {
    test::temp_dir dir;
    auto const file = dir.path() / "history.db";
    ASSERT_EQ(write_file(file, test::history_schema_v1, R"sql(
INSERT INTO messages(origin, seq, lamport, time_ms, arrived_ms, name, text, chain) VALUES
    ('b', 1, 2, 1, 1, 'bob', 'second', 'c'), ('a', 1, 1, 1, 1, 'al', 'first', 'c'),
    ('a', 2, 3, 1, 1, 'al', 'third', 'c');
INSERT INTO tips(origin, seq, chain) VALUES ('a', 2, 'c'), ('b', 1, 'c');
)sql"),
              "");
    asio::io_context io;  // outlives the store: its writer posts here
    sqlite_store store(file, retention{}, io.get_executor());
    EXPECT_EQ(store.message_count(), 3u);
    EXPECT_EQ(store.meta("event_seq"), std::optional<std::string>("3"));
    history_reader reader(file);
    std::vector<stored_message> out;
    ASSERT_EQ(reader.numbered_newest(10, out), "");
    ASSERT_EQ(out.size(), 3u);
    // Numbered in history order, as a version-1 daemon showed them after a restart.
    EXPECT_EQ(out[0].chat.text, "first");
    EXPECT_EQ(out[1].chat.text, "second");
    EXPECT_EQ(out[2].chat.text, "third");
    EXPECT_EQ(out[2].event_seq, 3u);
    // New messages are stored with their numbers in the migrated file.
    store.append(message('c', 1, 4), 1, 9);
    ASSERT_TRUE(store.sync());
    ASSERT_EQ(reader.numbered_newest(1, out), "");
    EXPECT_EQ(out.at(0).event_seq, 9u);
}

// A file written by a version-2 daemon (its schema: tests/support/schema_v2.hpp) gains the
// `late` column: its messages read as not late, and new ones keep the flag.
TEST(SchemaMigration, AVersion2FileOpensWithItsMessagesNotLate) {
    test::temp_dir dir;
    auto const file = dir.path() / "history.db";
    ASSERT_EQ(write_file(file, test::history_schema_v2, R"sql(
INSERT INTO origins(id, key) VALUES (1, 'a');
INSERT INTO messages(origin, seq, lamport, time_ms, arrived_ms, name, text, chain, event_seq)
    VALUES (1, 1, 1, 1, 1, 'al', 'first', 'c', 4);
INSERT INTO tips(origin, seq, chain) VALUES (1, 1, 'c');
)sql"),
              "");
    asio::io_context io;  // outlives the store: its writer posts here
    sqlite_store store(file, retention{}, io.get_executor());
    EXPECT_EQ(store.message_count(), 1u);
    store.append(message('c', 1, 4), 1, 9, true);
    ASSERT_TRUE(store.sync());
    history_reader reader(file);
    std::vector<stored_message> out;
    ASSERT_EQ(reader.numbered_newest(10, out), "");
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].chat.text, "first");
    EXPECT_EQ(out[0].event_seq, 4u);
    EXPECT_FALSE(out[0].late);
    EXPECT_TRUE(out[1].late);
}

}  // namespace
}  // namespace p2pchat::daemon
