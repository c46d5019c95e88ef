#pragma once
// The engine's notion of time. Every input carries `now`; the engine never reads a clock, so
// a simulator can run it on a virtual one (and give each node its own wall-clock skew).
#include <chrono>
#include <cstdint>

namespace p2pchat::engine {

using steady_time = std::chrono::steady_clock::time_point;
using std::chrono::milliseconds;

struct instant {
    steady_time steady;        // monotonic: timers, timeouts, "lately"
    std::int64_t unix_ms = 0;  // wall clock: send times, the first incarnation and seq
};

// Milliseconds on the steady clock, for state that stores plain numbers (tombstone ages).
inline std::int64_t steady_ms(instant const& now) {
    return std::chrono::duration_cast<milliseconds>(now.steady.time_since_epoch()).count();
}

}  // namespace p2pchat::engine
