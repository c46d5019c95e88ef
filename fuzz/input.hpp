#pragma once
// What the fuzz harnesses share with each other and with the seed generator (seeds.cpp):
//
//   - reader/writer: a harness reads its input front to back as small typed values (a byte, a
//     little-endian integer, a length-prefixed blob); past the end every read gives zero or
//     empty. writer writes the same values, so the seed generator can spell out inputs that
//     mean something to a harness (a real handshake, a join then a chat) instead of raw bytes.
//   - deterministic randomness for libsodium: a harness that runs a Noise handshake installs a
//     seeded generator in place of the system's, so the same input always draws the same
//     ephemeral keys and a crash reproduces.
//   - check(): an invariant a harness asserts; a breach aborts with a message, which libFuzzer
//     reports as a crash and saves the input.
//
// Single-threaded, like libFuzzer's LLVMFuzzerTestOneInput.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace p2pchat::fuzz {

class reader {
  public:
    reader(std::uint8_t const* data, std::size_t size) : p_(data), end_(data + size) {}
    explicit reader(std::string_view s)
        : reader(reinterpret_cast<std::uint8_t const*>(s.data()), s.size()) {}

    bool done() const { return p_ == end_; }
    std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }

    std::uint8_t u8() { return p_ == end_ ? 0 : *p_++; }
    std::uint16_t u16() { return static_cast<std::uint16_t>(little(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(little(4)); }
    std::uint64_t u64() { return little(8); }
    bool flag() { return (u8() & 1) != 0; }
    // A choice among n (n > 0): one byte when n fits in one, two otherwise.
    std::size_t below(std::size_t n) { return (n <= 256 ? u8() : u16()) % n; }
    // Up to n bytes (fewer at the end of the input).
    std::string bytes(std::size_t n) {
        n = std::min(n, left());
        std::string out(reinterpret_cast<char const*>(p_), n);
        p_ += n;
        return out;
    }
    // A two-byte length, then that many bytes.
    std::string blob() { return bytes(u16()); }
    std::string rest() { return bytes(left()); }

  private:
    std::uint64_t little(int n) {
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) v |= std::uint64_t{u8()} << (8 * i);
        return v;
    }

    std::uint8_t const* p_;
    std::uint8_t const* end_;
};

class writer {
  public:
    writer& u8(std::uint8_t v) { return data_.push_back(static_cast<char>(v)), *this; }
    writer& u16(std::uint16_t v) { return little(v, 2); }
    writer& u32(std::uint32_t v) { return little(v, 4); }
    writer& u64(std::uint64_t v) { return little(v, 8); }
    writer& flag(bool v) { return u8(v ? 1 : 0); }
    writer& below(std::size_t n, std::size_t choice) {
        return n <= 256 ? u8(static_cast<std::uint8_t>(choice))
                        : u16(static_cast<std::uint16_t>(choice));
    }
    writer& bytes(std::string_view s) { return data_.append(s), *this; }
    writer& blob(std::string_view s) {
        u16(static_cast<std::uint16_t>(s.size()));
        return bytes(s.substr(0, 0xffff));
    }
    std::string const& data() const { return data_; }

  private:
    writer& little(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
        return *this;
    }
    std::string data_;
};

// A small fast generator (splitmix64) for choices a harness derives rather than reads.
class splitmix {
  public:
    explicit splitmix(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

  private:
    std::uint64_t state_;
};

// Replaces libsodium's random source with splitmix64 and calls sodium_init(). Call once, from
// LLVMFuzzerInitialize (or main), before any other libsodium call.
void use_deterministic_randomness();
// Restarts the random stream: call at the start of every input.
void reseed_randomness(std::uint64_t seed);

[[noreturn]] inline void invariant_failed(char const* what, char const* file, int line) {
    std::fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    std::abort();
}

}  // namespace p2pchat::fuzz

// Checked in every build type (not assert(): the harnesses may be built with NDEBUG).
#define FUZZ_CHECK(cond) \
    ((cond) ? (void)0 : ::p2pchat::fuzz::invariant_failed(#cond, __FILE__, __LINE__))
