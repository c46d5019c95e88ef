#pragma once
// The sqlite_store's overlay index: the messages that wait for the writer, by origin, then by
// seq. Two levels rather than one map keyed by (origin, seq): origins are 64-character ids,
// and a stream from one author would compare the same 64 bytes at every step of every lookup;
// here an origin is found once (the last one is remembered) and the seqs are plain integers.
//
// Keys: the origin views must outlive their entries (sqlite_store passes its tips' keys,
// which are never erased). Values point into write batches, which outlive their entries too.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string_view>

namespace p2pchat::daemon {

template <typename Value>
class pending_index {
  public:
    using by_seq = std::map<std::uint64_t, Value const*>;

    Value const* find(std::string_view origin, std::uint64_t seq) const {
        auto const* seqs = seqs_of(origin);
        if (!seqs) return nullptr;
        auto it = seqs->find(seq);
        return it == seqs->end() ? nullptr : it->second;
    }
    bool contains(std::string_view origin, std::uint64_t seq) const {
        return find(origin, seq) != nullptr;
    }
    void insert(std::string_view stable_origin, std::uint64_t seq, Value const* value) {
        auto& seqs = last_ && last_origin_ == stable_origin
                         ? *last_
                         : origins_.try_emplace(stable_origin).first->second;
        remember(stable_origin, &seqs);
        if (seqs.emplace(seq, value).second) ++size_;
    }
    // Drops the entry of (origin, seq) if it is still `value` (a later batch may hold the id).
    void erase(std::string_view origin, std::uint64_t seq, Value const* value) {
        auto at = origins_.find(origin);
        if (at == origins_.end()) return;
        auto& seqs = at->second;
        if (auto it = seqs.find(seq); it != seqs.end() && it->second == value) {
            seqs.erase(it);
            --size_;
        }
        if (seqs.empty()) {
            if (last_ == &seqs) last_ = nullptr;
            origins_.erase(at);
        }
    }
    // The origin's entries, in seq order; nullptr when it has none.
    by_seq const* seqs_of(std::string_view origin) const {
        if (last_ && last_origin_ == origin) return last_;
        auto it = origins_.find(origin);
        return it == origins_.end() ? nullptr : &it->second;
    }
    // Every entry in (origin, seq) order.
    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (auto const& [origin, seqs] : origins_)
            for (auto const& [seq, value] : seqs) visit(origin, seq, *value);
    }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

  private:
    void remember(std::string_view origin, by_seq* seqs) {
        last_origin_ = origin;
        last_ = seqs;
    }

    std::map<std::string_view, by_seq, std::less<>> origins_;
    std::size_t size_ = 0;
    // The origin the last insert went to: a stream inserts under one origin again and again.
    std::string_view last_origin_;
    by_seq* last_ = nullptr;
};

}  // namespace p2pchat::daemon
