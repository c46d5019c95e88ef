#pragma once
// The simulated runtime of one node: what daemon/ does with sockets, done on the simulated
// network. It feeds the engine its inputs (frames with the peer id the connection vouches
// for, link up/down, timers, the user's operations), each with the node's own `now` (the
// virtual steady time plus a boot offset, the virtual wall time plus the node's clock skew),
// and carries out the effects in order before the next input: persistent outbound links
// with a queue and redial backoff, replies and closes on connections, the gossip timer, the
// message store, observers. Joining is the daemon's join client: a short connection to a
// contact, the join frame, a welcome or a refusal or 10 s of silence; start-up joins retry
// through their contacts with backoff 1 s doubling to 30 s.
//
// A process can be paused (its inputs wait, in order, and run when it resumes), crash (its
// connections reset, everything in memory gone), stop (SIGTERM: goodbyes, then exit), and
// boot again from what it persisted. Owned by the world; single-threaded like everything in
// a run.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/crypto/signatures.hpp"
#include "common/engine/message_store.hpp"
#include "common/engine/node.hpp"
#include "tests/sim/network.hpp"

namespace p2pchat::sim {

class world;

// A FIFO of frames that holds nothing while empty (a std::deque allocates on creation, and
// a full mesh of 2000 nodes has four million links).
class frame_fifo {
  public:
    bool empty() const { return head_ == items_.size(); }
    std::size_t size() const { return items_.size() - head_; }
    frame& front() { return items_[head_]; }
    void push_back(frame f) { items_.push_back(std::move(f)); }
    void push_front(frame f) {
        if (head_ > 0)
            items_[--head_] = std::move(f);
        else
            items_.insert(items_.begin(), std::move(f));
    }
    void pop_front() {
        items_[head_++] = frame{};
        if (empty()) clear();
    }
    void clear() {
        std::vector<frame>().swap(items_);
        head_ = 0;
    }

  private:
    std::vector<frame> items_;
    std::size_t head_ = 0;
};

// What a node keeps across a restart besides its message store (sim_node::store(), its disk,
// which a crash does not touch): its identity.
struct persisted_state {
    std::string id;
    crypto::signing_key key{};  // the identity key: a restarted node is the same node
};

// What never changes for a node: its identity, configuration and place in the network.
struct node_spec {
    std::string id;
    crypto::signing_key key{};  // whose public half the id is
    persisted_state identity() const { return {id, key}; }
    std::string name;  // the configured screen name (a restart comes back with it)
    std::string host;  // "10.x.y.z"
    std::string listen;
    std::int64_t skew_ms = 0;                  // its wall clock minus true time
    std::chrono::microseconds steady_boot{0};  // its steady clock at virtual time 0
};

// Traffic a node's process wrote, by message type (wire::message's variant index).
struct traffic {
    static constexpr std::size_t types = std::variant_size_v<wire::message>;
    std::uint64_t bytes = 0;
    std::uint64_t frames = 0;
    std::uint64_t bytes_by_type[types] = {};
    std::uint64_t frames_by_type[types] = {};
    std::uint64_t dropped_frames = 0;  // link queue over its 4 MiB bound
    void add(frame const& f);
};

class sim_node {
  public:
    static constexpr std::size_t link_queue_limit = 4 * 1024 * 1024;
    // The daemon's store keeps everything within its retention: a run never reaches this.
    static constexpr std::size_t store_capacity = 1'000'000;

    sim_node(world& w, int index, node_spec spec);
    sim_node(sim_node const&) = delete;
    sim_node& operator=(sim_node const&) = delete;

    // ---- the process
    // Starts a process from what was persisted; joins through `contacts` (node indices) if
    // any, or through random live members if `pick_contacts`; else runs alone.
    void boot(persisted_state const& persisted, std::vector<int> contacts, bool pick_contacts);
    void crash();
    // SIGTERM: the engine says goodbye (stop()), the goodbyes are written, the process exits.
    void terminate();
    void pause();
    void resume();

    // ---- the user's operations (they wait like every input while the node is paused)
    void send(std::string text);
    void rename(std::string name);
    void leave();
    // `p2pchatctl join` through random live members, retried by the user until it works.
    void rejoin();

    // ---- from the network (through the world)
    bool accept(connection_id c, int from);
    void deliver(connection_id c, segment_kind kind, frame const& f);

    // ---- views
    int index() const { return index_; }
    node_spec const& spec() const { return spec_; }
    bool up() const { return engine_ != nullptr; }
    bool paused() const { return paused_; }
    std::uint64_t generation() const { return generation_; }
    // Has been welcomed into the network (or founded it) and has not left since.
    bool member() const;
    bool joining() const { return join_.active; }
    // The contact the current join attempt goes through, -1 if none.
    int join_contact() const { return join_.active ? join_.contact : -1; }
    engine::node const* engine() const { return engine_.get(); }
    engine::memory_store const* store() const { return store_.get(); }
    traffic const& sent() const { return sent_; }
    std::size_t inbound_connections() const { return inbound_; }
    std::size_t links() const { return links_.size(); }
    std::uint64_t inputs() const { return inputs_; }
    // What the two effect lists (the engine's and the runtime's spare) hold in capacity: the
    // largest turns so far, reused for every later one.
    std::size_t effect_list_bytes() const {
        return (spare_.capacity() + (engine_ ? engine_->pending_effects().capacity() : 0)) *
               sizeof(engine::effect);
    }
    engine::instant now() const;
    // The node's steady clock to virtual time and back.
    sim_time virtual_time(engine::steady_time t) const;

  private:
    enum class role { link, inbound, join };
    struct connection_end {
        role kind = role::inbound;
        int side = 1;
        std::string peer;  // link: its peer; inbound: the id vouched for (first hello/join)
        std::string remote_host;
    };
    enum class link_state { dialing, connected, waiting };
    struct link {
        std::uint64_t serial = 0;
        address target;
        link_state state = link_state::dialing;
        connection_id conn = 0;
        frame_fifo queue;  // while not connected; survives reconnects
        std::size_t queued_bytes = 0;
        sim_time backoff{0};
    };
    struct join_client {
        bool active = false;
        bool once = false;         // a reconnect: one try through its contact, no retries
        std::uint64_t serial = 0;  // of the current attempt: timeouts and dials check it
        bool pick = false;         // contacts drawn from live members each round
        std::vector<int> contacts;
        std::vector<int> round;
        std::size_t next = 0;
        sim_time backoff{0};
        connection_id conn = 0;
        int contact = -1;
    };

    // Runs `fn` now, or when the process resumes; drops it if the process is gone.
    void post(std::function<void()> fn);
    // Schedules an input of this process (dropped if the process is gone by then).
    void at(sim_time when, std::function<void()> fn);

    // One engine input: traced, then its effects carried out in order.
    template <class Input>
    void input(std::string_view what, Input&& fn);
    void execute(std::vector<engine::effect>& effects);
    void execute(engine::effect& e);
    void link_send(std::string const& peer, frame f, bool first);
    void write(connection_id c, int side, frame f);
    void trace_line(std::string_view text);

    // The daemon's reconnect (docs/STORAGE.md, "Reconnecting"): every reconnect_interval, a
    // member joins through one remembered peer that is not a member, each in turn.
    void arm_reconnect();
    void reconnect();

    // links
    void open_link(std::string const& peer, address target);
    void dial(std::string const& peer);
    void on_dialed(std::string const& peer, std::uint64_t serial, connection_id c, dial_error e);
    void link_broke(std::string const& peer);
    void wait_and_redial(link& l, std::string const& peer);
    void drop_link(std::string const& peer);

    // joining
    void start_join(std::vector<int> contacts, bool pick, bool once = false);
    void join_attempt();
    void join_failed(std::string_view why);
    void on_join_dialed(std::uint64_t serial, connection_id c, dial_error e);
    void on_join_answer(connection_id c, wire::message&& m);

    // connections
    void on_frame(connection_id c, connection_end& end, wire::message m);
    void on_closed(connection_id c, segment_kind kind);
    void forget(connection_id c);
    void close(connection_id c);
    void shutdown_process(bool crash);

    world& world_;
    int index_;
    node_spec spec_;
    std::uint64_t generation_ = 0;  // per process: events of an earlier one are dropped
    std::unique_ptr<engine::memory_store> store_;
    std::unique_ptr<engine::node> engine_;
    bool paused_ = false;
    bool member_ = false;
    std::deque<std::function<void()>> inbox_;
    std::map<std::string, link> links_;
    std::map<connection_id, connection_end> connections_;
    std::size_t inbound_ = 0;
    std::uint64_t next_serial_ = 0;
    std::uint64_t timer_serials_[4] = {};  // per engine::timer_kind: re-arming replaces
    join_client join_;
    // The peers it ever linked to, less those that said goodbye, by id: what the daemon's store
    // remembers (it outlives the process, as this does).
    std::map<std::string, int> remembered_;
    std::size_t reconnect_turn_ = 0;
    std::vector<engine::effect> spare_;
    std::string line_;  // trace line buffer, reused
    traffic sent_;
    std::uint64_t inputs_ = 0;
};

}  // namespace p2pchat::sim
