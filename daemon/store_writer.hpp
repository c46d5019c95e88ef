#pragma once
// The history database's writer: a thread of its own that owns the write connection and
// commits the batches of writes the io thread hands it, so that no insert, commit or WAL
// checkpoint (an fsync) runs on the node's thread (docs/STORAGE.md, "Threads").
//
// Hand-off: the io thread fills a write_batch, then push()es it and never changes it again;
// the writer only reads it. Batches that wait when the writer comes round are written in one
// transaction (a writer that fell behind catches up with fewer commits). After each
// transaction the writer queues an outcome and calls `notify` (from its thread): the io side
// then take_outcomes() on its own thread. Outcomes carry the log lines of failures: the
// logger is the io thread's.
//
// Bounds: the writer holds nothing of its own beyond the batches queued; the io side bounds
// those (sqlite_store's pending byte limit).
//
// Retention by count is the writer's own: it prunes when it is idle (nothing queued), a step
// of at most prune_step messages per transaction, until the history is back to its limit. A
// stream does not wait for deletes: while batches keep coming, a transaction prunes only what
// takes the history over twice the limit, so the file stays bounded under any load
// (docs/STORAGE.md, "Retention"). Retention by age is asked for by the io side (once a minute).
//
// Errors: a failed write rolls its transaction back (its messages and seals are lost to the
// file, see docs/STORAGE.md); the chain tips it carried are kept and written with the next
// transaction that commits, so that no seq is ever used twice.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/engine/message_store.hpp"
#include "daemon/sqlite.hpp"

namespace p2pchat::daemon {

struct retention {
    std::uint64_t max_messages = 100'000;  // 0: no limit by count
    std::chrono::days max_age{365};        // 0: no limit by age
};

// Text that stays where it was put: strings are appended into blocks that never move, so the
// views into them stay valid while the batch lives. A busy stream holds thousands of
// messages per batch; copied here, they cost a few block allocations instead of several
// allocations each, and the chat_msg they came in is freed at once, while it is still hot.
class text_blocks {
  public:
    std::string_view keep(std::string_view text);

  private:
    static constexpr std::size_t block_size = 64 * 1024;
    std::vector<std::unique_ptr<char[]>> blocks_;
    std::size_t used_ = block_size;  // in the last block
};

// What the io thread asks the writer to write, in the order it asked. A message's name, text
// and chain live in its batch's text_blocks; its origin is the io side's (sqlite_store keeps
// every origin it saw for as long as it lives).
struct pending_message {
    std::string_view origin;
    std::uint64_t seq = 0;
    std::uint64_t lamport = 0;
    std::int64_t time_ms = 0;
    std::string_view name, text, chain;
    std::int64_t arrived_ms = 0;
    std::uint64_t event_seq = 0;  // the event that showed it (messages.event_seq); 0: NULL
    bool late = false;            // that event's `late` (messages.late)

    wire::chat_msg chat() const;
};
struct set_meta_write {
    std::string key, value;
};
struct remember_peers_write {
    std::vector<wire::peer_entry> alive;
    std::int64_t now_ms = 0;
    std::size_t max = 0;
};
struct forget_peer_write {
    std::string id;
};
struct forget_all_peers_write {};
using state_write =
    std::variant<set_meta_write, remember_peers_write, forget_peer_write, forget_all_peers_write>;

// Look at ages: of the oldest messages in history order, those that arrived before
// now_ms - max_age go.
struct prune_request {
    std::int64_t now_ms = 0;
};

struct write_batch {
    std::uint64_t number = 0;  // 1, 2, ... in hand-off order
    // Deques: the io side's overlay points at these while the batch is pending.
    std::deque<pending_message> messages;
    text_blocks text;  // the messages' strings
    std::deque<wire::seal_msg> seals;
    std::vector<std::pair<std::string, engine::chain_tip>> tips;  // tips that moved
    std::vector<state_write> state;
    std::optional<prune_request> prune;  // after the writes, in the same transaction
    std::size_t bytes = 0;               // what the batch holds, roughly
    bool empty() const {
        return messages.empty() && seals.empty() && tips.empty() && state.empty() && !prune;
    }
};

struct write_outcome {
    std::uint64_t through = 0;  // the batches up to this number were written (or failed)
    bool committed = false;
    std::uint64_t message_count = 0;    // messages in the file afterwards
    std::uint64_t pruned = 0;           // messages the transaction deleted by retention
    std::vector<std::string> failures;  // worth logging (the first ten, then one in a hundred)
    bool recovered = false;             // committed after failures
};

class store_writer {
  public:
    static constexpr std::size_t prune_step = 5000;
    // Messages a multi-row INSERT takes (columns_per_message parameters each, far below
    // SQLite's 32 766).
    static constexpr std::size_t insert_rows = 32;
    static constexpr int columns_per_message = 10;

    // Opens (creating or migrating) the file; throws std::runtime_error naming it and why.
    // Reads the tips and the count; the thread starts with start().
    store_writer(std::filesystem::path file, retention keep);
    // Writes what is queued, then ends the thread.
    ~store_writer();
    store_writer(store_writer const&) = delete;
    store_writer& operator=(store_writer const&) = delete;

    std::map<std::string, engine::chain_tip, std::less<>> const& initial_tips() const {
        return initial_tips_;
    }
    std::uint64_t initial_count() const { return count_; }

    // `notify` runs on the writer's thread after each outcome is queued.
    void start(std::function<void()> notify);
    void push(std::shared_ptr<write_batch const> batch);
    std::vector<write_outcome> take_outcomes();
    // Block until every batch pushed so far is written (wait_written) and, for wait_idle, the
    // history is pruned back to its limit: for start-up, shutdown and tests, never on the io
    // thread while the node runs.
    void wait_written();
    void wait_idle();

    std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
    std::filesystem::path const& file() const { return file_; }

  private:
    void run();
    write_outcome write(std::vector<std::shared_ptr<write_batch const>> const& batches);
    bool apply(write_batch const& batch, write_outcome& out);
    bool apply(state_write const& op);
    bool step(sqlite::statement& s, char const* what);
    void failed(int rc, char const* what);
    std::optional<std::int64_t> origin_id(std::string_view key);
    std::size_t prune_by_age(prune_request const& request);
    std::size_t prune_by_count(bool idle, std::uint64_t added);
    bool over_limit() const { return keep_.max_messages != 0 && count_ > keep_.max_messages; }
    std::size_t delete_returning(sqlite::statement& s);
    std::size_t delete_oldest(std::uint64_t n);
    // By origins.id, the highest seq a prune step deleted.
    using highest_seqs = std::map<std::int64_t, std::uint64_t>;
    void forget_seals(highest_seqs const& gone_up_to);
    void count_messages();

    std::filesystem::path file_;
    retention keep_;
    sqlite::database db_;
    sqlite::statement begin_, commit_, rollback_;
    sqlite::statement find_origin_, add_origin_;
    sqlite::statement insert_message_, insert_messages_, update_tip_, insert_seal_;
    sqlite::statement prune_boundary_, prune_authors_, prune_through_, prune_age_, delete_seals_;
    sqlite::statement set_meta_, remember_peer_, trim_peers_, forget_peer_, forget_peers_;

    std::map<std::string, engine::chain_tip, std::less<>> initial_tips_;
    // Writer thread only.
    std::uint64_t count_ = 0;
    std::unordered_map<std::string, std::int64_t> origin_ids_;  // cached origins.id
    std::string last_origin_;  // a stream comes from one author: no hash for it
    std::int64_t last_origin_id_ = 0;
    // Tips not yet in the file: written with the next transaction that commits.
    std::map<std::string, engine::chain_tip, std::less<>> unwritten_tips_;
    std::vector<std::string> failures_;  // of the transaction being written
    bool recovering_ = false;
    std::atomic<std::uint64_t> errors_{0};

    std::mutex mutex_;
    std::condition_variable wake_, idle_;
    std::deque<std::shared_ptr<write_batch const>> queue_;
    std::vector<write_outcome> outcomes_;
    std::uint64_t written_through_ = 0;  // the last batch number written (writer thread only)
    bool prune_owed_ = false;            // over the limit by count: prune when idle
    bool busy_ = false;
    bool stop_ = false;
    std::function<void()> notify_;
    std::thread thread_;
};

}  // namespace p2pchat::daemon
