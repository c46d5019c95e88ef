#pragma once
// The membership half of the engine: the peer table and everything that keeps it the same
// on every node (join, welcome, introductions, anti-entropy, refutation, leaving, removing
// peers that stay unreachable), plus the state of the outbound links it asked for. Pure;
// owned by the node (engine/node.hpp), which routes membership frames here.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/crypto/signatures.hpp"
#include "common/engine/effects.hpp"
#include "common/engine/failure_detector.hpp"
#include "common/peer_table.hpp"

namespace p2pchat::engine {

// The node's own state. One enum instead of flags: each input asks it once.
enum class node_state {
    active,    // in a network, or alone and open to joins
    left,      // after leave(): listens only to someone joining it
    stopping,  // shutting down: refuses joins, opens no links
};
std::string_view to_string(node_state s);

// Where a frame came from, as the connection layer vouches for it (never as the frame says).
struct frame_source {
    connection_id connection = 0;
    // The node at the other end: the peer an outbound link was opened to, or the id the first
    // `hello`/`join` on an inbound connection carried. Empty for an anonymous connection (the
    // seed's connect-send-close pattern).
    std::string_view peer;
    // The IP address the connection comes from; entries advertising 0.0.0.0 get it instead.
    std::string_view remote_host;
};

struct membership_config {
    std::size_t max_peers = 256;
    milliseconds gossip_interval{2000};
    // Only with the failure detector off (probe_interval 0): a peer whose link stays down
    // this long is removed.
    milliseconds peer_timeout{30000};
    detector_config detector;
    // After a verdict (unreachable) the link to the peer stays this long, redialling: if the
    // peer was only cut off, the link comes back when the cut heals and carries our table to
    // it, which it refutes; the two sides then find each other again (memberlist's "gossip
    // to the dead"). A longer cut is healed by the runtime's reconnect (docs/STORAGE.md,
    // "Reconnecting").
    milliseconds dead_link_window{120 * 1000};
};

class membership {
  public:
    // Tombstones are dropped after this long, and remembered for as long again (peer_table).
    static constexpr milliseconds tombstone_lifetime{10 * 60 * 1000};
    // Live peers this node has only heard of (relayed, never reached over a link nor heard
    // from themselves) are at most this many: a member who relays made-up members, each
    // validly signed by a key of its own, cannot fill the table. A peer that proves itself
    // (a join, a hello, a link that comes up) on a full table takes the place of one of them.
    static std::size_t max_unreached(std::size_t max_peers) {
        return std::max<std::size_t>(16, max_peers / 2);
    }
    // Newcomers this node welcomed lately, see introduce_to_recent_newcomers().
    static constexpr std::size_t max_recent_newcomers = 32;
    // Fills a welcome's history and seals.
    using history_source = std::function<void(wire::welcome_msg&)>;

    // How far a received entry is to be believed (docs/PROTOCOL.md, "Signatures").
    enum class provenance {
        owner,    // from the node it describes, over a connection the handshake proved its own
        relayed,  // from anyone else: believed only if its owner's signature verifies
        verdict,  // this node's own judgement (a peer unreachable for the peer timeout)
    };

    // `welcome_history` gives the chat history a welcome carries; `seed` drives the choice of
    // anti-entropy partners; `key` signs this node's own entry.
    membership(wire::peer_entry self, membership_config const& config, std::uint64_t seed,
               crypto::signing_key const& key, effects& out, history_source welcome_history);

    // Called with the id of every peer the table forgets for good (its tombstone expired or
    // was pushed out): what else the node keeps about that peer can go too.
    void on_forget(std::function<void(std::string const&)> f) { forget_ = std::move(f); }

    void start(instant now);

    // ---- frames from peers
    void on_join(frame_source const& from, wire::join_msg&& m, instant now);
    void on_hello(frame_source const& from, wire::hello_msg&& m, instant now);
    // The entries of a welcome, ours (after join(): `answers_our_join`) or one arriving
    // unasked. `contact` is the owner's own when the connection is the contact's (the join's,
    // or its link). The table our own join's contact lists is taken whole: it is the network
    // we asked to join, which may hold more peers than max_unreached().
    void on_welcome(wire::peer_entry const& contact, provenance contact_provenance,
                    std::vector<wire::peer_entry> const& peers, instant now,
                    bool answers_our_join = false);
    void on_peers(frame_source const& from, wire::peers_msg&& m, instant now);
    void on_digest(frame_source const& from, wire::digest_msg const& m, instant now);
    void on_rename(frame_source const& from, wire::rename_msg const& m, instant now);
    void on_leave(frame_source const& from, wire::leave_msg const& m, instant now);
    // Failure detection (failure_detector.hpp): probes, their answers, and their news.
    void on_ping(frame_source const& from, wire::ping_msg const& m, instant now);
    void on_ack(frame_source const& from, wire::ack_msg const& m, instant now);
    void on_ping_req(frame_source const& from, wire::ping_req_msg const& m, instant now);
    void on_nack(wire::nack_msg const& m) { detector_.on_nack(m); }
    // Any frame from a peer on a connection its handshake proved: "last seen".
    void heard_from(std::string_view peer, instant now);

    // ---- links, timers
    void on_link_up(std::string const& peer, instant now);
    void on_link_down(std::string const& peer, instant now);
    void on_gossip_timer(instant now);
    void on_probe_timer(instant now);

    // ---- local operations
    // Raises the incarnation, tells every peer, and reports it. False if nothing changed.
    bool rename(std::string name);
    // Says goodbye to every peer and forgets them. Returns how many links were told.
    std::size_t leave();
    // A frame other than `join` arrived after leave(): the peer missed our goodbye.
    void on_frame_after_leave(frame_source const& from);
    // leave(), then refuse everything: the node is shutting down.
    void stop();
    // A join through `contact` succeeded (call before on_welcome()): this node is in a network
    // again. A node that joins while alone (new, after leave(), or cut off until it removed
    // every peer as unreachable) forgets what it knew of others and starts a new incarnation,
    // so that neither its old tombstones of the members nor theirs of it hide anyone. A node
    // in a network forgets a tombstone of the contact, which just answered it.
    void rejoin(wire::peer_entry const& contact);

    // ---- views
    node_state state() const { return state_; }
    // Entries (and claims about this node) refused: their owner's signature did not verify.
    std::uint64_t forged_entries() const { return forged_; }
    peer_table const& table() const { return table_; }
    wire::peer_entry const& self() const { return table_.self(); }
    peer_view view(wire::peer_entry const& e) const;
    // This node first, then every live peer in id order.
    std::vector<peer_view> peers() const;
    bool link_connected(std::string const& peer) const;
    // The peers whose outbound link is up, in id order.
    std::vector<std::string> connected_peers() const;
    std::size_t links() const { return links_.size(); }
    failure_detector const& detector() const { return detector_; }

  private:
    struct link_state {
        bool connected = false;
        // The peer proved itself: its link came up, or it spoke for itself on a connection.
        bool reached = false;
        // Since when the peer has been unreachable: the link broke or a dial first failed.
        std::optional<steady_time> down_since;
        // The peer is a tombstone of our verdict (or another's): the link stays for
        // membership_config::dead_link_window, see there.
        std::optional<steady_time> dead_since;
    };

    // Merges one entry and does what follows from it: links, events, introductions. A relayed
    // entry that would change the table is checked against its owner's signature first.
    merge_outcome apply(wire::peer_entry const& received, provenance from, instant now,
                        leave_reason reason = leave_reason::left);
    bool believable(wire::peer_entry const& entry) const;
    std::size_t unreached_peers() const;
    // Drops a live peer never reached, to make room for one that proved itself.
    bool evict_unreached(instant now);
    void sign_self();
    void open_link(wire::peer_entry const& entry);
    void close_link(std::string const& id, bool flush);
    void remember_newcomer(std::string const& id, instant now);
    void introduce_to_recent_newcomers(wire::peer_entry const& peer, instant now);
    // The table changed within the last gossip interval: anti-entropy waits for it to settle.
    bool settling(instant now) const;
    void remove_unreachable_peers(instant now);
    void absorb(frame_source const& from, wire::gossip const& news, instant now);
    void refute_suspicion(wire::suspicion const& s);
    void close_dead_links(instant now);
    void send_digest();
    void arm_gossip(instant now);

    membership_config config_;
    crypto::signing_key key_;
    effects& out_;
    std::function<void(std::string const&)> forget_;
    std::uint64_t forged_ = 0;
    bool taking_our_welcome_ = false;  // on_welcome() of our own join: no max_unreached()
    history_source welcome_history_;
    peer_table table_;
    node_state state_ = node_state::active;
    std::uint64_t left_inc_ = 0;               // our incarnation when we last left
    std::string left_sig_;                     // and our signature of that goodbye
    std::map<std::string, link_state> links_;  // ordered: the same partner for the same seed
    std::deque<std::pair<std::string, steady_time>> recent_newcomers_;
    std::optional<steady_time> last_table_change_;
    std::mt19937_64 random_;
    failure_detector detector_;  // after table_ and links_, which it reads
};

}  // namespace p2pchat::engine
