#pragma once
// The node's durable state in one SQLite file, STATE-DIR/history.db (docs/STORAGE.md): the
// chat messages it accepted and the seals that prove them (engine::message_store), each
// origin's chain tip, its own screen name and the peers it knew.
//
// Threads: this object lives on the io thread. Its writes go into an open batch; flush()
// hands the batch to the store's writer thread (store_writer), which commits it off the io
// thread. Until the writer acknowledges a batch, its messages and seals stay in an overlay
// here, and every read merges that overlay with what a second, read-only connection reads
// from the file: the engine reads its own writes at once, committed or not. The chain tips
// live in memory (read at open) and are written with every batch they moved in.
//
// Durability: WAL with synchronous=NORMAL. The runtime flushes in groups (at most 20 ms after
// a batch's first write) and, before a front end acknowledges an operation, co_awaits
// durable(): the operation's writes are committed before the reply leaves. A process crash
// (SIGKILL) loses nothing committed; a power loss or kernel crash may lose the last
// transactions (SQLite syncs the WAL at checkpoints only).
//
// Bound: the writes not yet committed (open batch, batches queued for the writer) may hold at
// most `pending_limit` bytes. Beyond it (a disk far slower than the network) messages and
// seals are not stored: each one is counted as a storage error and logged (rate-limited), and
// its tip still moves, so no seq is ever used twice; peers hold the messages, and message
// sync brings them back after a restart. The io thread never waits for the writer.
//
// Errors: opening (an unwritable directory, a file that is not a database, a schema newer
// than this program's) throws std::runtime_error with one line. A failed write later is
// logged, counted (errors()) and its transaction rolled back: those messages are missing
// from the file, but every tip is written again with the next commit that succeeds.
//
// Retention: at most max_messages messages at rest (twice that while a stream is written) and
// none that arrived more than max_age ago (0: no limit), pruned in bounded steps by the
// writer, the oldest in history order first, with their seals. Tips are never pruned: an
// origin's seqs never repeat.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/engine/message_store.hpp"
#include "daemon/asio.hpp"
#include "daemon/pending_index.hpp"
#include "daemon/sqlite.hpp"
#include "daemon/store_schema.hpp"
#include "daemon/store_writer.hpp"

namespace p2pchat::daemon {

// A peer this node knew, as it was when it was last seen alive.
struct remembered_peer {
    wire::peer_entry entry;
    std::int64_t last_seen_ms = 0;
};

class sqlite_store final : public engine::message_store {
  public:
    static constexpr int schema_version = store_schema::version;
    // Ages are looked at this long after the last time.
    static constexpr std::int64_t prune_every_ms = 60'000;
    // Writes not yet committed, at most (about 100 000 short messages).
    static constexpr std::size_t default_pending_limit = 32 * 1024 * 1024;

    // Opens or creates the file (migrating an older schema); throws std::runtime_error
    // naming it and the reason. The writer's acknowledgements are handled on `executor`.
    sqlite_store(std::filesystem::path file, retention keep, asio::any_io_executor executor,
                 std::size_t pending_limit = default_pending_limit);
    // Writes what is pending (waiting for the writer: the node is stopping).
    ~sqlite_store() override;
    sqlite_store(sqlite_store const&) = delete;
    sqlite_store& operator=(sqlite_store const&) = delete;

    // ---- engine::message_store
    void append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms) override;
    // The runtime's: `event_seq` is the number of the event that shows the message
    // (event_log), kept with it so that a restarted daemon shows it under the same number and
    // as `late` as it was; event_seq 0: none (NULL). The message's text is copied into the
    // open batch's blocks.
    void append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms, std::uint64_t event_seq,
                bool late = false);
    void append_seal(wire::seal_msg const& seal) override;
    std::vector<wire::chat_msg> newest(std::size_t max_count, std::size_t max_bytes) const override;
    std::optional<std::string> chain_of(std::string_view origin, std::uint64_t seq) const override;
    std::vector<wire::chat_msg> range(std::string_view origin, std::uint64_t from_seq,
                                      std::size_t max_count, std::size_t max_bytes) const override;
    std::vector<wire::seal_msg> seals(std::string_view origin, std::uint64_t low,
                                      std::uint64_t high) const override;
    std::optional<engine::chain_tip> tip_of(std::string_view origin) const override;
    void for_each_id(id_visitor const& visit) const override;

    // ---- commits, the runtime's
    // The open batch holds writes nobody handed to the writer yet.
    bool unflushed() const { return !open_->empty() || !moved_tips_.empty() || retry_; }
    // Writes wait for a commit: not handed over yet, or not yet acknowledged by the writer.
    bool uncommitted() const { return unflushed() || !in_flight_.empty(); }
    // Hands the open batch to the writer (nothing to do if it is empty).
    void flush();
    // Flushes and waits (without blocking the thread) until every write so far is committed
    // or has failed.
    awaitable<void> durable();
    // Flushes and blocks until the writer is done: for start-up and tests only. True when
    // every transaction since the last sync() committed.
    bool sync();
    // Bytes of writes not yet acknowledged by the writer.
    std::size_t pending_bytes() const { return pending_bytes_; }

    // Whether a prune step by age is due at `now_unix_ms`; prune() asks the writer for one:
    // of the oldest in history order, those that arrived before the age limit go, with their
    // seals. Pruning by count is the writer's own (store_writer.hpp).
    bool prune_due(std::int64_t now_unix_ms) const;
    void prune(std::int64_t now_unix_ms);

    // The node's own state. Read at start (and the peers when the node is alone), from the
    // file: a write of the last 20 ms may not show yet, which no caller minds.
    std::optional<std::string> meta(std::string_view key) const;
    void set_meta(std::string_view key, std::string_view value);
    // The peers it knew, the most recently seen first, at most `max`.
    std::vector<remembered_peer> remembered_peers(std::size_t max) const;
    // Records these live peers as seen at `now_unix_ms`, and keeps only the `max` most
    // recently seen.
    void remember_peers(std::vector<wire::peer_entry> const& alive, std::int64_t now_unix_ms,
                        std::size_t max);
    void forget_peer(std::string_view id);
    void forget_all_peers();

    std::filesystem::path const& file() const { return writer_.file(); }
    // Messages in the file, as of the last acknowledged commit.
    std::uint64_t message_count() const { return count_; }
    // Messages pruned since the store opened.
    std::uint64_t pruned() const { return pruned_; }
    // Failed reads and writes (and messages not stored for want of room) since it opened.
    std::uint64_t errors() const { return read_errors_ + writer_.errors() + refused_; }

  private:
    using id_view = std::pair<std::string_view, std::uint64_t>;

    bool row(sqlite::statement& s, char const* what) const;
    void failed(int rc, char const* what) const;
    // Room for `bytes` more in the pending bound; counts and logs a refusal.
    bool room_for(std::size_t bytes, char const* what);
    // Moves the origin's tip; returns the origin as the tips hold it (a key never erased).
    std::string_view move_tip(wire::chat_msg const& chat);
    write_batch& batch() { return *open_; }
    // Takes the writer's outcomes: drops what they acknowledged from the overlay, logs.
    void acknowledge();
    static wire::chat_msg read_message(sqlite::statement const& s);

    store_writer writer_;
    retention keep_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for posted handlers
    asio::any_io_executor executor_;
    std::size_t pending_limit_;
    sqlite::database db_;  // read-only
    mutable sqlite::statement newest_, chain_of_, range_, seals_, ids_;
    mutable sqlite::statement get_meta_, peers_;

    std::shared_ptr<write_batch> open_;
    // Handed to the writer, not yet acknowledged, oldest first.
    std::deque<std::shared_ptr<write_batch const>> in_flight_;
    std::uint64_t next_batch_ = 1;
    std::uint64_t acknowledged_ = 0;  // batches up to this number are done
    bool all_committed_ = true;       // since the last sync()
    // A transaction failed: the next flush hands over a batch even with nothing new, so that
    // the writer writes the tips it kept.
    bool retry_ = false;
    std::size_t pending_bytes_ = 0;
    // The overlay: messages and seals of batches not yet acknowledged, by (origin, seq).
    pending_index<pending_message> pending_messages_;
    std::map<id_view, wire::seal_msg const*> pending_seals_;
    // Wakes durable() waiters; never armed, only cancelled.
    asio::steady_timer acknowledged_signal_;

    // Every origin's tip, read at open and kept here; `moved` ones go into the next batch.
    struct tip_entry {
        engine::chain_tip tip;
        bool moved = false;
    };
    std::map<std::string, tip_entry, std::less<>> tips_;
    std::vector<std::string> moved_tips_;  // since the last flush
    std::uint64_t count_ = 0;
    std::uint64_t pruned_ = 0;
    std::int64_t last_prune_ms_ = 0;
    mutable std::uint64_t read_errors_ = 0;
    std::uint64_t refused_ = 0;
};

}  // namespace p2pchat::daemon
