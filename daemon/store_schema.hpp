#pragma once
// The history database's schema (docs/STORAGE.md, "Schema"): creating it in an empty file,
// and migrating an older version in place, inside one transaction, at start.
//
// Version 2 keeps each author's 64-character id once, in `origins`, and refers to it by a
// small integer everywhere else: the keys of both b-trees a message is stored in shrink from
// about 70 bytes to a few, which made storing a message about 35% cheaper (measured with
// 100 000 messages in 2000-message transactions: 4.3 -> 2.7 us of CPU each) and the file
// about 60% smaller. It also keeps with each message the number of the event that showed it
// (`event_seq`, for `tail --since N` across restarts). Version 1 (issue 10, item 2) kept the
// key text in every row and had no event numbers; one migration does both. Version 3 keeps
// whether the event that showed a message said `late`, so that a restart shows it the same.
#include <string>

#include "daemon/sqlite.hpp"

namespace p2pchat::daemon::store_schema {

inline constexpr int version = 3;

// Brings the open database `db` to `version`: creates the schema in an empty file, migrates
// an older one. Returns an empty string, or why the file cannot be used (a newer schema,
// another program's tables, an SQLite error), one line.
std::string prepare(sqlite::database& db);

}  // namespace p2pchat::daemon::store_schema
