#include "common/peer_table.hpp"

#include <sodium.h>

#include <limits>
#include <unordered_map>

namespace p2pchat {

using wire::peer_entry;
using wire::peer_state;

bool outranks(peer_entry const& a, peer_entry const& b) {
    if (a.inc != b.inc) return a.inc > b.inc;
    return a.state == peer_state::left && b.state == peer_state::alive;
}

peer_table::peer_table(peer_entry self, std::size_t max_peers, std::size_t max_tombstones)
    : self_(std::move(self)),
      max_peers_(max_peers),
      max_tombstones_(max_tombstones ? max_tombstones : max_peers) {}

void peer_table::cap_tombstones() {
    // A flood of tombstones (each needs an owner's signature, but keys are free) must not
    // grow the table: past the cap the oldest goes, and is remembered as expired.
    while (tombstones() > max_tombstones_) {
        auto oldest = others_.end();
        for (auto it = others_.begin(); it != others_.end(); ++it)
            if (it->second.entry.state == peer_state::left &&
                (oldest == others_.end() || it->second.left_at_ms < oldest->second.left_at_ms))
                oldest = it;
        if (oldest == others_.end()) return;
        expired_[oldest->first] = {oldest->second.entry.inc, oldest->second.left_at_ms};
        others_.erase(oldest);
    }
}

merge_result peer_table::merge(peer_entry const& entry, std::int64_t now_ms) {
    if (entry.id == self_.id) return {};
    auto it = others_.find(entry.id);
    bool const incoming_alive = entry.state == peer_state::alive;
    if (it == others_.end()) {
        // A tombstone we already expired: the same news coming back from a node that has not
        // expired it yet must not start another ten minutes (nor an older "alive" revive it).
        if (auto gone = expired_.find(entry.id);
            gone != expired_.end() && entry.inc <= gone->second.inc)
            return {};
        if (!incoming_alive) {
            // Keep the tombstone so a late, older "alive" cannot resurrect the peer.
            others_.emplace(entry.id, slot{entry, now_ms});
            cap_tombstones();
            return {};
        }
        if (full()) return {merge_outcome::table_full, std::nullopt};
        others_.emplace(entry.id, slot{entry, 0});
        ++alive_;
        return {merge_outcome::joined, std::nullopt};
    }
    slot& s = it->second;
    if (!outranks(entry, s.entry)) return {};
    peer_entry previous = s.entry;
    bool const was_alive = previous.state == peer_state::alive;
    if (!was_alive && incoming_alive && full()) return {merge_outcome::table_full, std::nullopt};
    s.entry = entry;
    s.left_at_ms = incoming_alive ? 0 : now_ms;
    if (was_alive && !incoming_alive) {
        --alive_;
        cap_tombstones();
        return {merge_outcome::left, std::move(previous)};
    }
    if (!was_alive && incoming_alive) {
        ++alive_;
        return {merge_outcome::joined, std::move(previous)};
    }
    if (!was_alive) return {};  // a newer tombstone over an old one: nothing visible changed
    return {merge_outcome::updated, std::move(previous)};
}

bool peer_table::drop(std::string const& id) {
    auto it = others_.find(id);
    if (it == others_.end() || it->second.entry.state != peer_state::alive) return false;
    others_.erase(it);
    --alive_;
    return true;
}

namespace {
// Incarnations stop at the top of their range: wrapping around to 0 would make every other
// node's entry of this one outrank its own for good.
constexpr std::uint64_t top_inc = std::numeric_limits<std::uint64_t>::max();
std::uint64_t above(std::uint64_t inc) { return inc == top_inc ? inc : inc + 1; }
}  // namespace

peer_entry const& peer_table::rename_self(std::string name) {
    self_.name = std::move(name);
    self_.inc = above(self_.inc);
    return self_;
}

peer_entry const& peer_table::bump_self() {
    self_.inc = above(self_.inc);
    return self_;
}

bool peer_table::refute(peer_entry const& claim) {
    if (claim.id != self_.id || !outranks(claim, self_)) return false;
    // A claim at the top incarnation cannot be outranked; rising to it is all there is.
    if (above(claim.inc) == self_.inc) return false;
    self_.inc = above(claim.inc);
    return true;
}

void peer_table::clear() {
    others_.clear();
    expired_.clear();
    alive_ = 0;
}

bool peer_table::forget_tombstone(std::string const& id) {
    bool const expired = expired_.erase(id) > 0;
    auto it = others_.find(id);
    if (it == others_.end() || it->second.entry.state != peer_state::left) return expired;
    others_.erase(it);
    return true;
}

peer_entry const* peer_table::find(std::string const& id) const {
    if (id == self_.id) return &self_;
    auto it = others_.find(id);
    return it == others_.end() ? nullptr : &it->second.entry;
}

bool peer_table::is_alive(std::string const& id) const {
    auto it = others_.find(id);
    return it != others_.end() && it->second.entry.state == peer_state::alive;
}

std::vector<peer_entry> peer_table::alive_peers() const {
    std::vector<peer_entry> out;
    out.reserve(alive_);
    for (auto const& [id, s] : others_)
        if (s.entry.state == peer_state::alive) out.push_back(s.entry);
    return out;
}

std::vector<peer_entry> peer_table::all_entries() const {
    std::vector<peer_entry> out;
    out.reserve(others_.size() + 1);
    out.push_back(self_);
    for (auto const& [id, s] : others_) out.push_back(s.entry);
    return out;
}

std::vector<peer_entry> peer_table::newer_than(std::vector<peer_entry> const& theirs) const {
    std::unordered_map<std::string_view, peer_entry const*> index;
    index.reserve(theirs.size());
    for (auto const& e : theirs) index.emplace(e.id, &e);
    std::vector<peer_entry> out;
    auto consider = [&](peer_entry const& mine) {
        auto it = index.find(mine.id);
        if (it == index.end() || outranks(mine, *it->second)) out.push_back(mine);
    };
    consider(self_);
    for (auto const& [id, s] : others_) consider(s.entry);
    return out;
}

std::vector<std::string> peer_table::expire_tombstones(std::int64_t now_ms,
                                                       std::int64_t max_age_ms) {
    // Expired tombstones are remembered for one more lifetime (id and incarnation only),
    // long enough for every other node to have expired its copy too.
    std::erase_if(expired_, [&](auto const& kv) { return now_ms - kv.second.at_ms >= max_age_ms; });
    std::vector<std::string> forgotten;
    std::erase_if(others_, [&](auto const& kv) {
        bool const old = kv.second.entry.state == peer_state::left &&
                         now_ms - kv.second.left_at_ms >= max_age_ms;
        if (old) {
            expired_[kv.first] = {kv.second.entry.inc, now_ms};
            forgotten.push_back(kv.first);
        }
        return old;
    });
    return forgotten;
}

std::string peer_table::digest() const {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    auto add = [&](peer_entry const& e) {
        std::string line = e.id + ' ' + std::to_string(e.inc) + ' ' +
                           (e.state == peer_state::alive ? "alive" : "left") + '\n';
        crypto_hash_sha256_update(&state, reinterpret_cast<unsigned char const*>(line.data()),
                                  line.size());
    };
    // self_ and others_ are merged in id order so every node hashes the same sequence.
    bool self_done = false;
    for (auto const& [id, s] : others_) {
        if (!self_done && self_.id < id) {
            add(self_);
            self_done = true;
        }
        add(s.entry);
    }
    if (!self_done) add(self_);
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&state, hash);
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    return hex;
}

}  // namespace p2pchat
