#pragma once
// The one random generator of a simulated run: xoshiro256** seeded through splitmix64, with
// its own small distributions (std:: distributions differ between standard libraries, ours
// must not). Every random choice of a run is drawn from it, in an order fixed by the event
// queue, so a seed replays the same run bit for bit on the same build.
#include <cmath>
#include <cstdint>
#include <vector>

namespace p2pchat::sim {

class rng {
  public:
    explicit rng(std::uint64_t seed) {
        for (auto& word : state_) {
            seed += 0x9e3779b97f4a7c15ULL;  // splitmix64
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            word = z ^ (z >> 31);
        }
    }

    std::uint64_t next() {
        std::uint64_t const result = rotl(state_[1] * 5, 7) * 9;
        std::uint64_t const t = state_[1] << 17;
        state_[2] ^= state_[0];
        state_[3] ^= state_[1];
        state_[1] ^= state_[2];
        state_[0] ^= state_[3];
        state_[2] ^= t;
        state_[3] = rotl(state_[3], 45);
        return result;
    }

    // Uniform in [0, n), n > 0, without modulo bias.
    std::uint64_t below(std::uint64_t n) {
        std::uint64_t const threshold = (0 - n) % n;
        for (;;) {
            std::uint64_t const r = next();
            if (r >= threshold) return r % n;
        }
    }
    // Uniform in [lo, hi].
    std::int64_t between(std::int64_t lo, std::int64_t hi) {
        return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
    }
    // Uniform in [0, 1).
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
    bool chance(double p) { return unit() < p; }
    double exponential(double mean) { return -mean * std::log1p(-unit()); }

    template <class T>
    T const& pick(std::vector<T> const& from) {
        return from[below(from.size())];
    }
    template <class T>
    void shuffle(std::vector<T>& v) {
        for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
    }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t state_[4];
};

}  // namespace p2pchat::sim
