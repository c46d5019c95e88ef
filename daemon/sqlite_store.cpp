#include "daemon/sqlite_store.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <set>
#include <stdexcept>

#include "daemon/log.hpp"

namespace p2pchat::daemon {

namespace {

constexpr char const* message_columns =
    "o.key, m.seq, m.lamport, m.time_ms, m.name, m.text, m.chain "
    "FROM messages m JOIN origins o ON o.id = m.origin WHERE m.room = '' ";

// What a pending write costs beyond its text: the batch's and the overlay's bookkeeping.
constexpr std::size_t pending_overhead = 160;

std::int64_t limit_of(std::size_t n) {
    return static_cast<std::int64_t>(std::min<std::size_t>(n, INT64_MAX));
}

bool worth_logging(std::uint64_t errors) { return errors <= 10 || errors % 100 == 0; }

std::size_t size_of(wire::seal_msg const& seal) {
    return seal.origin.size() + seal.chain.size() + seal.sig.size() + pending_overhead;
}

}  // namespace

sqlite_store::sqlite_store(std::filesystem::path path, retention keep,
                           asio::any_io_executor executor, std::size_t pending_limit)
    : writer_(std::move(path), keep),
      keep_(keep),
      executor_(executor),
      pending_limit_(pending_limit),
      open_(std::make_shared<write_batch>()),
      acknowledged_signal_(executor, asio::steady_timer::time_point::max()),
      count_(writer_.initial_count()) {
    for (auto const& [origin, tip] : writer_.initial_tips()) tips_.emplace(origin, tip_entry{tip});
    auto fail = [this](std::string const& why) {
        throw std::runtime_error("cannot open the history database " + file().string() + ": " +
                                 why);
    };
    // The reads' own connection: a statement here never waits for the writer's transaction
    // (WAL), and sees each commit as soon as it is made.
    if (db_.open(file().string()) != SQLITE_OK) fail(db_.message());
    // No lookaside allocator here: its 120 KiB would stay resident in an idle daemon for the
    // few reads this connection makes (sync rounds, welcomes, history). Done before the first
    // statement, when SQLite allows it; should it refuse, only that memory is kept.
    sqlite3_db_config(db_.get(), SQLITE_DBCONFIG_LOOKASIDE, nullptr, 0, 0);
    sqlite3_busy_timeout(db_.get(), 1000);
    if (db_.exec("PRAGMA query_only=1") != SQLITE_OK) fail(db_.message());
    auto prepare_or_fail = [&](sqlite::statement& s, std::string const& sql) {
        if (db_.prepare(sql, s) != SQLITE_OK) fail(db_.message());
    };
    std::string const columns = message_columns;
    prepare_or_fail(
        newest_, "SELECT " + columns + "ORDER BY m.lamport DESC, o.key DESC, m.seq DESC LIMIT ?1");
    prepare_or_fail(chain_of_,
                    "SELECT chain FROM messages WHERE room = '' AND "
                    "origin = (SELECT id FROM origins WHERE key = ?1) AND seq = ?2");
    prepare_or_fail(range_,
                    "SELECT " + columns + "AND o.key = ?1 AND m.seq >= ?2 ORDER BY m.seq LIMIT ?3");
    prepare_or_fail(seals_,
                    "SELECT seq, chain, sig FROM seals WHERE room = '' AND "
                    "origin = (SELECT id FROM origins WHERE key = ?1) AND seq BETWEEN ?2 AND ?3 "
                    "ORDER BY seq");
    // CROSS JOIN: authors in key order, each one's messages by seq; no sort of the table.
    prepare_or_fail(ids_,
                    "SELECT o.key, m.seq, m.lamport FROM origins o CROSS JOIN messages m "
                    "ON m.room = '' AND m.origin = o.id ORDER BY o.key, m.seq");
    prepare_or_fail(get_meta_, "SELECT value FROM meta WHERE key = ?1");
    prepare_or_fail(peers_,
                    "SELECT id, name, addr, inc, state, sig, last_seen_ms FROM peers "
                    "ORDER BY last_seen_ms DESC, id LIMIT ?1");
    // The writer's thread only posts: its outcomes are taken here, on the io thread.
    std::weak_ptr<bool> alive = alive_;
    writer_.start([this, alive, executor] {
        asio::post(executor, [this, alive] {
            if (alive.lock()) acknowledge();
        });
    });
}

sqlite_store::~sqlite_store() {
    // Everything written, but no pruning waited for: a stop stays quick after a stream.
    flush();
    writer_.wait_written();
    acknowledge();
    alive_.reset();
}

// ---------------------------------------------------------------- errors

void sqlite_store::failed(int rc, char const* what) const {
    ++read_errors_;
    if (worth_logging(read_errors_))
        log(log_level::error, "history database ", file().string(), ": ", what,
            " failed: ", sqlite3_errstr(rc), " (", db_.message(), "); ", errors(),
            " storage errors so far");
}

bool sqlite_store::row(sqlite::statement& s, char const* what) const {
    int const rc = s.step();
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) failed(rc, what);
    return false;
}

bool sqlite_store::room_for(std::size_t bytes, char const* what) {
    if (pending_bytes_ + bytes <= pending_limit_) {
        pending_bytes_ += bytes;
        open_->bytes += bytes;
        return true;
    }
    ++refused_;
    if (worth_logging(refused_))
        log(log_level::error, "history database ", file().string(), ": ", what,
            " not stored: ", pending_bytes_, " bytes already wait for the disk; ", refused_,
            " refused so far");
    return false;
}

// ---------------------------------------------------------------- commits

void sqlite_store::flush() {
    if (!unflushed()) return;
    for (auto const& origin : moved_tips_) {
        auto& entry = tips_.find(origin)->second;
        entry.moved = false;
        open_->tips.emplace_back(origin, entry.tip);
    }
    moved_tips_.clear();
    retry_ = false;
    open_->number = next_batch_++;
    writer_.push(open_);
    in_flight_.push_back(std::move(open_));
    open_ = std::make_shared<write_batch>();
}

awaitable<void> sqlite_store::durable() {
    flush();
    auto const target = next_batch_ - 1;
    while (acknowledged_ < target) co_await acknowledged_signal_.async_wait(use_nothrow);
}

bool sqlite_store::sync() {
    flush();
    writer_.wait_idle();
    acknowledge();
    return std::exchange(all_committed_, true);
}

void sqlite_store::acknowledge() {
    for (auto& outcome : writer_.take_outcomes()) {
        for (auto const& line : outcome.failures) log(log_level::error, line);
        if (outcome.recovered)
            log(log_level::notice, "history database ", file().string(), ": storage works again");
        if (!outcome.committed) all_committed_ = false;
        retry_ = !outcome.committed;
        count_ = outcome.message_count;
        pruned_ += outcome.pruned;
        while (!in_flight_.empty() && in_flight_.front()->number <= outcome.through) {
            auto const& done = *in_flight_.front();
            // Only entries of this batch: a later batch may hold the same id (appended
            // again after this one was handed off).
            for (auto const& m : done.messages) pending_messages_.erase(m.origin, m.seq, &m);
            for (auto const& s : done.seals)
                if (auto it = pending_seals_.find(id_view{s.origin, s.seq});
                    it != pending_seals_.end() && it->second == &s)
                    pending_seals_.erase(it);
            pending_bytes_ -= std::min(pending_bytes_, done.bytes);
            in_flight_.pop_front();
        }
        acknowledged_ = std::max(acknowledged_, outcome.through);
    }
    acknowledged_signal_.cancel();
}

// ---------------------------------------------------------------- writes

std::string_view sqlite_store::move_tip(wire::chat_msg const& chat) {
    auto [it, added] = tips_.try_emplace(chat.origin);
    if (chat.seq <= it->second.tip.seq) return it->first;
    // Assigned in place: the chain's buffer is reused, no allocation per message.
    it->second.tip.seq = chat.seq;
    it->second.tip.chain.assign(chat.chain);
    // Written once per origin and batch, not once per message: a stream moves one tip.
    if (!std::exchange(it->second.moved, true)) moved_tips_.push_back(chat.origin);
    return it->first;
}

void sqlite_store::append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms) {
    append(chat, arrived_unix_ms, 0);
}

void sqlite_store::append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms,
                          std::uint64_t event_seq, bool late) {
    // The tip moves on even for a message held already, pruned or refused: seqs never repeat.
    auto const origin = move_tip(chat);
    if (pending_messages_.contains(origin, chat.seq)) return;
    if (!room_for(engine::approx_size(chat) + pending_overhead, "a message")) return;
    auto& text = open_->text;
    auto const& m = open_->messages.emplace_back(pending_message{.origin = origin,
                                                                 .seq = chat.seq,
                                                                 .lamport = chat.lamport,
                                                                 .time_ms = chat.time_ms,
                                                                 .name = text.keep(chat.name),
                                                                 .text = text.keep(chat.text),
                                                                 .chain = text.keep(chat.chain),
                                                                 .arrived_ms = arrived_unix_ms,
                                                                 .event_seq = event_seq,
                                                                 .late = late});
    pending_messages_.insert(origin, m.seq, &m);
}

void sqlite_store::append_seal(wire::seal_msg const& seal) {
    if (pending_seals_.contains(id_view{seal.origin, seal.seq})) return;
    if (!room_for(size_of(seal), "a seal")) return;
    auto& s = open_->seals.emplace_back(seal);
    pending_seals_.emplace(id_view{s.origin, s.seq}, &s);
}

// ---------------------------------------------------------------- reads
//
// Each read takes what the file holds and merges the overlay into it. Where both hold an id
// the file's copy wins: the overlay's is then a message appended again, which the writer's
// INSERT OR IGNORE will drop.

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
    std::vector<wire::chat_msg> all;  // newest first once sorted
    auto& s = newest_.reset().bind(1, limit_of(max_count));
    while (row(s, "reading the newest messages")) all.push_back(read_message(s));
    s.reset();  // ends the read: no statement holds a snapshot between turns
    if (!pending_messages_.empty()) {
        std::set<id_view> in_file;
        for (auto const& c : all) in_file.emplace(c.origin, c.seq);
        pending_messages_.for_each([&](std::string_view origin, std::uint64_t seq, auto const& m) {
            if (!in_file.contains(id_view{origin, seq})) all.push_back(m.chat());
        });
        std::sort(all.begin(), all.end(), [](auto const& a, auto const& b) {
            return std::tie(a.lamport, a.origin, a.seq) > std::tie(b.lamport, b.origin, b.seq);
        });
    }
    std::vector<wire::chat_msg> out;
    std::size_t bytes = 0;
    for (auto& chat : all) {
        if (out.size() == max_count) break;
        bytes += engine::approx_size(chat);
        if (bytes > max_bytes) break;
        out.push_back(std::move(chat));
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::optional<std::string> sqlite_store::chain_of(std::string_view origin,
                                                  std::uint64_t seq) const {
    auto& s = chain_of_.reset().bind(1, origin).bind(2, seq);
    std::optional<std::string> out;
    if (row(s, "reading a chain")) out = std::string(s.text(0));
    s.reset();
    if (!out)
        if (auto const* m = pending_messages_.find(origin, seq)) out = std::string(m->chain);
    return out;
}

std::vector<wire::chat_msg> sqlite_store::range(std::string_view origin, std::uint64_t from_seq,
                                                std::size_t max_count,
                                                std::size_t max_bytes) const {
    std::vector<wire::chat_msg> held;
    auto& s = range_.reset().bind(1, origin).bind(2, from_seq).bind(3, limit_of(max_count));
    while (row(s, "reading a range of messages")) held.push_back(read_message(s));
    s.reset();
    // The overlay's part of the same range, merged in seq order (both are ascending).
    std::vector<pending_message const*> pending;
    if (auto const* seqs = pending_messages_.seqs_of(origin))
        for (auto it = seqs->lower_bound(from_seq); it != seqs->end() && pending.size() < max_count;
             ++it)
            pending.push_back(it->second);
    std::vector<wire::chat_msg> out;
    std::size_t bytes = 0;
    auto h = held.begin();
    auto p = pending.begin();
    while (out.size() < max_count && (h != held.end() || p != pending.end())) {
        wire::chat_msg chat;
        if (p == pending.end() || (h != held.end() && h->seq <= (*p)->seq)) {
            if (p != pending.end() && (*p)->seq == h->seq) ++p;  // the file's copy wins
            chat = std::move(*h++);
        } else {
            chat = (*p++)->chat();
        }
        if (!out.empty() && chat.seq != out.back().seq + 1) break;  // a gap ends the range
        bytes += engine::approx_size(chat);
        if (bytes > max_bytes && !out.empty()) break;
        out.push_back(std::move(chat));
    }
    return out;
}

std::vector<wire::seal_msg> sqlite_store::seals(std::string_view origin, std::uint64_t low,
                                                std::uint64_t high) const {
    std::map<std::uint64_t, wire::seal_msg> by_seq;
    for (auto it = pending_seals_.lower_bound(id_view{origin, low});
         it != pending_seals_.end() && it->first.first == origin && it->first.second <= high; ++it)
        by_seq.emplace(it->first.second, *it->second);
    auto& s = seals_.reset().bind(1, origin).bind(2, low).bind(3, high);
    while (row(s, "reading seals"))
        by_seq.insert_or_assign(
            s.uint64(0), wire::seal_msg{std::string(origin), s.uint64(0), std::string(s.text(1)),
                                        std::string(s.text(2))});
    s.reset();
    std::vector<wire::seal_msg> out;
    out.reserve(by_seq.size());
    for (auto& [seq, seal] : by_seq) out.push_back(std::move(seal));
    return out;
}

std::optional<engine::chain_tip> sqlite_store::tip_of(std::string_view origin) const {
    auto it = tips_.find(origin);
    if (it == tips_.end()) return std::nullopt;
    return it->second.tip;
}

void sqlite_store::for_each_id(id_visitor const& visit) const {
    // Both in (origin, seq) order: a merge.
    std::vector<std::pair<id_view, std::uint64_t>> pending;  // id, Lamport time
    pending.reserve(pending_messages_.size());
    pending_messages_.for_each([&](std::string_view origin, std::uint64_t seq, auto const& m) {
        pending.push_back({{origin, seq}, m.lamport});
    });
    auto p = pending.begin();
    auto& s = ids_.reset();
    while (row(s, "reading the message ids")) {
        id_view const id{s.text(0), s.uint64(1)};
        for (; p != pending.end() && p->first < id; ++p)
            visit(p->first.first, p->first.second, p->second);
        if (p != pending.end() && p->first == id) ++p;
        visit(id.first, id.second, s.uint64(2));
    }
    s.reset();
    for (; p != pending.end(); ++p) visit(p->first.first, p->first.second, p->second);
}

// ---------------------------------------------------------------- retention

bool sqlite_store::prune_due(std::int64_t now_unix_ms) const {
    return now_unix_ms - last_prune_ms_ >= prune_every_ms;
}

void sqlite_store::prune(std::int64_t now_unix_ms) {
    // Ages are looked at once a minute: a step looks at up to store_writer::prune_step of the
    // oldest messages, which is no cost once a minute but would be on every batch.
    last_prune_ms_ = now_unix_ms;
    open_->prune = prune_request{now_unix_ms};
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
    open_->state.emplace_back(set_meta_write{std::string(key), std::string(value)});
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
    open_->state.emplace_back(remember_peers_write{alive, now_unix_ms, max});
}

void sqlite_store::forget_peer(std::string_view id) {
    open_->state.emplace_back(forget_peer_write{std::string(id)});
}

void sqlite_store::forget_all_peers() { open_->state.emplace_back(forget_all_peers_write{}); }

}  // namespace p2pchat::daemon
