#pragma once
// The protocol engine of one p2pchat node, sans I/O (docs/PROTOCOL.md): inputs in, effects
// out, in the manner of Boost.MySQL's and Boost.Redis's state machines. A runtime feeds it
// frames from peers (with the peer id the connection layer vouches for), link and timer
// events and the user's operations, each with `now`; after every input it takes the effects
// (take_effects()) and carries them out in order. The daemon's runtime does that with
// sockets (daemon/node.hpp), the simulator with a virtual network (tests/sim/).
//
// No sockets, no clocks, no global randomness: the same inputs give the same effects.
// Not thread-safe: one owner calls it.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/engine/chat_room.hpp"
#include "common/engine/delivery_tracker.hpp"
#include "common/engine/effects.hpp"
#include "common/engine/membership.hpp"
#include "common/engine/message_store.hpp"
#include "common/rpc/rpc.hpp"

namespace p2pchat::engine {

struct node_config {
    std::string id;      // this node's id (the hex of its public key)
    std::string name;    // screen name
    std::string listen;  // the address it advertises (its bound listen address)
    std::size_t max_peers = 256;
    milliseconds gossip_interval{2000};
    milliseconds peer_timeout{30000};  // only with the failure detector off
    detector_config detector;          // docs/FAILURE_DETECTION.md
    std::uint64_t seed = 0;            // the node's random choices (anti-entropy partners)
    // The Ed25519 secret key whose public half `id` is: signs this node's entry and messages.
    crypto::signing_key signing_key{};
    milliseconds dead_link_window{120 * 1000};  // membership_config::dead_link_window
};

// What the node can say about itself without I/O counters (the runtime adds those).
struct node_summary {
    wire::peer_entry self;
    node_state state = node_state::active;
    std::size_t peers = 0;  // live peers, not counting this node
    std::size_t max_peers = 0;
    std::uint64_t messages_sent = 0;
    std::uint64_t messages_received = 0;
    // Entries and messages refused: not signed by their owner, or out of reach.
    std::uint64_t forged = 0;
    std::int64_t started_unix_ms = 0;
};

template <class T>
using op_result = boost::system::result<T, rpc::error>;

class node {
  public:
    // `now` is the start: the first incarnation and chat seq are taken from its wall clock,
    // so a restarted node outranks its former self with no stored state. The store is read
    // for the welcome's history; the runtime writes it (store_message effects).
    node(node_config const& config, instant now, message_store const& store);
    node(node const&) = delete;
    node& operator=(node const&) = delete;

    // Arms the first timers.
    void start(instant now);

    // ---- inputs from the connection layer and timers
    void on_frame(frame_source const& from, wire::message&& message, instant now);
    // The outbound link to `peer` connected (it is then greeted), or broke / failed to dial.
    void on_link_up(std::string const& peer, instant now);
    void on_link_down(std::string const& peer, instant now);
    void on_timer(timer_kind timer, instant now);

    // ---- the user's operations
    rpc::result<send_receipt> send(std::string text, instant now);
    rpc::result<std::string> rename(std::string name, instant now);
    // Joining is a request the runtime carries to a contact on a connection of its own: it
    // sends join_request() and hands the welcome to joined() (a refusal or silence never
    // reaches the engine). `contact` names the contact in messages. The runtime has checked
    // that the welcome comes from the node its connection's handshake proved.
    // A reconnect (the runtime calling back a peer it removed) says so: a node that left
    // refuses it, where it takes a user's join as a new network.
    wire::join_msg join_request(bool reconnect = false) const {
        return {members_.self(), reconnect};
    }
    rpc::result<std::size_t> joined(wire::welcome_msg&& welcome, std::string_view contact,
                                    instant now);
    std::size_t leave(instant now);
    // Says goodbye to everyone and refuses everything from now on.
    void stop(instant now);
    // This node closed its open network: hand the new key to every peer it has a link to.
    void share_network_key(std::string key, instant now);

    // ---- views
    node_summary summary() const;
    std::vector<peer_view> peers() const { return members_.peers(); }
    membership const& members() const { return members_; }
    chat_room const& chat() const { return chat_; }
    // How many nodes are known to hold message `seq` of `origin`, which this node holds: 1
    // (this node) and every peer whose last heads heard (an ack, anti-entropy) reach it.
    std::size_t delivered_count(std::string_view origin, std::uint64_t seq) const;
    // Where this node's own message `seq` stands (delivery_tracker::status).
    std::optional<message_delivery> delivery_of(std::uint64_t seq) const {
        return delivery_.status(seq);
    }

    // ---- effects
    bool has_effects() const { return !out_.empty(); }
    std::vector<effect> const& pending_effects() const { return out_.pending(); }
    // Hands over what the inputs so far asked for; pass a drained list back to reuse it.
    std::vector<effect> take_effects(std::vector<effect> spare = {}) {
        return out_.take(std::move(spare));
    }

  private:
    void sync_round();
    // A member's heads (an ack or anti-entropy): kept, and counted towards our deliveries.
    void heard_heads(std::string_view peer, wire::heads_msg const& heads);
    void send_acks();
    // Forgets the heads of peers gone from the table; settles deliveries they held up.
    void check_members(instant now);

    std::int64_t started_unix_ms_;
    std::mt19937_64 random_;  // sync partners
    effects out_;
    membership members_;
    chat_room chat_;
    delivery_tracker delivery_;
    // The heads each member last told us, by peer then origin: at most one entry per peer of
    // the table (the others are dropped at the next gossip round).
    std::map<std::string, std::map<std::string, std::uint64_t, std::less<>>, std::less<>>
        peer_heads_;
};

}  // namespace p2pchat::engine
