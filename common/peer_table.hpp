#pragma once
// The node's view of the network: its own entry plus one entry per other node, keyed by id.
// Pure state machine (no I/O): every received entry goes through merge(), which applies the
// rule of docs/PROTOCOL.md so that tables converge whatever order updates arrive in.
// Not thread-safe; owned by the node's io thread.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/wire/messages.hpp"

namespace p2pchat {

enum class merge_outcome {
    ignored,     // older or equal news, an entry about ourselves, or a tombstone we never knew
    joined,      // a live peer we did not know (or knew as departed)
    updated,     // same live peer, newer incarnation (address or name may have changed)
    left,        // a live peer is now a tombstone
    table_full,  // a new live peer, but the table already holds max_peers live peers
};

struct merge_result {
    merge_outcome outcome = merge_outcome::ignored;
    std::optional<wire::peer_entry> previous;  // the entry before, for joined/updated/left
};

class peer_table {
  public:
    // Tombstones are capped at max_tombstones (default: max_peers); past it, the oldest goes.
    peer_table(wire::peer_entry self, std::size_t max_peers, std::size_t max_tombstones = 0);

    wire::peer_entry const& self() const { return self_; }
    std::size_t max_peers() const { return max_peers_; }

    // Applies one received entry. now_ms timestamps tombstones for expire_tombstones().
    merge_result merge(wire::peer_entry const& entry, std::int64_t now_ms);

    // This node's entry changed (rename, bump, refute): its new signature.
    void sign_self(std::string sig) { self_.sig = std::move(sig); }

    // Renames this node: raises its incarnation. Returns the new self entry.
    wire::peer_entry const& rename_self(std::string name);
    // Re-enters the network under a higher incarnation (after leave).
    wire::peer_entry const& bump_self();
    // Someone holds news about this node that outranks it (a late leave, a clock that went
    // backwards): raise the incarnation above it. True if the self entry changed.
    bool refute(wire::peer_entry const& claim);

    // Forgets a tombstone of `id` (kept or expired). A live entry stays. True if one was
    // dropped.
    bool forget_tombstone(std::string const& id);
    // Forgets a live peer without a tombstone (to make room for one that proved itself).
    // True if it was there.
    bool drop(std::string const& id);
    // Forgets every other peer, and the tombstones it expired (this node left the network,
    // or is about to take it afresh from a welcome).
    void clear();

    wire::peer_entry const* find(std::string const& id) const;
    bool is_alive(std::string const& id) const;
    std::size_t alive_count() const { return alive_; }
    bool full() const { return alive_ >= max_peers_; }

    // Live peers (not self), ordered by id.
    std::vector<wire::peer_entry> alive_peers() const;
    // The same, visited in place: nothing is copied (the send path walks it per message).
    template <typename Visit>
    void for_each_alive(Visit&& visit) const {
        for (auto const& [id, s] : others_)
            if (s.entry.state == wire::peer_state::alive) visit(s.entry);
    }
    // Everything a full list carries: self, live peers and tombstones.
    std::vector<wire::peer_entry> all_entries() const;
    // Entries of ours that `theirs` lacks or holds at an older incarnation/state.
    std::vector<wire::peer_entry> newer_than(std::vector<wire::peer_entry> const& theirs) const;

    // Drops tombstones older than max_age_ms; remembers their (id, inc) for another max_age_ms
    // so the same tombstone gossiped back by a slower node is not taken in again.
    // Returns the ids it forgot.
    std::vector<std::string> expire_tombstones(std::int64_t now_ms, std::int64_t max_age_ms);
    std::size_t tombstones() const { return others_.size() - alive_; }

    // Lowercase hex SHA-256 over sorted "id inc state\n" lines of all entries (self included).
    std::string digest() const;

  private:
    struct slot {
        wire::peer_entry entry;
        std::int64_t left_at_ms = 0;
    };

    void cap_tombstones();

    wire::peer_entry self_;
    std::size_t max_peers_;
    std::size_t max_tombstones_;
    std::map<std::string, slot> others_;  // ordered: digest and listings need id order
    struct expired {
        std::uint64_t inc = 0;
        std::int64_t at_ms = 0;
    };
    std::map<std::string, expired> expired_;
    std::size_t alive_ = 0;
};

// True when `a` should replace `b` for the same id.
bool outranks(wire::peer_entry const& a, wire::peer_entry const& b);

}  // namespace p2pchat
