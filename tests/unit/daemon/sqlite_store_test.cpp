// sqlite_store: the message_store contract, run against both stores (memory_store is the
// reference), then what only the durable store does: reopening, retention, schema versions,
// errors, the node's own state. Real SQLite files in a temporary directory.
#include "daemon/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/schema_v1.hpp"

namespace p2pchat::daemon {
namespace {

using engine::chain_tip;
using engine::message_store;

std::string origin_id(char c) { return std::string(64, c); }

wire::chat_msg message(char origin, std::uint64_t seq, std::uint64_t lamport,
                       std::size_t text_bytes = 5) {
    return {origin_id(origin),
            seq,
            lamport,
            1000 + static_cast<std::int64_t>(seq),
            std::string("name-") + origin,
            std::string(text_bytes, 'x'),
            "chain-" + std::string(1, origin) + std::to_string(seq)};
}

wire::seal_msg seal(char origin, std::uint64_t seq) {
    return {origin_id(origin), seq, "chain-" + std::string(1, origin) + std::to_string(seq),
            "sig" + std::to_string(seq)};
}

using id = std::pair<char, std::uint64_t>;
std::vector<id> ids(std::vector<wire::chat_msg> const& v) {
    std::vector<id> out;
    for (auto const& c : v) out.emplace_back(c.origin[0], c.seq);
    return out;
}

// ---------------------------------------------------------------- the contract, on both

struct memory_fixture {
    std::unique_ptr<message_store> make() { return std::make_unique<engine::memory_store>(1000); }
    void commit(message_store&) {}
};

struct sqlite_fixture {
    test::temp_dir dir;
    asio::io_context io;  // outlives the store: its writer posts here
    std::unique_ptr<message_store> make() {
        return std::make_unique<sqlite_store>(dir.path() / "history.db", retention{},
                                              io.get_executor());
    }
    void commit(message_store& s) { ASSERT_TRUE(static_cast<sqlite_store&>(s).sync()); }
};

// The same contract with nothing committed: every read comes from the overlay of pending
// writes (read-your-writes before the writer commits).
struct sqlite_uncommitted_fixture : sqlite_fixture {
    void commit(message_store&) {}  // nothing is flushed: the store never flushes by itself
};

template <class Fixture>
class MessageStoreContract : public ::testing::Test {
  protected:
    Fixture fixture_;
    std::unique_ptr<message_store> store_ = fixture_.make();
    void commit() { fixture_.commit(*store_); }
};

using stores = ::testing::Types<memory_fixture, sqlite_fixture, sqlite_uncommitted_fixture>;
class store_names {
  public:
    template <class T>
    static std::string GetName(int) {
        if constexpr (std::is_same_v<T, memory_fixture>) return "memory";
        if constexpr (std::is_same_v<T, sqlite_fixture>) return "sqlite";
        return "sqlite_uncommitted";
    }
};
TYPED_TEST_SUITE(MessageStoreContract, stores, store_names);

TYPED_TEST(MessageStoreContract, AppendingAMessageHeldAlreadyChangesNothing) {
    auto& s = *this->store_;
    s.append(message('a', 1, 10), 5);
    auto changed = message('a', 1, 10);
    changed.text = "something else";
    s.append(changed, 6);
    this->commit();
    auto const held = s.newest(10, 1 << 20);
    ASSERT_EQ(held.size(), 1u);
    EXPECT_EQ(held[0], message('a', 1, 10));
}

TYPED_TEST(MessageStoreContract, NewestIsInHistoryOrderOldestFirstWithinCountAndBytes) {
    auto& s = *this->store_;
    // Appended out of history order: (Lamport, origin) decides.
    s.append(message('b', 1, 3), 1);
    s.append(message('a', 1, 5), 2);
    s.append(message('a', 2, 1), 3);
    s.append(message('c', 1, 3), 4);
    s.append(message('a', 3, 7), 5);
    this->commit();
    EXPECT_EQ(ids(s.newest(10, 1 << 20)),
              (std::vector<id>{{'a', 2}, {'b', 1}, {'c', 1}, {'a', 1}, {'a', 3}}));
    EXPECT_EQ(ids(s.newest(2, 1 << 20)), (std::vector<id>{{'a', 1}, {'a', 3}}));
    auto const one = engine::approx_size(message('a', 3, 7));
    EXPECT_EQ(ids(s.newest(10, 2 * one)), (std::vector<id>{{'a', 1}, {'a', 3}}));
    EXPECT_TRUE(s.newest(10, one - 1).empty()) << "the budget binds even for the first";
    EXPECT_TRUE(s.newest(0, 1 << 20).empty());
}

TYPED_TEST(MessageStoreContract, ChainOfAHeldMessageOnly) {
    auto& s = *this->store_;
    s.append(message('a', 1, 1), 1);
    this->commit();
    EXPECT_EQ(s.chain_of(origin_id('a'), 1), std::optional<std::string>("chain-a1"));
    EXPECT_EQ(s.chain_of(origin_id('a'), 2), std::nullopt);
    EXPECT_EQ(s.chain_of(origin_id('b'), 1), std::nullopt);
}

TYPED_TEST(MessageStoreContract, RangeRunsFromTheFirstHeldUpToAGap) {
    auto& s = *this->store_;
    for (std::uint64_t seq : {2, 3, 4, 6, 7}) s.append(message('b', seq, seq), 1);
    s.append(message('a', 9, 1), 1);
    s.append(message('c', 1, 1), 1);
    this->commit();
    auto const b = origin_id('b');
    EXPECT_EQ(ids(s.range(b, 1, 100, 1 << 20)), (std::vector<id>{{'b', 2}, {'b', 3}, {'b', 4}}));
    EXPECT_EQ(ids(s.range(b, 3, 100, 1 << 20)), (std::vector<id>{{'b', 3}, {'b', 4}}));
    EXPECT_EQ(ids(s.range(b, 5, 100, 1 << 20)), (std::vector<id>{{'b', 6}, {'b', 7}}));
    EXPECT_TRUE(s.range(b, 8, 100, 1 << 20).empty()) << "nothing of b there: not c's";
    EXPECT_TRUE(s.range(origin_id('d'), 1, 100, 1 << 20).empty());
    EXPECT_EQ(ids(s.range(b, 1, 2, 1 << 20)), (std::vector<id>{{'b', 2}, {'b', 3}}));
    EXPECT_EQ(ids(s.range(b, 1, 100, 1)), (std::vector<id>{{'b', 2}})) << "at least one";
    auto const one = engine::approx_size(message('b', 2, 2));
    EXPECT_EQ(ids(s.range(b, 1, 100, 2 * one)), (std::vector<id>{{'b', 2}, {'b', 3}}));
    EXPECT_EQ(ids(s.range(b, 0, 100, 1 << 20)).size(), 3u);
    EXPECT_EQ(s.range(b, 1, 100, 1 << 20)[1], message('b', 3, 3)) << "every field kept";
}

TYPED_TEST(MessageStoreContract, SealsOfAnOriginInARangeAscending) {
    auto& s = *this->store_;
    s.append_seal(seal('a', 8));  // a seal may come before its messages
    s.append_seal(seal('a', 2));
    s.append_seal(seal('a', 5));
    s.append_seal(seal('a', 5));
    s.append_seal(seal('b', 3));
    this->commit();
    auto const got = s.seals(origin_id('a'), 2, 5);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0], seal('a', 2));
    EXPECT_EQ(got[1], seal('a', 5));
    EXPECT_EQ(s.seals(origin_id('a'), 0, UINT64_MAX).size(), 3u);
    EXPECT_TRUE(s.seals(origin_id('a'), 6, 7).empty());
}

TYPED_TEST(MessageStoreContract, TipIsTheNewestMessageEverAppended) {
    auto& s = *this->store_;
    EXPECT_EQ(s.tip_of(origin_id('a')), std::nullopt);
    s.append(message('a', 3, 3), 1);
    s.append(message('a', 1, 1), 1);  // an older one, synced late, moves nothing
    s.append(message('a', 3, 3), 1);
    this->commit();
    EXPECT_EQ(s.tip_of(origin_id('a')), (chain_tip{3, "chain-a3"}));
    EXPECT_EQ(s.tip_of(origin_id('b')), std::nullopt);
}

TYPED_TEST(MessageStoreContract, IdsByOriginThenSeq) {
    auto& s = *this->store_;
    s.append(message('b', 2, 9), 1);
    s.append(message('a', 2, 4), 1);
    s.append(message('b', 1, 8), 1);
    s.append(message('a', 1, 7), 1);
    this->commit();
    std::vector<std::tuple<char, std::uint64_t, std::uint64_t>> seen;
    s.for_each_id([&](std::string_view origin, std::uint64_t seq, std::uint64_t lamport) {
        seen.emplace_back(origin[0], seq, lamport);
    });
    EXPECT_EQ(seen, (std::vector<std::tuple<char, std::uint64_t, std::uint64_t>>{
                        {'a', 1, 7}, {'a', 2, 4}, {'b', 1, 8}, {'b', 2, 9}}));
}

// ---------------------------------------------------------------- the durable store

// Rows of a table in the file, as another process would count them.
std::int64_t rows_in(std::filesystem::path const& file, char const* table) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    auto const sql = std::string("SELECT count(*) FROM ") + table;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    std::int64_t n = -1;
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

class SqliteStore : public ::testing::Test {
  protected:
    std::filesystem::path file() const { return dir_.path() / "history.db"; }
    std::unique_ptr<sqlite_store> open(
        retention keep = {}, std::size_t pending_limit = sqlite_store::default_pending_limit) {
        return std::make_unique<sqlite_store>(file(), keep, io_.get_executor(), pending_limit);
    }
    std::int64_t count_in_file(char const* table) { return rows_in(file(), table); }
    sqlite3_stmt* st = nullptr;

    // Runs SQL on the file with a connection of its own, as another process would.
    void sql(char const* text) {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(file().c_str(), &db), SQLITE_OK);
        EXPECT_EQ(sqlite3_exec(db, text, nullptr, nullptr, nullptr), SQLITE_OK)
            << sqlite3_errmsg(db);
        sqlite3_close(db);
    }
    std::string open_error() {
        try {
            open();
        } catch (std::runtime_error const& e) {
            return e.what();
        }
        return "";
    }

    asio::io_context io_;  // outlives every store: their writers post here
    test::temp_dir dir_;
};

TEST_F(SqliteStore, ReopeningKeepsEverything) {
    {
        auto s = open();
        s->append(message('a', 1, 1), 100);
        s->append(message('a', 2, 2), 101);
        s->append_seal(seal('a', 2));
        s->set_meta("name", "alice");
        ASSERT_TRUE(s->sync());
    }
    auto s = open();
    EXPECT_EQ(s->message_count(), 2u);
    EXPECT_EQ(s->newest(10, 1 << 20), (std::vector{message('a', 1, 1), message('a', 2, 2)}));
    EXPECT_EQ(s->seals(origin_id('a'), 1, 2), std::vector{seal('a', 2)});
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{2, "chain-a2"}));
    EXPECT_EQ(s->meta("name"), std::optional<std::string>("alice"));
    EXPECT_EQ(s->meta("other"), std::nullopt);
    EXPECT_EQ(s->errors(), 0u);
}

TEST_F(SqliteStore, WritesReachTheFileWhenTheWriterCommitsThemAndAreReadAtOnce) {
    auto s = open();
    EXPECT_FALSE(s->unflushed());
    EXPECT_TRUE(s->sync()) << "nothing to write commits nothing";
    s->append(message('a', 1, 1), 1);
    s->append_seal(seal('a', 1));
    EXPECT_TRUE(s->unflushed());
    // The engine reads its own writes before any commit...
    EXPECT_EQ(s->newest(10, 1 << 20), std::vector{message('a', 1, 1)});
    EXPECT_EQ(s->seals(origin_id('a'), 1, 1), std::vector{seal('a', 1)});
    // ...another connection (another process) sees nothing yet...
    EXPECT_EQ(count_in_file("messages"), 0);
    ASSERT_TRUE(s->sync());
    EXPECT_FALSE(s->unflushed());
    EXPECT_EQ(s->pending_bytes(), 0u);
    // ...and everything once the writer committed, with the store still open.
    EXPECT_EQ(count_in_file("messages"), 1);
    EXPECT_EQ(count_in_file("seals"), 1);
    EXPECT_EQ(s->newest(10, 1 << 20), std::vector{message('a', 1, 1)});
}

// The writer puts a batch in by groups of store_writer::insert_rows rows and the rest one by
// one: every message of a batch that is no multiple of the group arrives once, from several
// authors and with one message appended twice, in the order the reads promise.
TEST_F(SqliteStore, ABatchOfManyMessagesIsStoredWholeByGroupsOfRows) {
    constexpr std::uint64_t per_author = store_writer::insert_rows + 7;
    std::vector<wire::chat_msg> sent;
    {
        auto s = open();
        for (std::uint64_t seq = 1; seq <= per_author; ++seq)
            for (char author : {'a', 'b'}) {
                sent.push_back(message(author, seq, 2 * seq + (author == 'b')));
                s->append(sent.back(), 1);
            }
        s->append(message('a', 3, 7), 1);  // appended again: kept once
        ASSERT_TRUE(s->sync());
        EXPECT_EQ(count_in_file("messages"), static_cast<std::int64_t>(2 * per_author));
    }
    auto s = open();
    EXPECT_EQ(s->message_count(), 2 * per_author);
    EXPECT_EQ(s->newest(1000, 1 << 20), sent);
    EXPECT_EQ(s->range(origin_id('b'), 1, 1000, 1 << 20).size(), per_author);
    EXPECT_EQ(s->errors(), 0u);
}

// A batch keeps its messages' text in blocks of its own; an empty field is stored as empty
// text, not as NULL (which the table refuses, and with it the whole transaction).
TEST_F(SqliteStore, EmptyFieldsAreStoredAsEmptyText) {
    auto s = open();
    wire::chat_msg const empty{origin_id('a'), 1, 1, 1000, "", "", ""};
    s->append(empty, 1);
    s->append(message('a', 2, 2), 2);
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->errors(), 0u);
    EXPECT_EQ(count_in_file("messages"), 2);
    EXPECT_EQ(s->newest(10, 1 << 20), (std::vector{empty, message('a', 2, 2)}));
}

// Between the writer's commit and its acknowledgement on the io thread, a message is both in
// the file and in the overlay: reads show it once. (The io_context never runs here, so the
// writer's acknowledgement stays queued.)
TEST_F(SqliteStore, AMessageCommittedButNotYetAcknowledgedIsReadOnce) {
    auto s = open();
    s->append(message('a', 1, 1), 1);
    ASSERT_TRUE(s->sync());
    s->append(message('a', 2, 2), 2);
    s->append(message('a', 3, 3), 3);
    s->append_seal(seal('a', 3));
    s->flush();
    for (int i = 0; i < 500 && count_in_file("messages") != 3; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the writer's thread
    ASSERT_EQ(count_in_file("messages"), 3);
    EXPECT_GT(s->pending_bytes(), 0u) << "not acknowledged yet";
    EXPECT_EQ(ids(s->newest(10, 1 << 20)), (std::vector<id>{{'a', 1}, {'a', 2}, {'a', 3}}));
    EXPECT_EQ(ids(s->range(origin_id('a'), 1, 10, 1 << 20)),
              (std::vector<id>{{'a', 1}, {'a', 2}, {'a', 3}}));
    EXPECT_EQ(s->seals(origin_id('a'), 0, 10), std::vector{seal('a', 3)});
    EXPECT_EQ(s->chain_of(origin_id('a'), 2), std::optional<std::string>("chain-a2"));
    std::size_t seen = 0;
    s->for_each_id([&](std::string_view, std::uint64_t, std::uint64_t) { ++seen; });
    EXPECT_EQ(seen, 3u);
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->pending_bytes(), 0u);
}

// A front end's reply waits for the commit without blocking the io thread: durable() is a
// coroutine that the writer's acknowledgement (posted to the io_context) resumes.
TEST_F(SqliteStore, DurableResumesOnceTheWriterCommitted) {
    auto s = open();
    bool done = false;
    std::int64_t in_file_when_resumed = -1;
    asio::co_spawn(
        io_,
        [](sqlite_store& store, bool& done, std::int64_t& seen) -> awaitable<void> {
            store.append(message('a', 1, 1), 1);
            co_await store.durable();
            seen = rows_in(store.file(), "messages");
            done = true;
        }(*s, done, in_file_when_resumed),
        asio::detached);
    auto guard = asio::make_work_guard(io_);  // the acknowledgement comes from another thread
    for (int i = 0; i < 500 && !done; ++i) io_.run_for(std::chrono::milliseconds(10));
    EXPECT_TRUE(done);
    EXPECT_EQ(in_file_when_resumed, 1);
}

// Writes wait in memory for the writer up to a byte bound; beyond it messages are refused
// (counted as storage errors), their tips still move, and the store goes on.
TEST_F(SqliteStore, PendingWritesAreBoundedAndTheExcessIsCountedNotStored) {
    auto const one = engine::approx_size(message('a', 1, 1, 100)) + 200;
    auto s = open({}, 5 * one);
    for (std::uint64_t seq = 1; seq <= 20; ++seq) s->append(message('a', seq, seq, 100), 1);
    EXPECT_LE(s->pending_bytes(), 5 * one);
    EXPECT_GE(s->errors(), 10u) << "the refused are counted";
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{20, "chain-a20"})) << "seqs never repeat";
    ASSERT_TRUE(s->sync());
    auto const stored = s->message_count();
    EXPECT_GE(stored, 1u);
    EXPECT_LE(stored, 5u);
    // Room again once the writer caught up.
    s->append(message('a', 21, 21, 100), 2);
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->message_count(), stored + 1);
    s.reset();
    s = open();
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{21, "chain-a21"}));
}

// A file written by schema version 1 (issue 10, item 2: author keys as text in every row)
// is migrated in place at open, and keeps every message, seal, tip, name and peer.
TEST_F(SqliteStore, AVersion1FileIsMigratedAndKeepsEverything) {
    sql("PRAGMA journal_mode=WAL;");
    sql(test::history_schema_v1);
    auto const a = origin_id('a'), b = origin_id('b'), c = origin_id('c');
    auto insert = "INSERT INTO messages VALUES('', '" + a +
                  "', 1, 5, 1001, 100, 'name-a', 'xxxxx', 'chain-a1');" +
                  "INSERT INTO messages VALUES('', '" + a +
                  "', 2, 7, 1002, 101, 'name-a', 'xxxxx', 'chain-a2');" +
                  "INSERT INTO messages VALUES('', '" + b +
                  "', 1, 6, 1001, 102, 'name-b', 'xxxxx', 'chain-b1');" +
                  "INSERT INTO seals VALUES('', '" + a + "', 2, 'chain-a2', 'sig2');" +
                  "INSERT INTO tips VALUES('', '" + a + "', 2, 'chain-a2');" +
                  "INSERT INTO tips VALUES('', '" + b + "', 1, 'chain-b1');" +
                  // an author whose messages were all pruned: only the tip is left
                  "INSERT INTO tips VALUES('', '" + c + "', 9, 'chain-c9');" +
                  "INSERT INTO meta VALUES('name', 'alice');" + "INSERT INTO peers VALUES('" + b +
                  "', 'pb', '127.0.0.2:2', 7, 'alive', 'sig', 50);";
    sql(insert.c_str());
    {
        auto s = open();
        EXPECT_EQ(s->message_count(), 3u);
        EXPECT_EQ(s->newest(10, 1 << 20),
                  (std::vector{message('a', 1, 5), message('b', 1, 6), message('a', 2, 7)}));
        EXPECT_EQ(s->seals(a, 0, 10), std::vector{seal('a', 2)});
        EXPECT_EQ(s->tip_of(a), (chain_tip{2, "chain-a2"}));
        EXPECT_EQ(s->tip_of(c), (chain_tip{9, "chain-c9"}));
        EXPECT_EQ(s->meta("name"), std::optional<std::string>("alice"));
        EXPECT_EQ(s->remembered_peers(10).size(), 1u);
        // It goes on writing in version 2.
        s->append(message('c', 10, 8), 103);
        ASSERT_TRUE(s->sync());
        EXPECT_EQ(s->errors(), 0u);
    }
    EXPECT_EQ(count_in_file("origins"), 3);
    auto s = open();
    EXPECT_EQ(ids(s->newest(10, 1 << 20)),
              (std::vector<id>{{'a', 1}, {'b', 1}, {'a', 2}, {'c', 10}}));
    EXPECT_EQ(s->tip_of(c), (chain_tip{10, "chain-c10"}));
}

TEST_F(SqliteStore, ANewerSchemaIsRefusedWithOneLine) {
    open();
    sql("PRAGMA user_version = 99");
    auto const error = open_error();
    EXPECT_NE(error.find("history.db"), std::string::npos) << error;
    EXPECT_NE(error.find("schema version 99 is newer"), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;
}

TEST_F(SqliteStore, AFileThatIsNotADatabaseIsRefused) {
    std::ofstream(file()) << std::string(8192, 'z');
    auto const error = open_error();
    EXPECT_NE(error.find("cannot open the history database " + file().string()), std::string::npos)
        << error;
    EXPECT_NE(error.find("not a database"), std::string::npos) << error;
}

TEST_F(SqliteStore, AnotherProgramsDatabaseIsRefused) {
    sql("CREATE TABLE t(x)");
    EXPECT_NE(open_error().find("another program"), std::string::npos);
}

TEST_F(SqliteStore, AnUnopenablePathIsRefused) {
    std::filesystem::create_directory(file());  // a directory where the file should be
    EXPECT_NE(open_error().find("cannot open the history database"), std::string::npos);
}

TEST_F(SqliteStore, RetentionByCountPrunesTheOldestInHistoryOrderAndTheirSealsNeverTheTips) {
    auto s = open({.max_messages = 3, .max_age = std::chrono::days(0)});
    for (std::uint64_t seq = 1; seq <= 5; ++seq) {
        s->append(message('a', seq, 10 - seq), static_cast<std::int64_t>(seq));
        s->append_seal(seal('a', seq));
    }
    s->append(message('b', 1, 1), 6);
    // The writer prunes by count on its own once it has nothing else to write.
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->pruned(), 3u);
    EXPECT_EQ(s->message_count(), 3u);
    // History order, not arrival order: b1 (Lamport 1), a5 (5) and a4 (6) are the oldest.
    EXPECT_EQ(ids(s->newest(10, 1 << 20)), (std::vector<id>{{'a', 3}, {'a', 2}, {'a', 1}}));
    EXPECT_EQ(s->seals(origin_id('a'), 0, 10),
              (std::vector{seal('a', 1), seal('a', 2), seal('a', 3)}));
    EXPECT_EQ(s->tip_of(origin_id('b')), (chain_tip{1, "chain-b1"}));
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{5, "chain-a5"}));
    s->prune(2000);
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->pruned(), 3u) << "nothing beyond the limit";
    // A lowered limit holds once the store is open; a tip outlives every message of its
    // origin, across a reopen.
    s.reset();
    s = open({.max_messages = 1, .max_age = std::chrono::days(0)});
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->message_count(), 1u);
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{5, "chain-a5"}));
}

TEST_F(SqliteStore, RetentionByCountCutsExactlyInsideOneLamportTime) {
    // The step's last message shares its Lamport time with the next: the cut falls between
    // authors of one Lamport time, and each author loses the seals of what it lost.
    auto s = open({.max_messages = 2, .max_age = std::chrono::days(0)});
    for (auto const& [origin, seq, lamport] :
         {std::tuple{'a', 1, 1}, {'b', 1, 1}, {'a', 2, 2}, {'b', 2, 2}, {'c', 1, 2}}) {
        s->append(message(origin, seq, lamport), 1);
        s->append_seal(seal(origin, seq));
    }
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->pruned(), 3u);
    EXPECT_EQ(s->message_count(), 2u);
    EXPECT_EQ(ids(s->newest(10, 1 << 20)), (std::vector<id>{{'b', 2}, {'c', 1}}));
    EXPECT_TRUE(s->seals(origin_id('a'), 0, 10).empty());
    EXPECT_EQ(s->seals(origin_id('b'), 0, 10), std::vector{seal('b', 2)});
    EXPECT_EQ(s->seals(origin_id('c'), 0, 10), std::vector{seal('c', 1)});
}

TEST_F(SqliteStore, RetentionByAgeGoesByArrivalTime) {
    auto s = open({.max_messages = 0, .max_age = std::chrono::days(1)});
    std::int64_t const day = 86'400'000, now = 10 * day;
    s->append(message('a', 1, 1), now - 3 * day);
    s->append(message('a', 2, 2), now - day - 1);
    s->append(message('a', 3, 3), now - day + 1000);
    s->append(message('a', 4, 4), now);
    for (std::uint64_t seq = 1; seq <= 4; ++seq) s->append_seal(seal('a', seq));
    ASSERT_TRUE(s->sync());
    s->prune(now);
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->pruned(), 2u);
    EXPECT_EQ(ids(s->newest(10, 1 << 20)), (std::vector<id>{{'a', 3}, {'a', 4}}));
    EXPECT_EQ(s->seals(origin_id('a'), 0, 10), (std::vector{seal('a', 3), seal('a', 4)}));
}

TEST_F(SqliteStore, PruningByAgeIsDueOnceAMinuteWhateverIsAppended) {
    auto s = open({.max_messages = 10, .max_age = std::chrono::days(1)});
    s->prune(0);
    EXPECT_FALSE(s->prune_due(1000));
    EXPECT_TRUE(s->prune_due(sqlite_store::prune_every_ms));
    for (std::uint64_t seq = 1; seq <= 100; ++seq) s->append(message('a', seq, seq), 1);
    EXPECT_FALSE(s->prune_due(1000)) << "the count is the writer's business";
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->message_count(), 10u);
}

TEST_F(SqliteStore, RemembersTheNewestPeersUpToTheBound) {
    auto s = open();
    auto peer = [](char c, std::string addr) {
        return wire::peer_entry{
            origin_id(c), std::string("p") + c, std::move(addr), 7, wire::peer_state::alive, "sig"};
    };
    s->remember_peers({peer('a', "127.0.0.1:1"), peer('b', "127.0.0.2:2")}, 100, 3);
    s->remember_peers({peer('c', "127.0.0.3:3"), peer('d', "127.0.0.4:4")}, 200, 3);
    ASSERT_TRUE(s->sync());
    s.reset();
    s = open();
    auto const known = s->remembered_peers(10);
    ASSERT_EQ(known.size(), 3u) << "the oldest seen goes beyond the bound";
    EXPECT_EQ(known[0].entry, peer('c', "127.0.0.3:3"));
    EXPECT_EQ(known[0].last_seen_ms, 200);
    EXPECT_EQ(known[2].entry.id, origin_id('a'));
    s->forget_peer(origin_id('c'));
    ASSERT_TRUE(s->sync());
    EXPECT_EQ(s->remembered_peers(10).size(), 2u);
    EXPECT_EQ(s->remembered_peers(1).size(), 1u);
    s->forget_all_peers();
    ASSERT_TRUE(s->sync());
    EXPECT_TRUE(s->remembered_peers(10).empty());
}

// A write that fails (here: a lock another process holds) rolls its transaction back; the
// store goes on, and the tips are written with the next commit that succeeds, so that no
// seq is used twice even for messages the file lost.
TEST_F(SqliteStore, AFailedCommitRollsBackButKeepsTheTips) {
    auto s = open();
    s->append(message('a', 1, 1), 1);
    ASSERT_TRUE(s->sync());
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(file().c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
    s->append(message('a', 2, 2), 2);
    s->append_seal(seal('a', 2));
    s->append(message('a', 3, 3), 3);
    EXPECT_FALSE(s->sync());
    EXPECT_GT(s->errors(), 0u);
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{3, "chain-a3"}));
    ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(other);
    EXPECT_TRUE(s->sync());
    s->append(message('a', 4, 4), 4);
    EXPECT_TRUE(s->sync());
    s.reset();
    s = open();
    EXPECT_EQ(ids(s->newest(10, 1 << 20)), (std::vector<id>{{'a', 1}, {'a', 4}}));
    EXPECT_TRUE(s->seals(origin_id('a'), 0, 10).empty());
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{4, "chain-a4"}));
    EXPECT_EQ(s->message_count(), 2u);
}

TEST_F(SqliteStore, TipsReachTheFileEvenWhenTheirMessagesDidNot) {
    {
        auto s = open();
        sqlite3* other = nullptr;
        ASSERT_EQ(sqlite3_open(file().c_str(), &other), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
        s->append(message('a', 7, 7), 1);
        EXPECT_FALSE(s->sync());
        ASSERT_EQ(sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(other);
        EXPECT_TRUE(s->sync());
    }
    auto s = open();
    EXPECT_EQ(s->message_count(), 0u);
    EXPECT_EQ(s->tip_of(origin_id('a')), (chain_tip{7, "chain-a7"}));
}

}  // namespace
}  // namespace p2pchat::daemon
