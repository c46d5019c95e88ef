#include "daemon/store_schema.hpp"

namespace p2pchat::daemon::store_schema {

namespace {

// Every table that holds messages is keyed by room first ('' is the one room there is
// today), so that rooms join without rewriting a row. Messages live in their primary key's
// b-tree (WITHOUT ROWID): an insert updates two b-trees, the key and the history index.
// `origin` columns are origins.id. The history index's entries carry the primary key, so
// (room, lamport) is all it needs to name: history order is (lamport, origins.key), and a
// reader sorts the rare ties of one Lamport time by key (SQLite's "temp b-tree for right part
// of ORDER BY").
constexpr char const* tables_v2 = R"sql(
CREATE TABLE origins(
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE);
CREATE TABLE messages(
    room TEXT NOT NULL DEFAULT '',
    origin INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    lamport INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    arrived_ms INTEGER NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    chain TEXT NOT NULL,
    event_seq INTEGER,
    PRIMARY KEY(room, origin, seq)) WITHOUT ROWID;
CREATE TABLE seals(
    room TEXT NOT NULL DEFAULT '',
    origin INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    chain TEXT NOT NULL,
    sig TEXT NOT NULL,
    PRIMARY KEY(room, origin, seq)) WITHOUT ROWID;
CREATE TABLE tips(
    room TEXT NOT NULL DEFAULT '',
    origin INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    chain TEXT NOT NULL,
    PRIMARY KEY(room, origin)) WITHOUT ROWID;
)sql";

constexpr char const* index_v2 =
    "CREATE INDEX messages_history ON messages(room, lamport, origin, seq);";

// The tables that did not change from version 1.
constexpr char const* node_state = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE peers(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    addr TEXT NOT NULL,
    inc INTEGER NOT NULL,
    state TEXT NOT NULL,
    sig TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// Version 1 -> 2: the old tables step aside, the new ones (tables_v2) are made, the keys go
// into `origins` and every row is copied once with its key's id. Event numbers: the rows of
// version 1 get NULL, except the newest 10 000 in history order, numbered 1..n (what a
// version-1 daemon replayed at start, under those numbers), so that they are shown again
// after the upgrade; meta 'event_seq' holds the numbers handed out so far (the node reserves
// ahead of it).
constexpr char const* set_aside_v1 = R"sql(
ALTER TABLE messages RENAME TO messages_v1;
ALTER TABLE seals RENAME TO seals_v1;
ALTER TABLE tips RENAME TO tips_v1;
DROP INDEX messages_history;
)sql";

constexpr char const* copy_v1 = R"sql(
INSERT INTO origins(key)
    SELECT origin FROM tips_v1 UNION SELECT origin FROM messages_v1
    UNION SELECT origin FROM seals_v1;
INSERT INTO messages
    SELECT m.room, o.id, m.seq, m.lamport, m.time_ms, m.arrived_ms, m.name, m.text, m.chain,
           numbered.n
    FROM messages_v1 m JOIN origins o ON o.key = m.origin
    LEFT JOIN (SELECT room, origin, seq, row_number() OVER (ORDER BY lamport, origin, seq) AS n
               FROM (SELECT room, origin, seq, lamport FROM messages_v1 WHERE room = ''
                     ORDER BY lamport DESC, origin DESC, seq DESC LIMIT 10000)) AS numbered
        ON numbered.room = m.room AND numbered.origin = m.origin AND numbered.seq = m.seq;
INSERT OR REPLACE INTO meta(key, value)
    SELECT 'event_seq', CAST(coalesce(max(event_seq), 0) AS TEXT) FROM messages;
INSERT INTO seals
    SELECT s.room, o.id, s.seq, s.chain, s.sig FROM seals_v1 s JOIN origins o ON o.key = s.origin;
INSERT INTO tips
    SELECT t.room, o.id, t.seq, t.chain FROM tips_v1 t JOIN origins o ON o.key = t.origin;
DROP TABLE messages_v1;
DROP TABLE seals_v1;
DROP TABLE tips_v1;
)sql";

// Version 2 -> 3: whether a message was shown as late (it came by sync or in a welcome's
// history), so that a restarted node shows it again as it was shown. Adding a column with a
// constant default rewrites no row.
constexpr char const* add_late_v3 =
    "ALTER TABLE messages ADD COLUMN late INTEGER NOT NULL DEFAULT 0;";

std::string error_of(sqlite::database& db) { return db.message(); }

// Runs `sql` and sets the version, in one transaction: a crash leaves the old file whole.
std::string in_transaction(sqlite::database& db, std::string const& sql) {
    if (db.exec("BEGIN IMMEDIATE") != SQLITE_OK) return error_of(db);
    std::string const all = sql + "PRAGMA user_version = " + std::to_string(version) + ";";
    if (db.exec(all.c_str()) != SQLITE_OK || db.exec("COMMIT") != SQLITE_OK) {
        std::string why = error_of(db);
        db.exec("ROLLBACK");
        return why;
    }
    return {};
}

}  // namespace

std::string prepare(sqlite::database& db) {
    sqlite::statement read;
    if (db.prepare("PRAGMA user_version", read) != SQLITE_OK || read.step() != SQLITE_ROW)
        return error_of(db);
    auto const found = read.int64(0);
    read = {};
    if (found > version)
        return "its schema version " + std::to_string(found) + " is newer than this p2pchatd's (" +
               std::to_string(version) + "); run a newer p2pchatd";
    if (found == version) return {};
    if (found == 2) return in_transaction(db, add_late_v3);
    if (found == 1)
        return in_transaction(
            db, std::string(set_aside_v1) + tables_v2 + copy_v1 + index_v2 + add_late_v3);
    if (db.prepare("SELECT count(*) FROM sqlite_master", read) != SQLITE_OK ||
        read.step() != SQLITE_ROW)
        return error_of(db);
    if (read.int64(0) != 0) return "it holds tables of another program (schema version 0)";
    read = {};
    return in_transaction(db, std::string(tables_v2) + index_v2 + node_state + add_late_v3);
}

}  // namespace p2pchat::daemon::store_schema
