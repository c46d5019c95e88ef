#pragma once
// The node's durable state in one SQLite file, STATE-DIR/history.db (docs/STORAGE.md): the
// chat messages it accepted and the seals that prove them (engine::message_store), each
// origin's chain tip, its own screen name and the peers it knew.
//
// Durability: WAL with synchronous=NORMAL. A turn's writes (one engine input's effects) go
// into one transaction, begun at the turn's first write and committed by commit(), which the
// runtime calls before it answers the operation that caused them: a process crash (SIGKILL)
// loses nothing committed; a power loss or kernel crash may lose the last transactions
// (SQLite syncs the WAL at checkpoints only).
//
// Errors: opening (an unwritable directory, a file that is not a database, a schema newer
// than this program's) throws std::runtime_error with one line. A failed write later is
// logged, counted (errors()) and its transaction rolled back: those messages are missing
// from the file (peers hold them; sync brings them back after a restart), but every tip is
// written again with the next commit that succeeds, so no seq is ever used twice.
//
// Retention: at most max_messages messages and none that arrived more than max_age ago
// (0: no limit), pruned by prune() in bounded steps, the oldest in history order first,
// with their seals. Tips are never pruned: an origin's seqs never repeat.
//
// Single-threaded (the io thread); the prepared statements stay open for the store's life.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/engine/message_store.hpp"
#include "daemon/sqlite.hpp"

namespace p2pchat::daemon {

struct retention {
    std::uint64_t max_messages = 100'000;  // 0: no limit by count
    std::chrono::days max_age{365};        // 0: no limit by age
};

// A peer this node knew, as it was when it was last seen alive.
struct remembered_peer {
    wire::peer_entry entry;
    std::int64_t last_seen_ms = 0;
};

class sqlite_store final : public engine::message_store {
  public:
    static constexpr int schema_version = 2;
    // Messages deleted by one prune() at most: a bounded pause of the io thread.
    static constexpr std::size_t prune_step = 5000;
    // prune() is due after this many appends beyond the count limit, or this long after the
    // last time it looked at ages.
    static constexpr std::uint64_t prune_every_appends = 1000;
    static constexpr std::int64_t prune_every_ms = 60'000;

    // Opens or creates the file; throws std::runtime_error naming it and the reason.
    sqlite_store(std::filesystem::path file, retention keep);
    ~sqlite_store() override;
    sqlite_store(sqlite_store const&) = delete;
    sqlite_store& operator=(sqlite_store const&) = delete;

    // ---- engine::message_store
    void append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms) override;
    void append_seal(wire::seal_msg const& seal) override;
    std::vector<wire::chat_msg> newest(std::size_t max_count, std::size_t max_bytes) const override;
    std::optional<std::string> chain_of(std::string_view origin, std::uint64_t seq) const override;
    std::vector<wire::chat_msg> range(std::string_view origin, std::uint64_t from_seq,
                                      std::size_t max_count, std::size_t max_bytes) const override;
    std::vector<wire::seal_msg> seals(std::string_view origin, std::uint64_t low,
                                      std::uint64_t high) const override;
    std::optional<engine::chain_tip> tip_of(std::string_view origin) const override;
    void for_each_id(id_visitor const& visit) const override;

    // ---- the runtime's
    // append() with the number of the event that shows the message (event_log), kept with it
    // so that a restarted daemon shows it under the same number; 0: none (NULL).
    void append(wire::chat_msg const& chat, std::int64_t arrived_unix_ms, std::uint64_t event_seq);
    // Commits what the turns since the last commit wrote (nothing to do if they wrote
    // nothing). False when it failed (logged and counted, rolled back).
    bool commit();
    bool in_transaction() const { return in_transaction_; }
    // Writes wait for a commit (an open transaction, or writes kept after a failure).
    bool pending() const { return in_transaction_ || turn_failed_ || !dirty_tips_.empty(); }
    // Whether a prune is due at `now_unix_ms`; prune() deletes at most prune_step messages
    // (the oldest in history order beyond the count limit, then, of the oldest, those that
    // arrived before the age limit) and their
    // seals, and returns how many.
    bool prune_due(std::int64_t now_unix_ms) const;
    std::size_t prune(std::int64_t now_unix_ms);

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

    std::filesystem::path const& file() const { return file_; }
    std::uint64_t message_count() const { return count_; }
    // Failed reads and writes since the store opened.
    std::uint64_t errors() const { return errors_; }

  private:
    bool begin();
    // A write's result: true for SQLITE_DONE; otherwise the error is counted and logged, and
    // the transaction will be rolled back.
    bool written(int rc, char const* what);
    // A read's row or end; an error is counted and logged, and ends the read.
    bool row(sqlite::statement& s, char const* what) const;
    void failed(int rc, char const* what) const;
    bool write_message(wire::chat_msg const& chat, std::int64_t arrived_ms,
                       std::uint64_t event_seq);
    bool write_seal(wire::seal_msg const& seal);
    // Ends a failed transaction; false.
    bool roll_back();
    // Writes the tips that moved in this transaction: once per origin and commit, not once
    // per message (a stream of one author's messages moves one tip).
    bool write_tips();
    void move_tip(wire::chat_msg const& chat);
    void count_messages();
    static wire::chat_msg read_message(sqlite::statement const& s);
    std::size_t delete_returning(sqlite::statement& s);

    std::filesystem::path file_;
    retention keep_;
    sqlite::database db_;
    mutable sqlite::statement begin_, commit_, rollback_;
    mutable sqlite::statement insert_message_, update_tip_, insert_seal_;
    mutable sqlite::statement newest_, chain_of_, range_, seals_, ids_;
    mutable sqlite::statement prune_count_, prune_age_, delete_seal_;
    mutable sqlite::statement get_meta_, set_meta_;
    mutable sqlite::statement peers_, remember_peer_, trim_peers_, forget_peer_, forget_peers_;

    bool in_transaction_ = false;
    bool turn_failed_ = false;
    bool recovering_ = false;  // the last commit failed
    // Every origin's tip, read at open and kept here; `dirty` ones are written at commit.
    struct tip_entry {
        engine::chain_tip tip;
        bool dirty = false;
    };
    std::map<std::string, tip_entry, std::less<>> tips_;
    std::vector<std::string> dirty_tips_;
    std::uint64_t count_ = 0;
    std::uint64_t appends_since_prune_ = 0;
    std::int64_t last_prune_ms_ = 0;
    mutable std::uint64_t errors_ = 0;
};

}  // namespace p2pchat::daemon
