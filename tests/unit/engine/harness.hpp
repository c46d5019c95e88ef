#pragma once
// A hand-driven network of engine::node instances for the engine's unit tests: the runtime of
// each node reduced to what a test needs to see. It executes every effect a node asks for
// (links, connections, timers, events, the message store) and holds the frames in flight
// until the test delivers them, one by one or all in order, so that a test can interleave
// deliveries exactly (two newcomers joining through two contacts at once, a late leave
// arriving after a rejoin). Nothing runs by itself: no threads, no clocks, no randomness.
//
// Frames travel as the wire carries them: each is encoded and decoded again on delivery, so a
// frame the codec refuses or one above the frame limit is caught. The receiver's frame_source
// is what the connection layer vouches for, as the handshake proves it: the link's peer for
// frames coming back on an outbound link, the dialling node otherwise.
//
// Every node has a real identity (tests/support/identities.hpp): node_id('a') is the public
// key of identity_of('a'), and each node signs its entry and messages with its key, as the
// engine requires of what others relay.
//
// The harness also checks the runtime contract as it goes and records every breach in
// violations(): effects about a peer the node has no link for, a second dial of a dialled
// peer, a dial of itself or of an unspecified address, replies on connections the node
// never had, frames the codec refuses.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/engine/node.hpp"

namespace p2pchat::engine::harness {

// The id of the node named `key`: the public key of test::identity_of(key).
std::string node_id(char key);

// The steady and wall clock a network starts at.
inline constexpr std::int64_t start_unix_ms = 1'764'000'000'000;

struct machine_options {
    std::string name = {};    // empty: "node-<key>"
    std::string listen = {};  // what it advertises; empty: "<host>:7447" (dialled there either way)
    std::size_t max_peers = 256;
    milliseconds gossip_interval{2000};
    milliseconds peer_timeout{30000};
    // Off unless a test turns it on (probe_interval > 0): the tests of everything else count
    // frames and effects that probes would add to.
    detector_config detector{.probe_interval = milliseconds(0)};
    std::int64_t clock_skew_ms = 0;  // this node's wall clock runs ahead by this much
    std::uint64_t seed = 0;
    std::size_t store_capacity = 1000;
    // restart(): the store is the node's disk and survives, unless it is lost with the rest.
    bool lose_store = false;
};

// A frame on its way: sent on one connection in one direction, not yet delivered.
struct frame {
    std::uint64_t seq = 0;         // global send order
    std::uint64_t connection = 0;  // the network's number for the connection
    bool to_acceptor = true;       // from the side that opened the connection
    std::string from;              // node ids
    std::string to;
    outgoing message;

    std::string_view type() const;
    template <class Message>
    Message const* as() const {
        return std::get_if<Message>(message.get());
    }
};

// A frame as it was delivered (or dropped because its receiver was down).
struct delivery {
    std::string from;
    std::string to;
    wire::message message;
    std::string_view type() const;
};

// One node and the state its runtime keeps for it.
struct machine {
    struct link {
        address target;
        bool up = false;
        std::uint64_t connection = 0;  // the current connection while up
        std::uint64_t generation = 0;  // bumped by every (re)dial
        std::deque<outgoing> queue;    // frames waiting for the link to come up
    };
    // How the last join the harness carried for this node ended.
    struct join_outcome {
        std::optional<op_result<std::size_t>> joined;  // the welcome went to joined()
        std::optional<wire::refused_msg> refused;
    };

    char key = 0;
    std::string id;
    std::string host;    // the IP others see its connections come from
    std::string listen;  // the address it advertises
    std::int64_t clock_skew_ms = 0;
    bool up = true;
    memory_store store;
    std::unique_ptr<node> engine;
    std::map<std::string, link> links;  // outbound links by peer id
    std::optional<steady_time> gossip_at;
    std::optional<steady_time> probe_at;
    std::optional<steady_time> ack_at;
    bool seal_due = false;  // a seal timer armed this turn
    std::vector<node_event> events;
    std::vector<effect> trace;  // every effect executed, in order
    std::vector<std::string> logs;
    std::optional<join_outcome> join;

    explicit machine(memory_store s) : store(std::move(s)) {}

    // Events of one kind, in order.
    template <class Event>
    std::vector<Event> events_of() const {
        std::vector<Event> out;
        for (auto const& e : events)
            if (auto const* x = std::get_if<Event>(&e)) out.push_back(*x);
        return out;
    }
    // Effects of one kind, in order.
    template <class Effect>
    std::vector<Effect> effects_of() const {
        std::vector<Effect> out;
        for (auto const& e : trace)
            if (auto const* x = std::get_if<Effect>(&e)) out.push_back(*x);
        return out;
    }
    // Ids of the live peers in this node's table.
    std::set<std::string> alive_peers() const;
    // The texts of the messages shown, in the order shown.
    std::vector<std::string> shown_texts() const;
    bool link_up(std::string const& peer) const;
};

class network {
  public:
    network() = default;
    network(network const&) = delete;
    network& operator=(network const&) = delete;

    // ---- machines
    machine& add(char key, machine_options options = {});
    machine& add(char key, machine_options const& options, memory_store store);
    machine& at(char key);
    machine const& at(char key) const;
    node& engine(char key) { return *at(key).engine; }
    std::string const& id(char key) const { return at(key).id; }
    std::vector<char> keys() const;
    // Adds nodes `keys` and joins each after the first through the first, delivering
    // everything after each join. The keys whose join failed (empty: every one joined).
    std::string mesh(std::string const& keys);

    // ---- the clock
    instant now(char key) const;
    std::int64_t elapsed_ms() const { return elapsed_ms_; }
    // Moves the clock on, firing each gossip timer that falls due at its own time, in time
    // order. Down links are redialled first. Frames are not delivered: see settle().
    void advance(milliseconds by);
    // Like advance(), but delivers everything in flight after each timer fired.
    void settle(milliseconds by);

    // ---- the user's operations and raw inputs (effects are executed at once)
    op_result<send_receipt> send(char key, std::string text);
    op_result<std::string> rename(char key, std::string name);
    std::size_t leave(char key);
    void stop(char key);
    // Starts `newcomer`'s join through `contact` on a connection of its own: the join frame
    // is in flight; the welcome (or refusal) goes back to the newcomer's runtime, which hands
    // a welcome to node::joined(). The outcome lands in at(newcomer).join.
    void join(char newcomer, char contact);
    // Any other input: f(node, now), then the node's effects are executed.
    void input(char key, std::function<void(node&, instant)> const& f);
    // Hands `message` to `to` as if it came on a fresh inbound connection from `from_host`,
    // vouched as `vouched` (empty: anonymous).
    void inject(char to, wire::message message, std::string const& vouched = {},
                std::string const& from_host = "192.0.2.1");

    // ---- the network
    // Everything that could happen next: dial attempts and the head frame of each
    // connection direction, in the order they were queued.
    std::size_t eligible() const;
    // Carries out the eligible item at `index` (0: the oldest). False if there is none.
    bool step(std::size_t index = 0);
    // Carries out eligible items, oldest first, until none is left (or max_steps).
    std::size_t run(std::size_t max_steps = 100'000);
    // Like run(), but leaves the frames `hold` accepts in flight (and what queues behind them
    // on the same connection).
    std::size_t run_except(std::function<bool(frame const&)> const& hold,
                           std::size_t max_steps = 100'000);
    // Delivers the oldest eligible frame `pred` accepts. False if none does.
    bool deliver_first(std::function<bool(frame const&)> const& pred);
    // Carries out pending dial attempts only (links come up; their greetings are queued).
    void connect_all();
    // Loses every frame in flight that `pred` accepts. Returns how many.
    std::size_t drop_where(std::function<bool(frame const&)> const& pred);
    // Frames in flight, in send order.
    std::vector<frame> const& in_flight() const { return frames_; }

    // The connection of a's link to b breaks: frames not yet delivered on it go back to the
    // link's queue (the runtime resends them), `a` hears on_link_down, a redial is queued.
    void break_link(char a, char b);
    // No connection between a and b succeeds until unblock(); their links break now.
    void block(char a, char b);
    void unblock(char a, char b);
    // The process ends without a word: its connections break, frames to it are lost.
    void crash(char key);
    // Starts the node again under the same id at the current time (a later start time).
    machine& restart(char key, machine_options options = {});

    // ---- observations
    std::vector<delivery> const& delivered() const { return delivered_; }
    std::vector<std::string> const& violations() const { return violations_; }
    // The table digest of every running, active node is the same.
    bool converged() const;

  private:
    struct connection {
        std::string dialer;       // node ids; dialer is empty for an injected connection
        std::string dialer_host;  // where the acceptor sees the connection come from
        std::string acceptor;     // the node found at the dialled address
        connection_id at_dialer = 0;
        connection_id at_acceptor = 0;
        std::string link_peer;  // the dialled peer for a link; empty for a join connection
        bool join = false;
        std::string vouched;  // at the acceptor: the dialler, as the handshake proved it
        bool open = true;
    };
    struct dial_attempt {
        std::uint64_t seq = 0;
        std::string dialer;
        std::string peer;
        std::uint64_t generation = 0;
    };

    machine& by_id(std::string const& id);
    machine* find(std::string const& id);
    machine* find_running(std::string const& id);
    machine* find_listener(address const& target);
    instant now_of(machine const& m) const;
    std::uint64_t open_connection(machine& dialer, machine& acceptor, std::string link_peer,
                                  bool join);
    void queue_frame(std::uint64_t connection, bool to_acceptor, outgoing message);
    void queue_dial(machine& m, std::string const& peer);
    void flush_link(machine& m, std::string const& peer);
    void take_down_link(machine& m, std::string const& peer, bool requeue, bool tell);
    void close_connection_frames(std::uint64_t connection, std::optional<bool> to_acceptor);
    void execute(machine& m);
    void execute_one(machine& m, effect const& e);
    void deliver(std::size_t frame_index);
    void attempt(dial_attempt d);
    void violation(std::string text) { violations_.push_back(std::move(text)); }
    std::vector<std::pair<std::uint64_t, bool>> eligible_items() const;  // (seq, is_frame)
    bool blocked(std::string const& a, std::string const& b) const;

    std::map<char, std::unique_ptr<machine>> machines_;
    std::map<std::uint64_t, connection> connections_;
    std::vector<frame> frames_;
    std::vector<dial_attempt> dials_;
    std::vector<delivery> delivered_;
    std::vector<std::string> violations_;
    std::set<std::pair<std::string, std::string>> blocked_;
    // (node id, the node's own connection id) -> (connection number, node is the dialer)
    std::map<std::pair<std::string, connection_id>, std::pair<std::uint64_t, bool>> local_;
    std::map<std::string, connection_id> next_local_connection_;
    std::uint64_t next_connection_ = 1;
    std::uint64_t next_seq_ = 1;
    std::int64_t elapsed_ms_ = 0;
    bool settling_ = false;  // advance() delivers after each timer (settle())
};

}  // namespace p2pchat::engine::harness
