#pragma once
// Scale by simulation (docs/SCALING.md): N nodes join one after another through random
// members, no faults; how long until every table holds everyone, what the joins cost in
// frames and bytes, what a node's engine holds in memory.
#include <cstdint>
#include <variant>
#include <vector>

#include "common/wire/messages.hpp"
#include "tests/sim/event_queue.hpp"

namespace p2pchat::sim {

struct scale_result {
    int nodes = 0;
    double join_interval_s = 0;
    double last_start_s = 0;
    // Formation: `nodes` nodes start `join_interval` apart, each joining through a random
    // earlier node, until every table holds every node.
    bool converged = false;
    double converged_after_s = 0;  // after the last node started
    std::uint64_t bytes = 0;       // every frame written, join requests included, until converged
    std::uint64_t frames = 0;
    std::uint64_t bytes_by_type[std::variant_size_v<wire::message>] = {};
    std::uint64_t frames_by_type[std::variant_size_v<wire::message>] = {};
    // Idle: the anti-entropy traffic of the converged network, per node and second.
    double idle_bytes_per_node_s = 0;
    // One more join into the converged network of `nodes`: how long until every table holds
    // the newcomer and it holds everyone, and what it cost the whole network.
    bool one_join_converged = false;
    double one_join_s = 0;
    std::uint64_t one_join_bytes = 0;
    std::uint64_t one_join_frames = 0;
    std::uint64_t welcome_bytes = 0;
    // One 100-byte chat message: what its sender writes.
    std::uint64_t chat_sender_bytes = 0;
    std::uint64_t chat_sender_frames = 0;
    // Memory, converged and idle (before the one more join).
    std::int64_t memory_median = -1;  // engine bytes per node (-1: no counting allocator)
    std::int64_t memory_max = -1;
    std::int64_t allocations_median = 0;
    std::int64_t effect_lists_median = 0;  // of memory_median: the effect lists' capacity
    std::size_t connections = 0;           // open, each counted once
    std::uint64_t events = 0;
    double wall_s = 0;
};

scale_result run_scale(int nodes, sim_time join_interval = 100ms, std::uint64_t seed = 1);
void print_scale(scale_result const& r);
void print_curve(std::vector<int> const& sizes, sim_time join_interval = 100ms);

}  // namespace p2pchat::sim
