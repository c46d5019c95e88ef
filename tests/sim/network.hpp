#pragma once
// The simulated network between the nodes of a run (docs/SIMULATION.md, "Network"): TCP-like
// connections with a FIFO per direction and a latency per frame, dials that succeed, are
// refused or time out, connection resets, and partitions of any grouping (also one-way) that
// either drop packets silently (TCP holds the frames and delivers them after the heal) or
// reject them (connections across are reset, dials fail).
//
// The network knows nodes by index and asks its host (the world) whether one listens and
// whether it takes a new connection; it hands arriving segments to the host. Owned by the
// world; every delay and choice comes from the world's one generator.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/engine/effects.hpp"
#include "tests/sim/event_queue.hpp"
#include "tests/sim/random.hpp"

namespace p2pchat::sim {

using engine::connection_id;

// One frame on the wire: the message object itself (the codec has its own tests) and what
// it costs encoded, with the 4-byte length header.
struct frame {
    engine::outgoing message;
    std::uint32_t bytes = 0;
};
frame make_frame(engine::outgoing message);

enum class segment_kind { frame, fin, rst };
enum class dial_error { none, refused, timed_out };

// What the network needs from the nodes.
class network_host {
  public:
    // The node's process runs and listens (a paused process listens: its kernel accepts).
    virtual bool listening(int node) const = 0;
    // A connection from `from` arrived; false: over the node's connection cap, closed at once.
    virtual bool accept(int node, connection_id c, int from) = 0;
    virtual void deliver(int node, connection_id c, segment_kind kind, frame const& f) = 0;

  protected:
    ~network_host() = default;
};

struct latency_model {
    // Each node's access link: one-way latency between two nodes is the sum of theirs,
    // drawn log-uniformly per node between these (LAN to a slow WAN link).
    sim_time access_min = 50us;
    sim_time access_max = 5ms;
    double jitter = 0.1;  // per frame: base × (1 + exponential(jitter))
    // The long tail: with these probabilities a frame is delayed by an exponential extra
    // (a retransmission, a queue on the way).
    double tail_p = 0.01;
    sim_time tail_mean = 20ms;
    double far_tail_p = 0.001;
    sim_time far_tail_mean = 300ms;
};

enum class cut_mode { drop, reject };

// A partition: nodes in groups; packets between different groups are cut (one_way: only
// from group `from_group` to group `to_group`).
struct partition {
    std::vector<int> group;  // per node index
    cut_mode mode = cut_mode::drop;
    bool one_way = false;
    int from_group = 0;
    int to_group = 1;
};

class network {
  public:
    using dial_done = std::function<void(connection_id, dial_error)>;

    network(event_queue& queue, rng& random, network_host& host, latency_model model = {});

    // A node's access latency, drawn once when the node is created.
    void add_node();
    std::size_t nodes() const { return access_.size(); }

    // Opens a connection from `from` to node `to` (-1: nobody listens at that address).
    // The dialer hears the result through `done` (connection 0 on failure). SYNs are
    // retried at 1, 3, 7 and 15 s as Linux does, until `timeout`.
    void dial(int from, int to, sim_time timeout, dial_done done);
    // Queues a frame from `side` (0 = dialer, 1 = acceptor). Lost if the connection broke.
    void write(connection_id c, int side, frame f);
    // The end at `side` closes: the other end reads what is in flight, then end of stream.
    void close(connection_id c, int side);
    // Connection reset: what is in flight is lost both ways; each end still open hears it
    // one latency later. `gone_side` (0/1) is a crashed process's end: closed at once.
    void reset(connection_id c, int gone_side = -1);
    // Every connection not yet closed at both ends, ordered by id.
    std::vector<connection_id> open_connections() const;
    // Which node is at each end (-1 if the connection is gone).
    int node_at(connection_id c, int side) const;

    void cut(partition p);
    void heal();
    bool partitioned() const { return cut_.has_value(); }

    sim_time one_way_latency(int a, int b);
    std::uint64_t frames_lost() const { return frames_lost_; }
    std::uint64_t connections_opened() const { return opened_; }
    std::size_t live_connections() const { return live_; }

  private:
    struct segment {
        segment_kind kind = segment_kind::frame;
        frame f;
        sim_time arrival{0};
    };
    // A FIFO that holds nothing while empty (a std::deque allocates on creation; a full
    // mesh of 2000 nodes holds 8 million directions).
    struct direction {
        std::vector<segment> in_flight;
        std::size_t head = 0;
        sim_time last_arrival{0};
        bool scheduled = false;
        bool stalled = false;     // its head waits for a dropped path to heal
        std::uint32_t epoch = 0;  // a reset makes the scheduled arrival stale
        bool empty() const { return head == in_flight.size(); }
        void clear() {
            std::vector<segment>().swap(in_flight);
            head = 0;
            last_arrival = sim_time{0};
        }
    };
    struct connection {
        int node[2] = {-1, -1};
        bool open[2] = {true, true};
        bool broken = false;  // reset: writes are lost
        direction dir[2];     // dir[s]: from end s to end 1-s
    };

    bool blocked(int from, int to, cut_mode mode) const;
    bool dropped(int from, int to) const { return blocked(from, to, cut_mode::drop); }
    struct dial_state;
    void syn(std::shared_ptr<dial_state> d);
    void push(connection_id c, int side, segment s);
    void schedule(connection_id c, int side);
    void arrive(connection_id c, int side, std::uint32_t epoch);
    void maybe_forget(connection_id c);
    connection* find(connection_id c);
    connection const* find(connection_id c) const;

    event_queue& queue_;
    rng& random_;
    network_host& host_;
    latency_model model_;
    std::vector<sim_time> access_;
    std::vector<std::unique_ptr<connection>> connections_;  // by id; null once forgotten
    std::optional<partition> cut_;
    std::uint64_t frames_lost_ = 0;
    std::uint64_t opened_ = 0;
    std::size_t live_ = 0;
};

}  // namespace p2pchat::sim
