#pragma once
// The record of a run: one line per input a node handled and per effect it produced, plus
// the network's and the scenario's own doings. Every line goes into a running hash (two runs
// of one seed must give the same hash); with an output stream the lines are also printed,
// which is what `p2pchat-sim --seed S --trace` shows.
#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>

#include "common/engine/effects.hpp"
#include "common/wire/messages.hpp"
#include "tests/sim/event_queue.hpp"

namespace p2pchat::sim {

class trace {
  public:
    explicit trace(std::ostream* out = nullptr) : out_(out) {}

    bool printing() const { return out_ != nullptr; }
    // A line about node `node` (-1: the world: scenario, faults, network).
    void record(sim_time at, int node, std::string_view text);
    std::uint64_t hash() const { return hash_; }
    std::uint64_t lines() const { return lines_; }

  private:
    void mix(std::string_view bytes);

    std::ostream* out_;
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;  // FNV-1a 64
    std::uint64_t lines_ = 0;
};

// Node ids as the trace shows them: "n3" for a node of the run, else the first 8 digits.
class id_names {
  public:
    void add(std::string id, std::string name) { names_.emplace(std::move(id), std::move(name)); }
    std::string_view operator()(std::string_view id) const;

  private:
    std::map<std::string, std::string, std::less<>> names_;
};

// Short, human-readable descriptions for trace lines.
void describe(std::string& out, wire::message const& m, id_names const& names);
void describe(std::string& out, engine::effect const& e, id_names const& names);
std::string_view short_id(std::string_view id);

}  // namespace p2pchat::sim
