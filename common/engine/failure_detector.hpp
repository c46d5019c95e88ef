#pragma once
// Failure detection in the SWIM/Lifeguard family (docs/FAILURE_DETECTION.md), sans I/O.
//
// Every probe interval the node pings one live peer, in a shuffled round robin (so probe load
// per node stays constant as the group grows, and every peer is probed within one round). No
// `ack` within the probe timeout: it asks `indirect_probes` other peers to ping the target
// for it (`ping_req`); they answer `ack`, or `nack` when the target is silent to them too.
// Nothing by the end of the probe: the target becomes a suspect, which this node tells the
// suspect itself and gossips. A suspect refutes by raising its incarnation (an entry it
// signs); otherwise, once the suspicion timeout runs out, the node removes it with a
// tombstone at the suspect's own incarnation (membership does that: a verdict). Lifeguard's
// two refinements are here: the local health multiplier (a node that misses nacks, or has to
// refute a suspicion about itself, is probably the slow one: it probes less often and waits
// longer), and the suspicion timeout that starts long and shrinks towards its minimum as
// independent members confirm the suspicion.
//
// A link that breaks is probed at once, indirectly (a direct ping cannot pass a broken link):
// a crashed process resets its connections, so every member starts on it within a latency.
//
// Pure: time comes from `now`, randomness from its own seeded generator. Owned by membership
// (engine/membership.hpp), which feeds it and acts on what it decides. Every collection is
// bounded: probes in flight, probes run for others, suspicions (one per live peer), news.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/engine/effects.hpp"
#include "common/peer_table.hpp"

namespace p2pchat::engine {

struct detector_config {
    // 0 turns the detector off (then only the link-down peer timeout removes peers).
    milliseconds probe_interval{1000};
    milliseconds probe_timeout{500};
    std::size_t indirect_probes = 3;
    // Suspicion timeout: at least mult * max(1, log10 n) probe intervals (n: the group's
    // size); starting from max_mult times that, shrinking as `confirmations` other members
    // confirm it.
    double suspicion_mult = 3;
    double suspicion_max_mult = 3;
    std::size_t confirmations = 3;
    // Local health: probe interval and timeouts are multiplied by 1 + health score, which
    // stays below this.
    int max_health = 8;
    // Each piece of news rides on this many times ceil(log10(n + 1)) probe frames.
    std::size_t retransmit_mult = 3;
};

class failure_detector {
  public:
    static constexpr std::size_t max_probes = 8;          // own probes in flight
    static constexpr std::size_t max_relays = 32;         // probes run for others
    static constexpr std::size_t max_news = 64;           // entries and suspicions to gossip
    static constexpr std::size_t news_per_frame = 4;      // suspicions per frame
    static constexpr std::size_t entries_per_frame = 2;   // entries (signed: 300 bytes each)
    static constexpr std::size_t max_confirmations = 16;  // kept per suspicion

    using link_check = std::function<bool(std::string const&)>;

    failure_detector(detector_config const& config, std::uint64_t seed, peer_table const& table,
                     link_check connected, effects& out);

    bool enabled() const { return config_.probe_interval.count() > 0; }
    void start(instant now);

    // ---- inputs (membership calls these)
    // The probe timer fired. Returns the peers whose suspicion ran out (id and incarnation).
    std::vector<std::pair<std::string, std::uint64_t>> on_timer(instant now);
    void on_ping(connection_id c, std::string const& from, wire::ping_msg const& m, instant now);
    void on_ack(wire::ack_msg const& m, instant now);
    void on_ping_req(connection_id c, std::string const& from, wire::ping_req_msg const& m,
                     instant now);
    void on_nack(wire::nack_msg const& m);
    void on_link_down(std::string const& peer, instant now);
    // A suspicion heard in gossip (or raised here). False if it was not news.
    bool suspect(wire::suspicion const& s, instant now);
    // The peer's entry changed (a higher incarnation, a tombstone, gone): its suspicion, if
    // any, is over.
    void on_entry_changed(std::string const& id);
    // This node refuted a suspicion about itself: it was the slow one.
    void on_refuted();
    // News to gossip on the next probe frames (a table change, our own refutation).
    void spread(wire::peer_entry const& entry);
    void heard_from(std::string_view peer, instant now);
    void forget(std::string const& peer);
    // After leave(): nothing of the old network is probed or gossiped.
    void clear();

    // Up to news_per_frame entries and suspicions for one frame, the least sent first.
    wire::gossip news();

    // ---- views
    bool suspected(std::string const& id) const { return suspicions_.contains(id); }
    std::int64_t last_seen_ms(std::string const& id) const;
    int health() const { return health_; }
    std::size_t probes_in_flight() const { return probes_.size(); }
    std::size_t relays_in_flight() const { return relays_.size(); }
    std::size_t news_queued() const { return entries_.size() + suspects_.size(); }
    // The suspicion timeout with `confirmations` confirmations, in a group of this size.
    milliseconds suspicion_timeout(std::size_t confirmations) const;

  private:
    struct probe {
        std::string target;
        steady_time direct_deadline;  // then the indirect probes go out
        steady_time deadline;         // then the target is a suspect
        bool indirect = false;
        std::size_t nacks_expected = 0;
        std::size_t nacks = 0;
    };
    struct relay {
        connection_id requester = 0;
        std::uint64_t requester_seq = 0;
        steady_time deadline;
    };
    struct suspicion_state {
        std::uint64_t inc = 0;
        steady_time since;
        std::set<std::string> confirmed_by;  // besides the first suspecter
        std::string first;
    };
    template <class Item>
    struct news_item {
        Item item;
        std::size_t sent = 0;
    };

    milliseconds scaled(milliseconds d) const { return d * (health_ + 1); }
    void adjust_health(int delta);
    void tick(instant now);
    void start_probe(std::string const& target, bool link_down, instant now);
    void go_indirect(std::uint64_t seq, probe& p, instant now);
    std::optional<std::string> next_target();
    void queue_suspicion(wire::suspicion const& s);
    std::size_t retransmits() const;
    void schedule(instant now);

    detector_config config_;
    peer_table const& table_;
    link_check connected_;
    effects& out_;
    std::mt19937_64 random_;
    bool started_ = false;
    std::uint64_t next_seq_ = 0;
    int health_ = 0;
    steady_time next_tick_{};
    std::optional<steady_time> armed_;
    std::vector<std::string> order_;  // this round's shuffled targets
    std::size_t next_ = 0;
    std::map<std::uint64_t, probe> probes_;  // by seq
    std::map<std::uint64_t, relay> relays_;  // by the seq of our ping to the target
    std::map<std::string, suspicion_state> suspicions_;
    std::deque<news_item<wire::peer_entry>> entries_;
    std::deque<news_item<wire::suspicion>> suspects_;
    std::map<std::string, std::int64_t, std::less<>> last_seen_;  // Unix ms, of live peers
};

}  // namespace p2pchat::engine
