#pragma once
// The history database's schema version 2 as it shipped, frozen here: the migration tests
// write a version-2 file with it (docs/STORAGE.md, "Migration 2 → 3").

namespace p2pchat::test {

inline constexpr char const* history_schema_v2 = R"sql(
CREATE TABLE origins(id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE messages(room TEXT NOT NULL DEFAULT '', origin INTEGER NOT NULL,
    seq INTEGER NOT NULL, lamport INTEGER NOT NULL, time_ms INTEGER NOT NULL,
    arrived_ms INTEGER NOT NULL, name TEXT NOT NULL, text TEXT NOT NULL, chain TEXT NOT NULL,
    event_seq INTEGER, PRIMARY KEY(room, origin, seq)) WITHOUT ROWID;
CREATE TABLE seals(room TEXT NOT NULL DEFAULT '', origin INTEGER NOT NULL,
    seq INTEGER NOT NULL, chain TEXT NOT NULL, sig TEXT NOT NULL,
    PRIMARY KEY(room, origin, seq)) WITHOUT ROWID;
CREATE TABLE tips(room TEXT NOT NULL DEFAULT '', origin INTEGER NOT NULL,
    seq INTEGER NOT NULL, chain TEXT NOT NULL, PRIMARY KEY(room, origin)) WITHOUT ROWID;
CREATE INDEX messages_history ON messages(room, lamport, origin, seq);
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE peers(id TEXT PRIMARY KEY, name TEXT NOT NULL, addr TEXT NOT NULL,
    inc INTEGER NOT NULL, state TEXT NOT NULL, sig TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 2;
)sql";

}  // namespace p2pchat::test
