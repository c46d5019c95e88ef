#pragma once
// One simulated run's universe: the virtual clock and event queue, the one random generator,
// the network, the nodes, the trace and the recorder of what the properties need. Built
// from a seed; nothing in it reads a real clock or depends on an object's address, and
// whatever it iterates to make a choice is ordered.
#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "tests/sim/event_queue.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/properties.hpp"
#include "tests/sim/random.hpp"
#include "tests/sim/sim_node.hpp"
#include "tests/sim/trace.hpp"

namespace p2pchat::sim {

struct world_config {
    std::uint64_t seed = 1;
    int nodes = 20;
    latency_model latency;
    std::size_t max_peers = 256;
    engine::milliseconds gossip_interval{2000};
    engine::milliseconds peer_timeout{30000};
    engine::detector_config detector;  // the daemon's defaults
    // --redial-removed, and --rejoin-interval for the reconnect (0: none): the daemon's.
    engine::milliseconds dead_link_window{120 * 1000};
    engine::milliseconds reconnect_interval{30 * 1000};
    // Wall clocks are off by up to this much either way (steady clocks run at one rate).
    std::int64_t max_skew_ms = 3 * 60 * 1000;
    std::ostream* trace_out = nullptr;  // print the trace there
};

class world final : public network_host {
  public:
    // The virtual wall clock at time 0 (2026-01-01T00:00:00Z).
    static constexpr std::int64_t unix_epoch_ms = 1'767'225'600'000;

    explicit world(world_config const& config);
    world(world const&) = delete;
    world& operator=(world const&) = delete;

    world_config const& config() const { return config_; }
    event_queue& queue() { return queue_; }
    rng& random() { return random_; }
    network& net() { return net_; }
    trace& log() { return trace_; }
    id_names const& names() const { return names_; }
    recorder& record() { return recorder_; }
    recorder const& record() const { return recorder_; }
    sim_time now() const { return queue_.now(); }

    int size() const { return static_cast<int>(nodes_.size()); }
    sim_node& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
    sim_node const& node(int i) const { return *nodes_[static_cast<std::size_t>(i)]; }
    // The node listening at a host, -1 if none.
    int node_at(std::string_view host) const;
    int node_by_id(std::string_view id) const;

    // Nodes that are up, in the network (welcomed or founders, not left) and not `except`.
    std::vector<int> live_members(int except = -1) const;
    // Up to three random live members, for a (re)started node's joins.
    std::vector<int> pick_contacts(int self);

    // A line in the trace about the world (scenario, faults).
    void note(std::string_view text) { trace_.record(now(), -1, text); }

    // ---- network_host
    bool listening(int node) const override;
    bool accept(int node, connection_id c, int from) override;
    void deliver(int node, connection_id c, segment_kind kind, frame const& f) override;

  private:
    world_config config_;
    event_queue queue_;
    rng random_;
    trace trace_;
    network net_;
    recorder recorder_;
    std::vector<std::unique_ptr<sim_node>> nodes_;
    std::map<std::string, int, std::less<>> by_host_;
    std::map<std::string, int, std::less<>> by_id_;
    id_names names_;
};

}  // namespace p2pchat::sim
