#pragma once
// The virtual clock and the queue of everything that is due: ordered by (time, insertion
// number), so two events at the same instant run in the order they were scheduled. Nothing
// in a run reads a real clock.
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace p2pchat::sim {

// Virtual time since the start of a run.
using sim_time = std::chrono::microseconds;
using namespace std::chrono_literals;

inline double seconds(sim_time t) { return static_cast<double>(t.count()) / 1e6; }

class event_queue {
  public:
    using action = std::function<void()>;

    sim_time now() const { return now_; }
    std::uint64_t executed() const { return executed_; }
    std::size_t pending() const { return heap_.size(); }

    // Schedules `fn` at `at` (never before now).
    void at(sim_time at, action fn);
    void after(sim_time delay, action fn) { at(now_ + delay, std::move(fn)); }

    // Runs events in order until the next one is later than `until` (or none is left); the
    // clock then stands at `until`. Returns false if stop() was called.
    bool run_until(sim_time until);
    void stop() { stopped_ = true; }

  private:
    struct entry {
        sim_time at;
        std::uint64_t order;
        action fn;
    };
    struct later {
        bool operator()(entry const& a, entry const& b) const {
            return a.at != b.at ? a.at > b.at : a.order > b.order;
        }
    };

    std::vector<entry> heap_;
    sim_time now_{0};
    std::uint64_t next_order_ = 0;
    std::uint64_t executed_ = 0;
    bool stopped_ = false;
};

}  // namespace p2pchat::sim
