#include "tests/sim/event_queue.hpp"

#include <algorithm>

namespace p2pchat::sim {

void event_queue::at(sim_time at, action fn) {
    heap_.push_back({std::max(at, now_), next_order_++, std::move(fn)});
    std::push_heap(heap_.begin(), heap_.end(), later{});
}

bool event_queue::run_until(sim_time until) {
    while (!stopped_ && !heap_.empty() && heap_.front().at <= until) {
        std::pop_heap(heap_.begin(), heap_.end(), later{});
        entry next = std::move(heap_.back());
        heap_.pop_back();
        now_ = next.at;
        ++executed_;
        next.fn();
    }
    if (!stopped_) now_ = std::max(now_, until);
    return !stopped_;
}

}  // namespace p2pchat::sim
