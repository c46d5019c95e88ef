#pragma once
// Where a follower (tail, chat) stands in a daemon's event stream, so that it can reconnect
// after the daemon went away and resume where it was: nothing shown twice, nothing skipped.
//
// Event numbers never repeat, also across restarts (docs/STORAGE.md): the same daemon (same
// pid), and a restarted one of the same node whose numbering has reached where the follower
// was, are resumed exactly, by number. Messages are also checked by id after a restart: a
// message shown just before a crash that the store had not yet committed comes back through
// sync under a new number. Peer events are not stored: those of the restarted daemon's last
// minutes are not replayed. Any other daemon (another node, a wiped state directory, an
// older p2pchatd) is resumed by time: it replays all it has, and the follower shows what it
// has not shown yet: events recorded after the last one it showed, and messages whose id it
// has not seen that were sent since it started following. Pure; no I/O.
#include <array>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace p2pchat::ctl {

class resume_point {
  public:
    // The daemon followed now (from status: its pid, node id and newest event number) and
    // the subscribe params that resume in its stream: {"since": seq} for the same daemon or a
    // restart of the same node, {"since": 0} (everything, filtered by wanted()) for another.
    // The first call only records who it is.
    boost::json::object reconnected(std::int64_t pid, std::string_view node_id,
                                    std::uint64_t event_seq);
    // The same from the daemon's status result ("pid", "id", "event_seq").
    boost::json::object reconnected(boost::json::object const& status);

    // Following begins after event `seq`, once `shown` (messages from the store, in history
    // order, with their event numbers) were printed: those that arrived while the store was
    // read (numbered after `seq`) will come again in the stream and are not wanted there.
    void follow_after(std::uint64_t seq, std::vector<boost::json::object> const& shown);

    // Records an event that was handed to the output (or deliberately skipped by a filter).
    void saw(boost::json::object const& event);
    // The same for an event line as the daemon serialized it ({"type":..., ..., "seq":N,
    // "time_ms":T}), without parsing all of it: the fast path of `tail --json`.
    void saw_line(std::string_view line);

    // False for an event replayed by a restarted daemon that was already shown.
    bool wanted(boost::json::object const& event) const;
    bool wanted_line(std::string_view line) const;

    bool after_restart() const { return restarted_; }
    std::uint64_t last_seq() const { return last_seq_; }
    std::int64_t last_time_ms() const { return last_time_ms_; }

  private:
    bool wanted(std::string_view type, std::string_view id, std::uint64_t seq, std::int64_t time_ms,
                std::int64_t sent_ms) const;
    void remember(std::string_view type, std::string_view id, std::uint64_t seq,
                  std::int64_t time_ms);

    std::int64_t pid_ = 0;
    std::string node_id_;
    bool restarted_ = false;
    bool exact_ = false;  // restarted, and resumed by number
    std::uint64_t last_seq_ = 0;
    std::int64_t last_time_ms_ = 0;
    std::int64_t first_time_ms_ = -1;  // the oldest event seen: where following began
    // Hashes of the newest message ids seen (a welcome replays at most 50 messages), in a
    // ring: remembering costs no allocation, which `tail` does for every message it shows;
    // only a resume after a restart looks through it.
    static constexpr std::size_t max_ids = 4096;
    std::array<std::uint64_t, max_ids> ids_{};
    std::size_t next_id_ = 0;
    std::size_t id_count_ = 0;
    bool seen_id(std::string_view id) const;
    // Event numbers above where following began of messages already shown from the store,
    // ascending (usually none).
    std::vector<std::uint64_t> shown_ahead_;
};

}  // namespace p2pchat::ctl
