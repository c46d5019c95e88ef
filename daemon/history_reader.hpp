#pragma once
// Reads the history database (docs/STORAGE.md) for those who show it: the `messages` control
// method (`p2pchatctl history`, `tail -n`) and the event log's replay at start. Writes stay
// with sqlite_store; this is a second, read-only connection to the same file, opened at the
// first read, so a query can never write and never touches the store's transaction. In WAL
// mode it sees what was committed: the node commits before it reads (node::messages()).
//
// Bounded: a page scans at most scan_step rows in history order (Lamport time, origin, seq:
// the index messages_history, newest first) whatever the filters, so one query holds the io
// thread for a few milliseconds at most; the caller goes on from the cursor it returns.
//
// Single-threaded (the io thread).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/wire/messages.hpp"
#include "daemon/sqlite.hpp"

namespace p2pchat::daemon {

// A message as the store holds it, with when it arrived and the event number it was shown with
// (0: none, a message stored by a version-1 daemon that was not among those numbered).
struct stored_message {
    wire::chat_msg chat;
    std::int64_t arrived_ms = 0;
    std::uint64_t event_seq = 0;
    bool late = false;  // shown as late (engine::message_arrived::late)
};

// A place in history order: a page holds the messages before it.
struct history_cursor {
    std::uint64_t lamport = 0;
    std::string origin;
    std::uint64_t seq = 0;
};

struct history_filter {
    std::optional<std::int64_t> since_ms;  // sent at or after (the author's clock)
    std::optional<std::int64_t> until_ms;  // sent at or before
    std::vector<std::string> from;         // these authors' ids; empty: everyone
    std::string grep;                      // a substring of the text, any ASCII case; empty: all
};

struct history_page {
    std::vector<stored_message> messages;  // oldest first
    // Where the next page starts, when rows were left unscanned.
    std::optional<history_cursor> next;
};

class history_reader {
  public:
    static constexpr std::size_t scan_step = 5'000;

    explicit history_reader(std::filesystem::path file) : file_(std::move(file)) {}

    // The newest messages before `before` (the newest of all without it) that pass `filter`:
    // at most `limit` of them and about max_bytes of text, looking at no more than scan_step
    // rows. An empty string when it worked, else why not (one line).
    std::string page(history_filter const& filter, std::optional<history_cursor> const& before,
                     std::size_t limit, std::size_t max_bytes, history_page& out);

    // The newest `max` messages that have event numbers, in event-number order: what a
    // restarted daemon puts back into its event log.
    std::string numbered_newest(std::size_t max, std::vector<stored_message>& out);

    // Every author the store knows (the chain tips, kept past retention) and the name of its
    // newest stored message ("" when all its messages were pruned).
    std::string authors(std::vector<std::pair<std::string, std::string>>& out);

  private:
    std::string open();
    std::string failure(char const* what) const;

    std::filesystem::path file_;
    std::optional<sqlite::database> db_;  // open from the first read that worked
    sqlite::statement page_, numbered_, authors_;
};

// Lower-cases ASCII letters (the case folding --grep does: SQLite's LIKE does the same).
std::string ascii_lower(std::string_view s);
// Whether `text` contains `lower_needle` (already ascii_lower'ed), ignoring ASCII case.
bool contains_ignoring_case(std::string_view text, std::string_view lower_needle);

// Who `who` names among `authors` (id, current name): the one whose id it is; else everyone
// whose name it is; else the one whose id starts with it (at least 4 hex digits). Errors are
// one line: nobody, or a prefix that names several.
struct author_match {
    std::vector<std::string> ids;
    std::string error;
};
author_match match_authors(std::string_view who,
                           std::vector<std::pair<std::string, std::string>> const& authors);

}  // namespace p2pchat::daemon
