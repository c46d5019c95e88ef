#pragma once
// Scenarios: the building blocks a run is scripted with (start, chat, crash, pause,
// partition, ...), the convergence check, and the generator that makes a whole run from a
// seed (docs/SIMULATION.md, "Scenarios").
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/sim/world.hpp"

namespace p2pchat::sim {

// Asserted runs keep partitions and pauses far below the peer timeout; `long_faults` runs
// hold one partition or pause longer than it, to measure what happens (not asserted).
enum class fault_class { none, mixed, long_faults };
std::string_view to_string(fault_class c);

// After faults stop and partitions heal, membership must converge within this bound and
// then hold (docs/SIMULATION.md, "The convergence bound").
inline constexpr sim_time convergence_bound = 90s;
inline constexpr sim_time convergence_hold = 20s;

struct scenario_config {
    std::uint64_t seed = 1;
    int nodes = 20;
    fault_class faults = fault_class::mixed;
    std::ostream* trace_out = nullptr;
};

struct fault_counts {
    int resets = 0;
    int pauses = 0;
    int partitions = 0;
    int one_way = 0;
    int crashes = 0;
    int restarts = 0;
    int leaves = 0;
    int stops = 0;
};

struct run_result {
    std::uint64_t seed = 0;
    int nodes = 0;
    fault_class faults = fault_class::mixed;
    std::string failure;  // empty: every asserted property held
    bool ok() const { return failure.empty(); }

    // Measured.
    std::optional<double> convergence_s;  // after faults stopped; none: not within the bound
    int components = 1;                   // > 1: halves not re-merged
    std::uint64_t messages_sent = 0;
    delivery_figures deliveries;
    std::uint64_t false_removals = 0;
    std::vector<double> detection_s;  // per crash that stayed down: crash -> removed everywhere
    int undetected = 0;               // ... and never removed everywhere
    std::uint64_t bytes = 0;
    std::uint64_t frames = 0;
    std::uint64_t frames_lost = 0;  // in flight on a connection that broke
    std::uint64_t events = 0;
    double faults_stop_s = 0;
    double end_s = 0;
    fault_counts counts;
    std::uint64_t trace_hash = 0;
    std::uint64_t trace_lines = 0;
    std::vector<std::string> notes;  // false removals, seq inversions: for --seed runs
};

// Scripting a run: everything happens at a virtual time through the world's queue, and
// random choices made then (which node, which connection) come from the world's generator.
class simulation {
  public:
    explicit simulation(world_config const& config);

    world& w() { return world_; }
    fault_counts const& counts() const { return counts_; }

    // Boots node `n` at `at`, joining through `contacts` (none: founds a network).
    void start(int n, sim_time at, std::vector<int> contacts);
    // Random members send chat at `rate` per second between `from` and `to`.
    void chat(sim_time from, sim_time to, double rate);
    void renames(sim_time from, sim_time to, double rate);
    // Crashes a random live node (or `n`); restarts it `restart_after` later if given.
    void crash(sim_time at, std::optional<sim_time> restart_after, int n = -1);
    void pause(sim_time at, sim_time duration, int n = -1);
    void cut(sim_time at, sim_time duration, partition p);
    // Resets a random open connection, or (whole_node) every connection of a random node.
    void reset(sim_time at, bool whole_node);
    // A random member leaves (`leave`), or stops (SIGTERM); back after `back_after` if given.
    void leave(sim_time at, bool stop, std::optional<sim_time> back_after, int n = -1);
    // Restart of a node that is down, joining through random live members.
    void restart(int n, sim_time at);

    // Runs until `faults_stop` + bound + hold, checking membership every 250 ms from
    // `faults_stop`; returns when it converged for good (none: not within the bound).
    std::optional<sim_time> converge(sim_time faults_stop);
    void run_until(sim_time t);

  private:
    void monitor(sim_time every);
    int random_node(bool members_only);

    world world_;
    fault_counts counts_;
};

// A partition drawn from the generator: two or three groups, or one node cut off; drop or
// reject; sometimes one-way.
partition random_partition(rng& random, int nodes);

// Generates the scenario of `config.seed`, runs it and checks the properties.
run_result run_scenario(scenario_config const& config);

// The one command that replays a run with its trace.
std::string replay_command(std::string_view program, scenario_config const& config);

}  // namespace p2pchat::sim
