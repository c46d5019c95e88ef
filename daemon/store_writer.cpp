#include "daemon/store_writer.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "daemon/store_schema.hpp"

namespace p2pchat::daemon {

namespace {

// How long a write waits for a lock another process holds (someone writing the file with the
// sqlite3 shell) before its transaction fails: the writer's own thread waits, not the node.
constexpr int busy_timeout_ms = 1000;

std::int64_t limit_of(std::size_t n) {
    return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX));
}

// The first failures, then one in a hundred: a disk that stays full must not flood the log.
bool worth_logging(std::uint64_t errors) { return errors <= 10 || errors % 100 == 0; }

}  // namespace

std::string_view text_blocks::keep(std::string_view text) {
    // Empty, but not null: SQLite binds a null pointer as NULL, which the NOT NULL columns
    // refuse (and with them the whole transaction).
    if (text.empty()) return std::string_view("", 0);
    if (text.size() > block_size - used_) {
        // A text larger than a block gets a block of its own.
        blocks_.push_back(
            std::make_unique_for_overwrite<char[]>(std::max(text.size(), block_size)));
        used_ = 0;
    }
    char* at = blocks_.back().get() + used_;
    std::memcpy(at, text.data(), text.size());
    used_ += text.size();
    return {at, text.size()};
}

wire::chat_msg pending_message::chat() const {
    return {.origin = std::string(origin),
            .seq = seq,
            .lamport = lamport,
            .time_ms = time_ms,
            .name = std::string(name),
            .text = std::string(text),
            .chain = std::string(chain)};
}

store_writer::store_writer(std::filesystem::path file, retention keep)
    : file_(std::move(file)), keep_(keep) {
    auto fail = [this](std::string why) {
        // SQLite's message ("unable to open database file") does not say why; errno does.
        if (int const e = db_.get() ? sqlite3_system_errno(db_.get()) : 0; e != 0)
            why += std::string(" (") + std::strerror(e) + ")";
        throw std::runtime_error("cannot open the history database " + file_.string() + ": " + why);
    };
    if (db_.open(file_.string()) != SQLITE_OK) fail(db_.message());
    sqlite3_busy_timeout(db_.get(), busy_timeout_ms);
    // The first statement reads the file: a file that is not a database fails here.
    sqlite::statement version;
    if (db_.prepare("PRAGMA user_version", version) != SQLITE_OK || version.step() != SQLITE_ROW)
        fail(db_.message());
    version = {};
    // WAL: readers (the io thread's connection) never block the writer, and a commit is one
    // append to the log. synchronous=NORMAL: the WAL is synced at checkpoints, not at every
    // commit; a process crash loses nothing committed, a power loss may lose the last
    // transactions.
    sqlite::statement journal;
    if (db_.prepare("PRAGMA journal_mode=WAL", journal) != SQLITE_OK ||
        journal.step() != SQLITE_ROW)
        fail(db_.message());
    if (journal.text(0) != "wal") fail("cannot use write-ahead logging");
    journal = {};
    if (db_.exec("PRAGMA synchronous=NORMAL") != SQLITE_OK) fail(db_.message());
    if (auto why = store_schema::prepare(db_); !why.empty()) fail(why);

    auto prepare_or_fail = [&](sqlite::statement& s, std::string_view sql) {
        if (db_.prepare(sql, s) != SQLITE_OK) fail(db_.message());
    };
    prepare_or_fail(begin_, "BEGIN");
    prepare_or_fail(commit_, "COMMIT");
    prepare_or_fail(rollback_, "ROLLBACK");
    prepare_or_fail(find_origin_, "SELECT id FROM origins WHERE key = ?1");
    prepare_or_fail(add_origin_, "INSERT INTO origins(key) VALUES(?1)");
    // One row, and insert_rows rows in one statement: a stream's batch goes in mostly by the
    // latter, which runs the statement's fixed work (reset, step, halt) once per group.
    auto insert_of = [](std::size_t rows) {
        std::string sql =
            "INSERT OR IGNORE INTO messages(origin, seq, lamport, time_ms, arrived_ms, name, "
            "text, chain, event_seq, late) VALUES";
        std::string row = "(?";
        for (int c = 1; c < columns_per_message; ++c) row += ",?";
        row += ")";
        for (std::size_t r = 0; r < rows; ++r) sql += (r == 0 ? "" : ",") + row;
        return sql;
    };
    prepare_or_fail(insert_message_, insert_of(1));
    prepare_or_fail(insert_messages_, insert_of(insert_rows));
    prepare_or_fail(update_tip_,
                    "INSERT INTO tips(origin, seq, chain) VALUES(?1, ?2, ?3) "
                    "ON CONFLICT(room, origin) DO UPDATE SET seq = excluded.seq, chain = "
                    "excluded.chain WHERE excluded.seq > tips.seq");
    prepare_or_fail(insert_seal_,
                    "INSERT OR IGNORE INTO seals(origin, seq, chain, sig) VALUES(?1, ?2, ?3, ?4)");
    // The oldest in history order go first: the step's last message (the boundary), then the
    // highest seq of each author up to it (their seals go too), then every message up to it,
    // a range of the history index. No RETURNING: without it SQLite deletes in one pass,
    // each row where the index scan stands, at less than half the cost per row of an `IN`
    // list with RETURNING (docs/BENCHMARKS.md).
    prepare_or_fail(prune_boundary_,
                    "SELECT lamport, origin, seq FROM messages WHERE room = '' "
                    "ORDER BY lamport, origin, seq LIMIT 1 OFFSET ?1");
    prepare_or_fail(
        prune_authors_,
        "SELECT origin, max(seq) FROM messages INDEXED BY messages_history WHERE room = '' AND "
        "(lamport, origin, seq) <= (?1, ?2, ?3) GROUP BY origin");
    prepare_or_fail(
        prune_through_,
        "DELETE FROM messages WHERE room = '' AND (lamport, origin, seq) <= (?1, ?2, ?3)");
    // Looks only at the oldest in history order, so that a table with nothing to prune costs
    // no scan; of those, the ones that arrived before the limit go.
    prepare_or_fail(prune_age_,
                    "DELETE FROM messages WHERE room = '' AND (origin, seq) IN "
                    "(SELECT origin, seq FROM messages WHERE room = '' "
                    "ORDER BY lamport, origin, seq LIMIT ?1) AND arrived_ms < ?2 "
                    "RETURNING origin, seq");
    // The seals up to a seq whose messages are gone: one statement per author and prune step
    // rather than one per message (a seal names one of 32 or so messages).
    prepare_or_fail(
        delete_seals_,
        "DELETE FROM seals WHERE room = '' AND origin = ?1 AND seq <= ?2 AND NOT EXISTS "
        "(SELECT 1 FROM messages m WHERE m.room = '' AND m.origin = ?1 AND "
        "m.seq = seals.seq)");
    prepare_or_fail(set_meta_, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)");
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
    prepare_or_fail(tips,
                    "SELECT o.key, t.seq, t.chain FROM tips t JOIN origins o ON o.id = t.origin "
                    "WHERE t.room = ''");
    while (tips.step() == SQLITE_ROW)
        initial_tips_.emplace(tips.text(0),
                              engine::chain_tip{tips.uint64(1), std::string(tips.text(2))});
}

store_writer::~store_writer() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void store_writer::start(std::function<void()> notify) {
    notify_ = std::move(notify);
    prune_owed_ = over_limit();  // a limit lowered since the last run: before any wait_idle()
    thread_ = std::thread([this] { run(); });
}

void store_writer::push(std::shared_ptr<write_batch const> batch) {
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(batch));
    }
    wake_.notify_one();
}

std::vector<write_outcome> store_writer::take_outcomes() {
    std::lock_guard lock(mutex_);
    return std::exchange(outcomes_, {});
}

void store_writer::wait_written() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void store_writer::wait_idle() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return queue_.empty() && !busy_ && !prune_owed_; });
}

void store_writer::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stop_ || !queue_.empty() || prune_owed_; });
        if (queue_.empty() && stop_) return;  // everything written; pruning can wait
        // Everything queued goes into one transaction; with nothing queued, a prune step.
        std::vector<std::shared_ptr<write_batch const>> batches(queue_.begin(), queue_.end());
        queue_.clear();
        busy_ = true;
        lock.unlock();
        auto outcome = write(batches);
        batches.clear();
        lock.lock();
        // A failed transaction stops idle pruning until a write commits: a disk that stays
        // full must not spin the writer.
        prune_owed_ = outcome.committed && over_limit();
        outcomes_.push_back(std::move(outcome));
        busy_ = false;
        idle_.notify_all();
        if (notify_) {
            lock.unlock();
            notify_();
            lock.lock();
        }
    }
}

// ---------------------------------------------------------------- a transaction

void store_writer::failed(int rc, char const* what) {
    auto const n = errors_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (worth_logging(n))
        failures_.push_back("history database " + file_.string() + ": " + what +
                            " failed: " + sqlite3_errstr(rc) + " (" + db_.message() + "); " +
                            std::to_string(n) + " storage errors so far");
}

bool store_writer::step(sqlite::statement& s, char const* what) {
    int const rc = s.run();
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) return true;
    failed(rc, what);
    return false;
}

write_outcome store_writer::write(std::vector<std::shared_ptr<write_batch const>> const& batches) {
    write_outcome out;
    if (!batches.empty()) written_through_ = batches.back()->number;
    out.through = written_through_;
    auto const count_before = count_;
    bool ok = step(begin_.reset(), "BEGIN");
    for (auto const& batch : batches)
        if (ok) ok = apply(*batch, out);
    if (ok && over_limit()) {
        auto const errors = errors_.load(std::memory_order_relaxed);
        out.pruned += prune_by_count(batches.empty(), count_ - std::min(count_, count_before));
        ok = errors_.load(std::memory_order_relaxed) == errors;
    }
    // Tips last: those of failed transactions before are written with this one.
    for (auto const& batch : batches)
        for (auto const& [origin, tip] : batch->tips) {
            auto [it, added] = unwritten_tips_.try_emplace(origin, tip);
            if (!added && tip.seq > it->second.seq) it->second = tip;
        }
    for (auto const& [origin, tip] : unwritten_tips_) {
        if (!ok) break;
        auto const id = origin_id(origin);
        ok = id && step(update_tip_.reset().bind(1, *id).bind(2, tip.seq).bind(3, tip.chain),
                        "storing a chain tip");
    }
    if (ok) {
        int const rc = commit_.reset().run();
        ok = rc == SQLITE_DONE;
        if (!ok) failed(rc, "COMMIT");
    }
    if (ok) {
        unwritten_tips_.clear();
        out.recovered = std::exchange(recovering_, false);
    } else {
        // Lost to the file; the node goes on from memory, and message sync fetches the
        // messages from peers after a restart. The tips stay for the next commit.
        if (!sqlite3_get_autocommit(db_.get())) rollback_.reset().run();
        recovering_ = true;
        origin_ids_.clear();  // ids the rollback took back
        last_origin_.clear();
        count_messages();
        out.pruned = 0;
    }
    out.committed = ok;
    out.message_count = count_;
    out.failures = std::move(failures_);
    failures_.clear();
    return out;
}

std::optional<std::int64_t> store_writer::origin_id(std::string_view key) {
    if (!last_origin_.empty() && key == last_origin_) return last_origin_id_;
    std::string k(key);
    auto it = origin_ids_.find(k);
    if (it == origin_ids_.end()) {
        std::int64_t id = 0;
        auto& find = find_origin_.reset().bind(1, key);
        int const rc = find.step();
        if (rc == SQLITE_ROW) {
            id = find.int64(0);
            find.reset();
        } else {
            find.reset();
            if (rc != SQLITE_DONE) {
                failed(rc, "finding an author");
                return std::nullopt;
            }
            if (!step(add_origin_.reset().bind(1, key), "storing an author")) return std::nullopt;
            id = sqlite3_last_insert_rowid(db_.get());
        }
        it = origin_ids_.emplace(std::move(k), id).first;
    }
    last_origin_ = it->first;
    last_origin_id_ = it->second;
    return it->second;
}

bool store_writer::apply(write_batch const& batch, write_outcome& out) {
    for (auto const& op : batch.state)
        if (!apply(op)) return false;
    auto const& messages = batch.messages;
    for (std::size_t i = 0; i < messages.size();) {
        auto const rows = messages.size() - i >= insert_rows ? insert_rows : 1;
        auto& s = (rows == 1 ? insert_message_ : insert_messages_).reset();
        for (std::size_t r = 0; r < rows; ++r) {
            auto const& m = messages[i + r];
            auto const id = origin_id(m.origin);
            if (!id) return false;
            int const at = static_cast<int>(r) * columns_per_message;
            s.bind(at + 1, *id).bind(at + 2, m.seq).bind(at + 3, m.lamport);
            s.bind(at + 4, m.time_ms).bind(at + 5, m.arrived_ms).bind(at + 6, m.name);
            s.bind(at + 7, m.text).bind(at + 8, m.chain);
            if (m.event_seq != 0)
                s.bind(at + 9, m.event_seq);
            else
                s.bind_null(at + 9);
            s.bind(at + 10, std::int64_t{m.late});
        }
        if (!step(s, "storing a message")) return false;
        count_ += static_cast<std::uint64_t>(db_.changes());
        i += rows;
    }
    for (auto const& seal : batch.seals) {
        auto const id = origin_id(seal.origin);
        if (!id) return false;
        auto& s = insert_seal_.reset();
        s.bind(1, *id).bind(2, seal.seq).bind(3, seal.chain).bind(4, seal.sig);
        if (!step(s, "storing a seal")) return false;
    }
    if (batch.prune) {
        auto const errors = errors_.load(std::memory_order_relaxed);
        out.pruned += prune_by_age(*batch.prune);
        if (errors_.load(std::memory_order_relaxed) != errors) return false;
    }
    return true;
}

bool store_writer::apply(state_write const& op) {
    return std::visit(
        [this](auto const& w) {
            using T = std::decay_t<decltype(w)>;
            if constexpr (std::is_same_v<T, set_meta_write>) {
                return step(set_meta_.reset().bind(1, w.key).bind(2, w.value),
                            "storing the node's state");
            } else if constexpr (std::is_same_v<T, remember_peers_write>) {
                for (auto const& e : w.alive) {
                    auto& s = remember_peer_.reset();
                    s.bind(1, e.id).bind(2, e.name).bind(3, e.addr).bind(4, e.inc);
                    s.bind(5,
                           std::string_view(e.state == wire::peer_state::alive ? "alive" : "left"));
                    s.bind(6, e.sig).bind(7, w.now_ms);
                    if (!step(s, "remembering a peer")) return false;
                }
                return step(trim_peers_.reset().bind(1, limit_of(w.max)), "forgetting old peers");
            } else if constexpr (std::is_same_v<T, forget_peer_write>) {
                return step(forget_peer_.reset().bind(1, w.id), "forgetting a peer");
            } else {
                static_assert(std::is_same_v<T, forget_all_peers_write>);
                return step(forget_peers_.reset(), "forgetting the peers");
            }
        },
        op);
}

// ---------------------------------------------------------------- retention

void store_writer::count_messages() {
    sqlite::statement count;
    if (db_.prepare("SELECT count(*) FROM messages", count) == SQLITE_OK &&
        count.step() == SQLITE_ROW)
        count_ = count.uint64(0);
}

std::size_t store_writer::delete_returning(sqlite::statement& s) {
    // Collected first: a statement must finish before the next one writes.
    highest_seqs gone_up_to;
    std::size_t gone = 0;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        auto& highest = gone_up_to[s.int64(0)];
        highest = std::max(highest, s.uint64(1));
        ++gone;
    }
    s.reset();
    if (rc != SQLITE_DONE) {
        failed(rc, "pruning messages");
        return 0;
    }
    forget_seals(gone_up_to);
    count_ -= std::min<std::uint64_t>(count_, gone);
    return gone;
}

std::size_t store_writer::delete_oldest(std::uint64_t n) {
    auto& boundary = prune_boundary_.reset().bind(1, limit_of(n - 1));
    int rc = boundary.step();
    if (rc != SQLITE_ROW) {
        boundary.reset();
        if (rc != SQLITE_DONE)
            failed(rc, "pruning messages");
        else
            count_messages();  // fewer than the count said: the next step goes by the file's
        return 0;
    }
    auto const lamport = boundary.int64(0), origin = boundary.int64(1), seq = boundary.int64(2);
    boundary.reset();
    highest_seqs gone_up_to;
    auto& authors = prune_authors_.reset().bind(1, lamport).bind(2, origin).bind(3, seq);
    while ((rc = authors.step()) == SQLITE_ROW) gone_up_to[authors.int64(0)] = authors.uint64(1);
    authors.reset();
    if (rc != SQLITE_DONE) {
        failed(rc, "pruning messages");
        return 0;
    }
    if (!step(prune_through_.reset().bind(1, lamport).bind(2, origin).bind(3, seq),
              "pruning messages"))
        return 0;
    auto const gone = static_cast<std::size_t>(db_.changes());
    forget_seals(gone_up_to);
    count_ -= std::min<std::uint64_t>(count_, gone);
    return gone;
}

void store_writer::forget_seals(highest_seqs const& gone_up_to) {
    // Their seals prove nothing any more: a seal is checked from the message it names.
    for (auto const& [origin, seq] : gone_up_to)
        if (!step(delete_seals_.reset().bind(1, origin).bind(2, seq), "pruning seals")) break;
}

std::size_t store_writer::prune_by_count(bool idle, std::uint64_t added) {
    auto const limit = keep_.max_messages;
    if (idle) return delete_oldest(std::min<std::uint64_t>(count_ - limit, prune_step));
    // Writing: only what goes over twice the limit, and no more than the transaction added
    // (or a step), so that a lowered limit is not enforced in one long transaction.
    auto const cap = 2 * limit;
    if (count_ <= cap) return 0;
    return delete_oldest(
        std::min<std::uint64_t>(count_ - cap, std::max<std::uint64_t>(added, prune_step)));
}

std::size_t store_writer::prune_by_age(prune_request const& request) {
    if (keep_.max_age.count() == 0) return 0;
    auto const age = std::chrono::duration_cast<std::chrono::milliseconds>(keep_.max_age);
    return delete_returning(
        prune_age_.reset().bind(1, limit_of(prune_step)).bind(2, request.now_ms - age.count()));
}

}  // namespace p2pchat::daemon
