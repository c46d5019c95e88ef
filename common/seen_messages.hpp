#pragma once
// Remembers which chat messages (origin, seq) were delivered so duplicates are dropped.
// Per origin it keeps a watermark (every seq up to it was seen) plus the few seqs seen above
// it, so memory stays proportional to gaps, not to traffic. The gap set of one origin is
// capped: when it overflows, the watermark jumps forward (the oldest gap is given up). A seq
// more than new_run_distance ahead moves the watermark up to it: what lies between would not
// fit in any history a node hands on.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>

namespace p2pchat {

class seen_messages {
  public:
    static constexpr std::uint64_t new_run_distance = 1'000'000;

    // At most max_origins origins are remembered: past it, the one heard from least lately
    // is forgotten (a flood of fresh origins must not grow the node).
    static constexpr std::size_t default_max_origins = 4096;

    explicit seen_messages(std::size_t max_gaps_per_origin = 4096,
                           std::size_t max_origins = default_max_origins)
        : max_gaps_(max_gaps_per_origin), max_origins_(max_origins) {}

    // True if (origin, seq) is new; records it.
    bool insert(std::string const& origin, std::uint64_t seq);
    bool contains(std::string const& origin, std::uint64_t seq) const;

    // The highest contiguous seq seen from origin (0 if none).
    std::uint64_t watermark(std::string const& origin) const;

    // Follows an origin from `seq` on (seq 1: from its first message): one not followed yet
    // takes every seq below as seen. A newcomer's history of an origin starts where its
    // window does. An origin is followed once it has a watermark or was started.
    void start_at(std::string const& origin, std::uint64_t seq);
    bool follows(std::string const& origin) const;

    // Each origin and its watermark, in no particular order.
    template <class Visit>
    void for_each_watermark(Visit visit) const {
        for (auto const& [origin, w] : origins_) visit(origin, w.watermark);
    }
    // Each origin followed and its watermark (which may be 0: followed from its first
    // message), in no particular order. Left out: origins only seen above a gap.
    template <class Visit>
    void for_each_followed(Visit visit) const {
        for (auto const& [origin, w] : origins_)
            if (w.watermark > 0 || w.started) visit(origin, w.watermark);
    }

    // Forgets an origin (a peer the node forgot for good).
    void forget(std::string const& origin) { origins_.erase(origin); }
    std::size_t origins() const { return origins_.size(); }

  private:
    struct window {
        std::uint64_t watermark = 0;
        std::set<std::uint64_t> above;
        std::uint64_t last_use = 0;
        bool started = false;  // start_at() chose where it is followed from
    };
    static void absorb(window& w);

    std::size_t max_gaps_;
    std::size_t max_origins_;
    std::uint64_t uses_ = 0;
    std::unordered_map<std::string, window> origins_;
};

}  // namespace p2pchat
