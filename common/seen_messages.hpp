#pragma once
// Remembers which chat messages (origin, seq) were delivered so duplicates are dropped.
// Per origin it keeps a watermark (every seq up to it was seen) plus the few seqs seen above
// it, so memory stays proportional to gaps, not to traffic. The gap set of one origin is
// capped: when it overflows, the watermark jumps forward (the oldest gap is given up). A seq
// more than new_run_distance ahead starts a new run (an origin that restarted numbers from
// its start time): the watermark moves up to it.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>

namespace p2pchat {

class seen_messages {
  public:
    static constexpr std::uint64_t new_run_distance = 1'000'000;

    explicit seen_messages(std::size_t max_gaps_per_origin = 4096)
        : max_gaps_(max_gaps_per_origin) {}

    // True if (origin, seq) is new; records it.
    bool insert(std::string const& origin, std::uint64_t seq);
    bool contains(std::string const& origin, std::uint64_t seq) const;

    // The highest contiguous seq seen from origin (0 if none).
    std::uint64_t watermark(std::string const& origin) const;

  private:
    struct window {
        std::uint64_t watermark = 0;
        std::set<std::uint64_t> above;
    };
    static void absorb(window& w);

    std::size_t max_gaps_;
    std::unordered_map<std::string, window> origins_;
};

}  // namespace p2pchat
