#include "tests/sim/memory.hpp"

namespace p2pchat::sim::memory {

thread_local int current_account = 0;

// Overridden by counting_allocator.cpp where it is linked in.
[[gnu::weak]] usage live(int) { return {}; }

}  // namespace p2pchat::sim::memory
