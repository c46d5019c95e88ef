#include "daemon/history_reader.hpp"

#include <algorithm>
#include <climits>
#include <set>

#include "common/engine/message_store.hpp"

namespace p2pchat::daemon {

namespace {

// Messages name their author by origins.id (docs/STORAGE.md, "Schema"); rows carry its key.
// CROSS JOIN: messages is the outer loop, read in history order through messages_history.
constexpr char const* columns =
    "o.key, m.seq, m.lamport, m.time_ms, m.name, m.text, m.chain, m.event_seq, m.arrived_ms, "
    "m.late "
    "FROM messages m CROSS JOIN origins o ON o.id = m.origin";

// A reader waits this long at most for a lock (a checkpoint in progress): the io thread waits.
constexpr int busy_timeout_ms = 100;

stored_message read_row(sqlite::statement const& s) {
    return {{.origin = std::string(s.text(0)),
             .seq = s.uint64(1),
             .lamport = s.uint64(2),
             .time_ms = s.int64(3),
             .name = std::string(s.text(4)),
             .text = std::string(s.text(5)),
             .chain = std::string(s.text(6))},
            s.int64(8),
            s.is_null(7) ? 0 : s.uint64(7),
            s.int64(9) != 0};
}

bool is_hex(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool contains_ignoring_case(std::string_view text, std::string_view lower_needle) {
    auto const lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return std::search(text.begin(), text.end(), lower_needle.begin(), lower_needle.end(),
                       [&](char a, char b) { return lower(a) == b; }) != text.end();
}

author_match match_authors(std::string_view who,
                           std::vector<std::pair<std::string, std::string>> const& authors) {
    author_match out;
    for (auto const& [id, name] : authors)
        if (id == who) return {{id}, {}};
    for (auto const& [id, name] : authors)
        if (name == who) out.ids.push_back(id);
    if (!out.ids.empty()) return out;
    if (who.size() >= 4 && is_hex(who)) {
        std::set<std::string> ids;  // an author may be listed twice (a peer and the store)
        for (auto const& [id, name] : authors)
            if (id.starts_with(who)) ids.insert(id);
        if (ids.size() == 1) return {{*ids.begin()}, {}};
        if (ids.size() > 1) {
            out.error = "'" + std::string(who) + "' is the start of " + std::to_string(ids.size()) +
                        " authors' ids; give more of it";
            return out;
        }
    }
    out.error = "no author named '" + std::string(who) + "' or with an id starting so";
    return out;
}

std::string history_reader::failure(char const* what) const {
    return "cannot read the history database " + file_.string() + " (" + what +
           "): " + (db_ ? db_->message() : "not open");
}

std::string history_reader::open() {
    if (db_) return {};
    auto& db = db_.emplace();
    if (db.open_read_only(file_.string()) != SQLITE_OK) {
        auto why = failure("opening");
        db_.reset();
        return why;
    }
    sqlite3_busy_timeout(db.get(), busy_timeout_ms);
    // A small page cache: this connection lives as long as the daemon (idle RSS, bench B5).
    db.exec("PRAGMA cache_size=-1024");
    std::string const cols = columns;
    // History order, newest first, from a cursor: a range on the index messages_history.
    // Ties of one Lamport time are ordered by the author's key, sorted apart (the index holds
    // origins.id).
    if (db.prepare("SELECT " + cols +
                       " WHERE m.room = '' AND m.lamport <= ?1 AND "
                       "(m.lamport, o.key, m.seq) < (?1, ?2, ?3) "
                       "ORDER BY m.lamport DESC, o.key DESC, m.seq DESC LIMIT ?4",
                   page_) != SQLITE_OK ||
        // No index on event_seq (it would cost every insert a third b-tree): this sorts, once
        // at start.
        db.prepare("SELECT " + cols +
                       " WHERE m.room = '' AND m.event_seq IS NOT NULL "
                       "ORDER BY m.event_seq DESC LIMIT ?1",
                   numbered_) != SQLITE_OK ||
        db.prepare("SELECT o.key, coalesce((SELECT name FROM messages m WHERE m.room = "
                   "t.room AND m.origin = t.origin ORDER BY m.seq DESC LIMIT 1), '') "
                   "FROM tips t JOIN origins o ON o.id = t.origin WHERE t.room = ''",
                   authors_) != SQLITE_OK) {
        auto why = failure("preparing");
        page_ = {};
        numbered_ = {};
        authors_ = {};
        db_.reset();
        return why;
    }
    return {};
}

std::string history_reader::page(history_filter const& filter,
                                 std::optional<history_cursor> const& before, std::size_t limit,
                                 std::size_t max_bytes, history_page& out) {
    out = {};
    if (auto why = open(); !why.empty()) return why;
    auto& s = page_.reset();
    if (before)
        s.bind(1, before->lamport).bind(2, std::string_view(before->origin)).bind(3, before->seq);
    else
        s.bind(1, std::int64_t{INT64_MAX}).bind(2, std::string_view("")).bind(3, std::int64_t{0});
    s.bind(4, static_cast<std::int64_t>(scan_step));
    std::string const needle = ascii_lower(filter.grep);
    std::size_t scanned = 0, bytes = 0;
    history_cursor last;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        ++scanned;
        last = {s.uint64(2), std::string(s.text(0)), s.uint64(1)};
        auto const sent = s.int64(3);
        bool const wanted =
            (!filter.since_ms || sent >= *filter.since_ms) &&
            (!filter.until_ms || sent <= *filter.until_ms) &&
            (filter.from.empty() ||
             std::find(filter.from.begin(), filter.from.end(), s.text(0)) != filter.from.end()) &&
            (needle.empty() || contains_ignoring_case(s.text(5), needle));
        if (wanted) {
            out.messages.push_back(read_row(s));
            bytes += engine::approx_size(out.messages.back().chat);
            if (out.messages.size() >= limit || bytes >= max_bytes) break;
        }
    }
    bool const ended = rc == SQLITE_DONE && scanned < scan_step;
    s.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return failure("a page of history");
    if (!ended && scanned > 0) out.next = std::move(last);
    std::reverse(out.messages.begin(), out.messages.end());
    return {};
}

std::string history_reader::numbered_newest(std::size_t max, std::vector<stored_message>& out) {
    out.clear();
    if (auto why = open(); !why.empty()) return why;
    auto& s = numbered_.reset().bind(1, static_cast<std::int64_t>(std::min<std::size_t>(
                                            max, static_cast<std::size_t>(INT64_MAX))));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(read_row(s));
    s.reset();
    if (rc != SQLITE_DONE) return failure("the numbered messages");
    std::reverse(out.begin(), out.end());
    return {};
}

std::string history_reader::authors(std::vector<std::pair<std::string, std::string>>& out) {
    out.clear();
    if (auto why = open(); !why.empty()) return why;
    auto& s = authors_.reset();
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.emplace_back(s.text(0), s.text(1));
    s.reset();
    if (rc != SQLITE_DONE) return failure("the authors");
    return {};
}

}  // namespace p2pchat::daemon
