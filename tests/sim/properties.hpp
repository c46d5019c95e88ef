#pragma once
// What a run is judged by (docs/SIMULATION.md, "Properties").
//
// Asserted (what the protocol guarantees today):
//   - membership converges: after faults stop, within the stated bound, every live member's
//     table holds exactly the other live members as alive, at their current incarnations;
//   - no node shows a message twice, even across its restarts (its store survives them);
//   - nothing is lost (mixed and long faults): every live member holds every message sent
//     since it first joined, so every member's history, in (Lamport, origin) order, is the
//     same;
//   - the Lamport rule: a message a node sends has a higher Lamport time than every message
//     it showed before, so it sorts after them in (Lamport, origin) order.
// Measured: failure detection time, false removals, halves not re-merged, messages shown
// out of (Lamport, origin) order or out of their origin's seq order.
//
// The recorder is fed by the nodes as the run goes (what each process showed, sent and
// removed); the checks read it and the world at the end.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/engine/chat_room.hpp"
#include "common/engine/events.hpp"
#include "tests/sim/event_queue.hpp"

namespace p2pchat::sim {

class world;

struct shown_message {
    int origin = -1;
    std::uint64_t seq = 0;
    std::uint64_t lamport = 0;
};

// One process of one node, from boot to crash or exit.
struct process_record {
    std::uint64_t generation = 0;
    sim_time boot{0};
    std::optional<sim_time> down;
    std::uint64_t boot_incarnation = 0;
    std::optional<sim_time> member_since;  // in the network since (cleared on leave)
    std::uint64_t left_incarnation = 0;    // the highest incarnation it left the network at
    std::vector<shown_message> shown;
    std::set<std::pair<int, std::uint64_t>> shown_ids;
    std::uint64_t max_lamport_shown = 0;
    std::map<int, std::uint64_t> last_seq;  // per origin, for seq-order inversions
    std::uint64_t seq_inversions = 0;
};

struct sent_message {
    int origin = -1;
    std::uint64_t seq = 0;
    sim_time at{0};
    // Its author was in the network when it sent it (not alone after a leave).
    bool by_member = true;
};

// A node that crashed and stays down: when did the last live member drop it?
struct crash_watch {
    int node = -1;
    std::string id;
    sim_time at{0};
    std::optional<sim_time> removed_everywhere;
};

class recorder {
  public:
    explicit recorder(world const& w) : world_(w) {}

    // ---- fed by the nodes
    void booted(int node, std::uint64_t generation, std::uint64_t incarnation, sim_time at);
    void went_down(int node, sim_time at);
    void membership(int node, bool member, sim_time at);
    // The node leaves the network (`leave`, or SIGTERM) at this incarnation.
    void left(int node, std::uint64_t incarnation);
    // A send on `node`: checks the Lamport rule against what it showed before.
    void sent(int node, engine::send_receipt const& receipt, sim_time at);
    void event(int node, engine::node_event const& e, sim_time at);

    // ---- fed by the scenario
    void watch_crash(int node, sim_time at);
    // Checks the watched crashes against every live member's table.
    void poll(sim_time at);

    // ---- read by the checks
    std::vector<std::string> const& failures() const { return failures_; }
    std::vector<process_record> const& processes(int node) const;
    bool ever_shown(int node, int origin, std::uint64_t seq) const;
    std::optional<sim_time> first_member_since(int node) const;
    std::vector<sent_message> const& messages() const { return sent_; }
    std::vector<crash_watch> const& crashes() const { return crashes_; }
    std::uint64_t false_removals() const { return false_removals_; }
    // False removals and seq-order inversions, as they happened (the first 20).
    std::vector<std::string> const& notes() const { return notes_; }

  private:
    process_record& current(int node);
    void fail(std::string what);

    world const& world_;
    std::map<int, std::vector<process_record>> processes_;
    // Per node, across its processes: what it showed (the store keeps it over a restart, so
    // nothing is shown twice even then), and since when it has been a member.
    std::map<int, std::set<std::pair<int, std::uint64_t>>> shown_ever_;
    std::map<int, sim_time> first_member_since_;
    std::vector<sent_message> sent_;
    std::vector<crash_watch> crashes_;
    std::vector<std::string> failures_;
    std::uint64_t false_removals_ = 0;
    std::vector<std::string> notes_;
};

// Empty when every live member holds exactly the other live members, at their incarnations;
// otherwise the first difference found, for the failure message.
std::string membership_difference(world const& w);
// Groups of live members that know each other (a split network has more than one).
int membership_components(world const& w);

struct delivery_figures {
    std::uint64_t expected = 0;  // (message, node) pairs that should have been shown
    std::uint64_t lost = 0;
    std::uint64_t lamport_inversions = 0;    // pairs shown out of (Lamport, origin) order
    std::uint64_t seq_inversions = 0;        // pairs shown out of their origin's seq order
    std::vector<std::string> lost_examples;  // the first few, for --seed runs
};
delivery_figures measure_deliveries(world const& w);

}  // namespace p2pchat::sim
