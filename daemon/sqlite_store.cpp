#include "daemon/sqlite_store.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "daemon/log.hpp"

namespace p2pchat::daemon {

namespace {

// The schema of version 1 (docs/STORAGE.md). Every table is keyed by room first ('' is the
// one room there is today), so that rooms join without rewriting a row. Messages are stored
// in their primary key's b-tree (WITHOUT ROWID): an insert updates two b-trees, not three.
constexpr char const* schema_v1 = R"sql(
CREATE TABLE messages(
    room TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    lamport INTEGER NOT NULL,
    time_ms INTEGER NOT NULL,
    arrived_ms INTEGER NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    chain TEXT NOT NULL,
    PRIMARY KEY(room, origin, seq)) WITHOUT ROWID;
CREATE INDEX messages_history ON messages(room, lamport, origin, seq);
CREATE TABLE seals(
    room TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    chain TEXT NOT NULL,
    sig TEXT NOT NULL,
    PRIMARY KEY(room, origin, seq)) WITHOUT ROWID;
CREATE TABLE tips(
    room TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    chain TEXT NOT NULL,
    PRIMARY KEY(room, origin)) WITHOUT ROWID;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE peers(
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    addr TEXT NOT NULL,
    inc INTEGER NOT NULL,
    state TEXT NOT NULL,
    sig TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

// Version 2 (issue 10, item 6): each message keeps the event number it was shown with
// (`event_seq`), so that a restarted daemon replays it under the same number and `tail
// --since N` is exact across restarts. ADD COLUMN rewrites no row; the rows of version 1 get
// NULL, except the newest 10 000 in history order, which are numbered 1..n
// (what a version-1 daemon replayed at start), so that they are shown again after the upgrade.
// meta 'event_seq' holds the numbers handed out so far (the node reserves ahead of it).
constexpr char const* migrate_v1_to_v2 = R"sql(
ALTER TABLE messages ADD COLUMN event_seq INTEGER;
UPDATE messages SET event_seq = numbered.n FROM
    (SELECT room, origin, seq, row_number() OVER (ORDER BY lamport, origin, seq) AS n
     FROM (SELECT room, origin, seq, lamport FROM messages WHERE room = ''
           ORDER BY lamport DESC, origin DESC, seq DESC LIMIT 10000)) AS numbered
    WHERE messages.room = numbered.room AND messages.origin = numbered.origin
      AND messages.seq = numbered.seq;
INSERT OR REPLACE INTO meta(key, value)
    SELECT 'event_seq', CAST(coalesce(max(event_seq), 0) AS TEXT) FROM messages;
PRAGMA user_version = 2;
)sql";

constexpr char const* message_columns = "origin, seq, lamport, time_ms, name, text, chain";

// How long a write waits for a lock another process holds (someone reading the file with
// the sqlite3 shell): short, because the io thread waits with it.
constexpr int busy_timeout_ms = 1000;

std::int64_t limit_of(std::size_t n) {
    return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX));
}

// The first failures, then one in a hundred: a disk that stays full must not flood the log.
bool worth_logging(std::uint64_t errors) { return errors <= 10 || errors % 100 == 0; }

}  // namespace

sqlite_store::sqlite_store(std::filesystem::path file, retention keep)
    : file_(std::move(file)), keep_(keep) {
    auto fail = [this](std::string why) {
        // SQLite's message ("unable to open database file") does not say why; errno does.
        if (int const e = db_.get() ? sqlite3_system_errno(db_.get()) : 0; e != 0)
            why += std::string(" (") + std::strerror(e) + ")";
        throw std::runtime_error("cannot open the history database " + file_.string() + ": " + why);
    };
    if (db_.open(file_.string()) != SQLITE_OK) fail(db_.message());
    sqlite3_busy_timeout(db_.get(), busy_timeout_ms);
    // The first statements read the file: a file that is not a database fails here.
    sqlite::statement version;
    if (db_.prepare("PRAGMA user_version", version) != SQLITE_OK || version.step() != SQLITE_ROW)
        fail(db_.message());
    auto const found = version.int64(0);
    version = {};
    if (found > schema_version)
        fail("its schema version " + std::to_string(found) + " is newer than this p2pchatd's (" +
             std::to_string(schema_version) + "); run a newer p2pchatd");
    // WAL: readers never block the writer, and a commit is one append to the log.
    // synchronous=NORMAL: the WAL is synced at checkpoints, not at every commit; a process
    // crash loses nothing committed, a power loss may lose the last transactions.
    sqlite::statement journal;
    if (db_.prepare("PRAGMA journal_mode=WAL", journal) != SQLITE_OK ||
        journal.step() != SQLITE_ROW)
        fail(db_.message());
    if (journal.text(0) != "wal") fail("cannot use write-ahead logging");
    journal = {};
    if (db_.exec("PRAGMA synchronous=NORMAL") != SQLITE_OK) fail(db_.message());
    auto exec_in_transaction = [&](char const* sql) {
        if (db_.exec("BEGIN") != SQLITE_OK || db_.exec(sql) != SQLITE_OK ||
            db_.exec("COMMIT") != SQLITE_OK)
            fail(db_.message());
    };
    if (found == 0) {
        sqlite::statement tables;
        if (db_.prepare("SELECT count(*) FROM sqlite_master", tables) != SQLITE_OK ||
            tables.step() != SQLITE_ROW)
            fail(db_.message());
        if (tables.int64(0) != 0) fail("it holds tables of another program (schema version 0)");
        tables = {};
        exec_in_transaction(schema_v1);
    }
    // A new file goes through the same migrations as an old one: one path, always tested.
    if (found < 2) exec_in_transaction(migrate_v1_to_v2);

    auto prepare_or_fail = [&](sqlite::statement& s, std::string_view sql) {
        if (db_.prepare(sql, s) != SQLITE_OK) fail(db_.message());
    };
    prepare_or_fail(begin_, "BEGIN");
    prepare_or_fail(commit_, "COMMIT");
    prepare_or_fail(rollback_, "ROLLBACK");
    prepare_or_fail(insert_message_,
                    "INSERT OR IGNORE INTO messages(origin, seq, lamport, time_ms, arrived_ms, "
                    "name, text, chain, event_seq) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    prepare_or_fail(update_tip_,
                    "INSERT INTO tips(origin, seq, chain) VALUES(?1, ?2, ?3) "
                    "ON CONFLICT(room, origin) DO UPDATE SET seq = excluded.seq, chain = "
                    "excluded.chain WHERE excluded.seq > tips.seq");
    prepare_or_fail(insert_seal_,
                    "INSERT OR IGNORE INTO seals(origin, seq, chain, sig) VALUES(?1, ?2, ?3, ?4)");
    std::string const columns = message_columns;
    prepare_or_fail(newest_, "SELECT " + columns +
                                 " FROM messages WHERE room = '' "
                                 "ORDER BY lamport DESC, origin DESC, seq DESC LIMIT ?1");
    prepare_or_fail(chain_of_,
                    "SELECT chain FROM messages WHERE room = '' AND origin = ?1 AND seq = ?2");
    prepare_or_fail(range_, "SELECT " + columns +
                                " FROM messages WHERE room = '' AND origin = ?1 AND seq >= ?2 "
                                "ORDER BY seq LIMIT ?3");
    prepare_or_fail(seals_,
                    "SELECT origin, seq, chain, sig FROM seals WHERE room = '' AND origin = ?1 "
                    "AND seq BETWEEN ?2 AND ?3 ORDER BY seq");
    prepare_or_fail(ids_,
                    "SELECT origin, seq, lamport FROM messages WHERE room = '' "
                    "ORDER BY origin, seq");
    // The oldest in history order go first, found through the history index.
    prepare_or_fail(prune_count_,
                    "DELETE FROM messages WHERE (room, origin, seq) IN "
                    "(SELECT room, origin, seq FROM messages WHERE room = '' "
                    "ORDER BY lamport, origin, seq LIMIT ?1) RETURNING room, origin, seq");
    // Looks only at the oldest in history order, so that a table with nothing to prune costs
    // no scan; of those, the ones that arrived before the limit go.
    prepare_or_fail(prune_age_,
                    "DELETE FROM messages WHERE (room, origin, seq) IN "
                    "(SELECT room, origin, seq FROM messages WHERE room = '' "
                    "ORDER BY lamport, origin, seq LIMIT ?1) AND arrived_ms < ?2 "
                    "RETURNING room, origin, seq");
    prepare_or_fail(delete_seal_, "DELETE FROM seals WHERE room = ?1 AND origin = ?2 AND seq = ?3");
    prepare_or_fail(get_meta_, "SELECT value FROM meta WHERE key = ?1");
    prepare_or_fail(set_meta_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
    prepare_or_fail(peers_,
                    "SELECT id, name, addr, inc, state, sig, last_seen_ms FROM peers "
                    "ORDER BY last_seen_ms DESC, id LIMIT ?1");
    prepare_or_fail(remember_peer_,
                    "INSERT OR REPLACE INTO peers(id, name, addr, inc, state, sig, last_seen_ms) "
                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    prepare_or_fail(trim_peers_,
                    "DELETE FROM peers WHERE id NOT IN "
                    "(SELECT id FROM peers ORDER BY last_seen_ms DESC, id LIMIT ?1)");
    prepare_or_fail(forget_peer_, "DELETE FROM peers WHERE id = ?1");
    prepare_or_fail(forget_peers_, "DELETE FROM peers");
    count_messages();
    sqlite::statement tips;
    prepare_or_fail(tips, "SELECT origin, seq, chain FROM tips WHERE room = ''");
    while (row(tips, "reading the chain tips"))
        tips_.emplace(tips.text(0), tip_entry{{tips.uint64(1), std::string(tips.text(2))}});
}

sqlite_store::~sqlite_store() {
    if (in_transaction_ || turn_failed_) commit();
}

void sqlite_store::count_messages() {
    sqlite::statement count;
    if (db_.prepare("SELECT count(*) FROM messages", count) == SQLITE_OK && row(count, "count"))
        count_ = count.uint64(0);
}

// ---------------------------------------------------------------- errors

void sqlite_store::failed(int rc, char const* what) const {
    ++errors_;
    if (worth_logging(errors_))
        log(log_level::error, "history database ", file_.string(), ": ", what,
            " failed: ", sqlite3_errstr(rc), " (", db_.message(), "); ", errors_,
            " storage errors so far");
}

bool sqlite_store::written(int rc, char const* what) {
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
    failed(rc, what);
    turn_failed_ = true;
    return false;
}

bool sqlite_store::row(sqlite::statement& s, char const* what) const {
    int const rc = s.step();
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) failed(rc, what);
    return false;
}

// ---------------------------------------------------------------- transactions

bool sqlite_store::begin() {
    if (in_transaction_) return true;
    if (!written(begin_.reset().run(), "BEGIN")) return false;
    in_transaction_ = true;
    return true;
}

bool sqlite_store::commit() {
    if (turn_failed_) return roll_back();
    if (!in_transaction_ && dirty_tips_.empty()) return true;
    if (!begin() || !write_tips()) return roll_back();
    int const rc = commit_.reset().run();
    if (rc != SQLITE_DONE) {
        failed(rc, "COMMIT");
        return roll_back();
    }
    in_transaction_ = false;
    if (std::exchange(recovering_, false))
        log(log_level::notice, "history database ", file_.string(), ": storage works again");
    return true;
}

bool sqlite_store::roll_back() {
    // The transaction's writes are lost to the file (the node keeps running from memory, and
    // message sync fetches them from peers after a restart). The tips stay here and are all
    // written with the next commit that succeeds: a seq is never used twice.
    if (in_transaction_ || !sqlite3_get_autocommit(db_.get())) rollback_.reset().run();
    in_transaction_ = false;
    turn_failed_ = false;
    recovering_ = true;
    dirty_tips_.clear();
    for (auto& [origin, entry] : tips_) {
        entry.dirty = true;
        dirty_tips_.push_back(origin);
    }
    count_messages();  // what the rollback left
    return false;
}

// ---------------------------------------------------------------- writes

bool sqlite_store::write_message(wire::chat_msg const& chat, std::int64_t arrived_ms,
                                 std::uint64_t event_seq) {
    if (!begin()) return false;
    auto& m = insert_message_.reset();
    m.bind(1, chat.origin).bind(2, chat.seq).bind(3, chat.lamport).bind(4, chat.time_ms);
    m.bind(5, arrived_ms).bind(6, chat.name).bind(7, chat.text).bind(8, chat.chain);
    if (event_seq != 0)
        m.bind(9, event_seq);
    else
        m.bind_null(9);
    if (!written(m.run(), "storing a message")) return false;
    if (db_.changes() == 1) {
        ++count_;
        ++appends_since_prune_;
    }
    return true;
}

void sqlite_store::move_tip(wire::chat_msg const& chat) {
    auto [it, added] = tips_.try_emplace(chat.origin);
    if (chat.seq <= it->second.tip.seq) return;
    it->second.tip = {chat.seq, chat.chain};
    if (!it->second.dirty) dirty_tips_.push_back(chat.origin);
    it->second.dirty = true;
}

bool sqlite_store::write_tips() {
    for (auto const& origin : dirty_tips_) {
        auto& entry = tips_.find(origin)->second;
        entry.dirty = false;
        auto& t = update_tip_.reset();
        t.bind(1, origin).bind(2, entry.tip.seq).bind(3, entry.tip.chain);
        if (!written(t.run(), "storing a chain tip")) return false;
    }
    dirty_tips_.clear();
    return true;
}

bool sqlite_store::write_seal(wire::seal_msg const& seal) {
    if (!begin()) return false;
    auto& s = insert_seal_.reset();
    s.bind(1, seal.origin).bind(2, seal.seq).bind(3, seal.chain).bind(4, seal.sig);
    return written(s.run(), "storing a seal");
}

void sqlite_store::append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms) {
    append(chat, arrived_unix_ms, 0);
}

void sqlite_store::append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms,
                          std::uint64_t event_seq) {
    // The tip moves on even for a message held already or pruned: seqs never repeat.
    move_tip(chat);
    if (!turn_failed_) write_message(chat, arrived_unix_ms, event_seq);
}

void sqlite_store::append_seal(wire::seal_msg const& seal) {
    if (!turn_failed_) write_seal(seal);
}

// ---------------------------------------------------------------- reads

wire::chat_msg sqlite_store::read_message(sqlite::statement const& s) {
    return {.origin = std::string(s.text(0)),
            .seq = s.uint64(1),
            .lamport = s.uint64(2),
            .time_ms = s.int64(3),
            .name = std::string(s.text(4)),
            .text = std::string(s.text(5)),
            .chain = std::string(s.text(6))};
}

std::vector<wire::chat_msg> sqlite_store::newest(std::size_t max_count,
                                                 std::size_t max_bytes) const {
    std::vector<wire::chat_msg> out;
    std::size_t bytes = 0;
    auto& s = newest_.reset().bind(1, limit_of(max_count));
    while (row(s, "reading the newest messages")) {
        auto chat = read_message(s);
        bytes += engine::approx_size(chat);
        if (bytes > max_bytes) break;
        out.push_back(std::move(chat));
    }
    s.reset();  // ends the read: no statement holds the file open between turns
    std::reverse(out.begin(), out.end());
    return out;
}

std::optional<std::string> sqlite_store::chain_of(std::string_view origin,
                                                  std::uint64_t seq) const {
    auto& s = chain_of_.reset().bind(1, origin).bind(2, seq);
    std::optional<std::string> out;
    if (row(s, "reading a chain")) out = std::string(s.text(0));
    s.reset();
    return out;
}

std::vector<wire::chat_msg> sqlite_store::range(std::string_view origin, std::uint64_t from_seq,
                                                std::size_t max_count,
                                                std::size_t max_bytes) const {
    std::vector<wire::chat_msg> out;
    std::size_t bytes = 0;
    auto& s = range_.reset().bind(1, origin).bind(2, from_seq).bind(3, limit_of(max_count));
    while (row(s, "reading a range of messages")) {
        auto chat = read_message(s);
        if (!out.empty() && chat.seq != out.back().seq + 1) break;  // a gap ends the range
        bytes += engine::approx_size(chat);
        if (bytes > max_bytes && !out.empty()) break;
        out.push_back(std::move(chat));
    }
    s.reset();
    return out;
}

std::vector<wire::seal_msg> sqlite_store::seals(std::string_view origin, std::uint64_t low,
                                                std::uint64_t high) const {
    std::vector<wire::seal_msg> out;
    auto& s = seals_.reset().bind(1, origin).bind(2, low).bind(3, high);
    while (row(s, "reading seals"))
        out.push_back(
            {std::string(s.text(0)), s.uint64(1), std::string(s.text(2)), std::string(s.text(3))});
    s.reset();
    return out;
}

std::optional<engine::chain_tip> sqlite_store::tip_of(std::string_view origin) const {
    auto it = tips_.find(origin);
    if (it == tips_.end()) return std::nullopt;
    return it->second.tip;
}

void sqlite_store::for_each_id(id_visitor const& visit) const {
    auto& s = ids_.reset();
    while (row(s, "reading the message ids")) visit(s.text(0), s.uint64(1), s.uint64(2));
    s.reset();
}

// ---------------------------------------------------------------- retention

bool sqlite_store::prune_due(std::int64_t now_unix_ms) const {
    bool const over = keep_.max_messages != 0 && count_ > keep_.max_messages &&
                      appends_since_prune_ >= prune_every_appends;
    return over || now_unix_ms - last_prune_ms_ >= prune_every_ms;
}

std::size_t sqlite_store::delete_returning(sqlite::statement& s) {
    // Collected first: a statement must finish before the next one writes.
    std::vector<std::tuple<std::string, std::string, std::uint64_t>> gone;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW)
        gone.emplace_back(std::string(s.text(0)), std::string(s.text(1)), s.uint64(2));
    s.reset();
    if (!written(rc, "pruning messages")) return 0;
    // Their seals prove nothing any more: a seal is checked from the message it names.
    for (auto const& [room, origin, seq] : gone)
        if (!written(delete_seal_.reset().bind(1, room).bind(2, origin).bind(3, seq).run(),
                     "pruning seals"))
            break;
    count_ -= std::min<std::uint64_t>(count_, gone.size());
    return gone.size();
}

std::size_t sqlite_store::prune(std::int64_t now_unix_ms) {
    appends_since_prune_ = 0;
    // The age limit is checked once a minute: a step looks at up to prune_step of the oldest
    // messages, which is no cost once a minute but would be after every 1000 appends.
    bool const timed = now_unix_ms - last_prune_ms_ >= prune_every_ms;
    if (timed) last_prune_ms_ = now_unix_ms;
    if (turn_failed_) return 0;
    std::size_t deleted = 0;
    if (keep_.max_messages != 0 && count_ > keep_.max_messages && begin()) {
        auto const excess = std::min<std::uint64_t>(count_ - keep_.max_messages, prune_step);
        deleted += delete_returning(prune_count_.reset().bind(1, excess));
    }
    if (timed && keep_.max_age.count() != 0 && deleted < prune_step && begin()) {
        auto const age = std::chrono::duration_cast<std::chrono::milliseconds>(keep_.max_age);
        deleted += delete_returning(prune_age_.reset()
                                        .bind(1, limit_of(prune_step - deleted))
                                        .bind(2, now_unix_ms - age.count()));
    }
    return deleted;
}

// ---------------------------------------------------------------- node state

std::optional<std::string> sqlite_store::meta(std::string_view key) const {
    auto& s = get_meta_.reset().bind(1, key);
    std::optional<std::string> out;
    if (row(s, "reading the node's state")) out = std::string(s.text(0));
    s.reset();
    return out;
}

void sqlite_store::set_meta(std::string_view key, std::string_view value) {
    if (turn_failed_ || !begin()) return;
    written(set_meta_.reset().bind(1, key).bind(2, value).run(), "storing the node's state");
}

std::vector<remembered_peer> sqlite_store::remembered_peers(std::size_t max) const {
    std::vector<remembered_peer> out;
    auto& s = peers_.reset().bind(1, limit_of(max));
    while (row(s, "reading the remembered peers")) {
        wire::peer_entry e;
        e.id = s.text(0);
        e.name = s.text(1);
        e.addr = s.text(2);
        e.inc = s.uint64(3);
        e.state = s.text(4) == "alive" ? wire::peer_state::alive : wire::peer_state::left;
        e.sig = s.text(5);
        out.push_back({std::move(e), s.int64(6)});
    }
    s.reset();
    return out;
}

void sqlite_store::remember_peers(std::vector<wire::peer_entry> const& alive,
                                  std::int64_t now_unix_ms, std::size_t max) {
    if (turn_failed_ || !begin()) return;
    for (auto const& e : alive) {
        auto& s = remember_peer_.reset();
        s.bind(1, e.id).bind(2, e.name).bind(3, e.addr).bind(4, e.inc);
        s.bind(5, std::string_view(e.state == wire::peer_state::alive ? "alive" : "left"));
        s.bind(6, e.sig).bind(7, now_unix_ms);
        if (!written(s.run(), "remembering a peer")) return;
    }
    written(trim_peers_.reset().bind(1, limit_of(max)).run(), "forgetting old peers");
}

void sqlite_store::forget_peer(std::string_view id) {
    if (turn_failed_ || !begin()) return;
    written(forget_peer_.reset().bind(1, id).run(), "forgetting a peer");
}

void sqlite_store::forget_all_peers() {
    if (turn_failed_ || !begin()) return;
    written(forget_peers_.reset().run(), "forgetting the peers");
}

}  // namespace p2pchat::daemon
