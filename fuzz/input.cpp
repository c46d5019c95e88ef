#include "fuzz/input.hpp"

#include <sodium.h>

#include <cstring>

namespace p2pchat::fuzz {

namespace {

splitmix stream{0};

char const* name() { return "p2pchat-fuzz-splitmix"; }
std::uint32_t random32() { return static_cast<std::uint32_t>(stream.next()); }
void stir() {}
std::uint32_t uniform(std::uint32_t const upper_bound) {
    return upper_bound < 2 ? 0 : static_cast<std::uint32_t>(stream.next() % upper_bound);
}
void buf(void* const out, std::size_t const size) {
    auto* p = static_cast<unsigned char*>(out);
    for (std::size_t i = 0; i < size; i += 8) {
        std::uint64_t const v = stream.next();
        std::memcpy(p + i, &v, std::min<std::size_t>(8, size - i));
    }
}
int close() { return 0; }

randombytes_implementation deterministic{name, random32, stir, uniform, buf, close};

}  // namespace

void use_deterministic_randomness() {
    randombytes_set_implementation(&deterministic);
    if (sodium_init() < 0) std::abort();
}

void reseed_randomness(std::uint64_t seed) { stream = splitmix(seed); }

}  // namespace p2pchat::fuzz
