#pragma once
// The daemon's node: the one facade the front ends (control socket, D-Bus, service notifier)
// talk to, and the small runtime around the protocol engine (common/engine/node.hpp). It
// feeds the engine what the connection layer reads, what the links report, the timers that
// fire and the user's operations, each with the time, and carries out the effects the engine
// answers with: frames on links and connections, dialling and hanging up, timers, events into
// the event log, messages into the store, log lines. It holds no protocol rules of its own.
//
// Durable state (docs/STORAGE.md): each input's effects are one turn; turns are committed to
// the history database in groups (handed to the store's writer thread at most 20 ms after
// the first write), and always before a front end acknowledges an operation (a `send`
// returns only once its message is committed: co_await make_durable()). The node keeps its screen
// name and the peers it knew there, and rejoins through those peers when it starts without --join
// or finds itself alone.
//
// Lives on the io thread; no locks. Owned by main(); the coroutines it starts end when
// shutdown() has run.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/engine/node.hpp"
#include "daemon/event_log.hpp"
#include "daemon/history_reader.hpp"
#include "daemon/identity.hpp"
#include "daemon/link_settings.hpp"
#include "daemon/network_key_file.hpp"
#include "daemon/node_status.hpp"
#include "daemon/options.hpp"
#include "daemon/peer_link.hpp"
#include "daemon/peer_listener.hpp"
#include "daemon/sqlite_store.hpp"

namespace p2pchat::daemon {

using engine::op_result;

class node final : public frame_handler, public link_observer {
  public:
    node(asio::any_io_executor executor, options const& opts, node_identity identity);

    // Starts listening, the engine's timers and the start-up joins.
    void start();
    // Tells every peer goodbye and waits (bounded) until the goodbyes were written; then
    // nothing of the node runs any more.
    awaitable<void> shutdown();

    // ---- operations for front ends
    rpc::result<engine::send_receipt> send(std::string text);
    // Waits (without blocking the thread) until this node's message `seq` settles or
    // `timeout` passes: the settlement, or with settled false who had not stored it by then.
    // At most max_delivery_waiters wait at once; the others are refused.
    static constexpr std::size_t max_delivery_waiters = 1024;
    awaitable<rpc::result<engine::message_delivery>> wait_delivery(
        std::uint64_t seq, std::chrono::milliseconds timeout);
    // How many nodes hold message `seq` of `origin` as far as this node knows (itself
    // included): the `delivered` count of history (engine::node::delivered_count).
    std::size_t delivered_count(std::string_view origin, std::uint64_t seq) const {
        return engine_.delivered_count(origin, seq);
    }
    rpc::result<std::string> rename(std::string name);
    // Joins through `contact`; with the network key of an invite, the node takes that key
    // (it must not be in another network then).
    // `reconnect`: a call back to a peer removed as unreachable (wire::join_msg::reconnect).
    awaitable<rpc::result<std::size_t>> join(address contact,
                                             std::optional<crypto::key> key = std::nullopt,
                                             log_level failure_level = log_level::warning,
                                             bool reconnect = false);
    // An invite to this node's network: the network key and an address to join (`contact`,
    // or the node's own listen address). Closes an open network first: the node creates a
    // key and hands it to every peer it has. With new_key, the node leaves its network and
    // starts a new one under a new key (a rotation: the others join it with the invite).
    rpc::result<std::string> invite(std::optional<address> contact, bool new_key = false);
    std::size_t leave();
    node_status status() const;
    std::vector<engine::peer_view> peers() const { return engine_.peers(); }
    // Live peers, not counting this node: who a message sent now goes to.
    std::size_t live_peers() const { return engine_.members().table().alive_count(); }
    event_log& events() { return events_; }
    std::string const& id() const { return identity_.id; }
    // A page of the stored history (docs/CONTROL.md, `messages`): `from` names an author (id,
    // id prefix or screen name); event_seq is the newest event number now, of which every
    // message event is in the store this page was read from (a follower resumes after it).
    struct history_result {
        history_page page;
        std::uint64_t event_seq = 0;
    };
    // Waits for the store's writer (durable()) first, without blocking this thread: the
    // reader's connection sees committed data only.
    awaitable<rpc::result<history_result>> messages(std::optional<std::string> from,
                                                    history_filter filter,
                                                    std::optional<history_cursor> before,
                                                    std::size_t limit, std::size_t max_bytes);
    // Waits until every write so far is committed (by the store's writer thread; this
    // thread goes on meanwhile). Writes nobody waits for are committed in groups, handed to
    // the writer at most 20 ms after the first (one transaction for the many frames of a
    // stream); a front end awaits this before it acknowledges an operation (the control
    // server before it writes replies, D-Bus before its reply), so that a `send` that
    // returned is in the file.
    awaitable<void> make_durable() { return store_.durable(); }
    std::string const& socket_path() const { return socket_path_; }
    void set_socket_path(std::string path) { socket_path_ = std::move(path); }

    // ---- frame_handler (connections)
    void on_frame(wire::message&& message, peer_connection& from) override;
    void on_malformed(peer_connection& from, std::string_view reason) override;
    void on_rejected(std::string_view source, std::string_view reason) override;
    void on_dropped_frames(std::size_t count) override { traffic_.dropped_frames += count; }
    void on_written(std::size_t bytes, std::size_t frames) override {
        traffic_.bytes_sent += bytes;
        traffic_.frames_sent += frames;
    }
    void on_read(std::size_t bytes) override { traffic_.bytes_received += bytes; }
    void on_opened(peer_connection& connection) override {
        connections_[connection.id()] = &connection;
    }
    void on_closed(peer_connection& connection) override { connections_.erase(connection.id()); }

    // ---- link_observer (outbound links)
    void on_link_up(std::string const& peer) override;
    void on_link_down(std::string const& peer) override;

  private:
    static engine::instant now();
    // Carries out what the engine asked for, until it asks for nothing more.
    void run_effects();
    void execute(engine::effect& effect);
    // Ends a turn: saves the peers and prunes when due, and arms the group commit.
    void end_turn();
    void note_peer_event(engine::node_event const& event);
    // Wakes the wait_delivery() calls this settlement answers.
    void settled(engine::message_delivery const& delivery);
    // Puts the newest stored messages back into the event log under their numbers, and
    // numbers new events after every number an earlier run may have handed out.
    void restore_events();
    // Keeps the stored reservation of event numbers (meta 'event_seq') ahead of the log.
    void reserve_event_numbers();
    void save_peers();
    // Remembered peers' addresses, the most recently seen first.
    std::vector<address> remembered_contacts() const;
    // The next remembered peer, in turn, that is not a member now and was seen within
    // reconnect_window: removed as unreachable (a crash, or a cut that outlasted
    // --redial-removed), or never met again since a restart.
    struct removed_peer {
        std::string id;
        address contact;
    };
    std::optional<removed_peer> next_removed_peer();
    bool alone() const;
    frame_ptr frame_within_limit(wire::message const& message);
    // A heads frame waiting for the writes it speaks of: to `peer`, or (no peer) on
    // `connection`.
    struct held_frame {
        std::string peer;
        engine::connection_id connection{};
        frame_ptr frame;
        bool first = false;
    };
    bool hold_heads(wire::message const& message, held_frame&& held);
    awaitable<void> release_heads();
    // The open connection with this id: the current one, or one that asked earlier.
    peer_connection* connection(engine::connection_id id);
    void send_to(std::string const& peer, frame_ptr frame, bool first);
    void dial(std::string const& peer, address const& target);
    void hang_up(std::string const& peer, bool flush);
    void arm(engine::timer_kind timer, engine::steady_time at);
    asio::steady_timer& timer(engine::timer_kind kind);
    // Makes `key` this node's network key from now on, and keeps it in the state directory.
    std::string adopt(crypto::key const& key);
    void adopt_from_peer(engine::adopt_network_key const& offer);

    awaitable<void> timer_loop(engine::timer_kind timer);
    // The --join targets until one answers, and the remembered peers whenever the node is
    // alone: at start, and every --rejoin-interval while no peer is left. With peers, every
    // --rejoin-interval one remembered peer that is not a member (Serf's reconnect).
    awaitable<void> rejoin_loop();
    // Hands the store's open batch to its writer commit_delay after end_turn() armed it.
    awaitable<void> group_commit();

    asio::any_io_executor executor_;
    options options_;
    node_identity identity_;
    network_key_source network_;
    link_settings settings_;  // before listener_, which handshakes with it
    std::string socket_path_;
    std::int64_t started_ms_;
    peer_listener listener_;  // before engine_: the node advertises its bound address
    sqlite_store store_;      // before engine_, which reads it when it starts
    history_reader history_;  // the same file, read only
    engine::node engine_;
    event_log events_;
    traffic_counters traffic_;
    std::unordered_map<std::string, std::shared_ptr<peer_link>> links_;
    std::vector<std::shared_ptr<peer_link>> departing_;  // saying goodbye after leave()
    // One per engine::timer_kind: gossip, seal, probe, ack.
    std::array<asio::steady_timer, 4> timers_;
    asio::steady_timer join_retry_;
    std::vector<engine::effect> effects_;  // reused between inputs
    bool running_effects_ = false;
    // The connection whose frame the engine is handling.
    peer_connection* current_ = nullptr;
    // Every open connection, inbound and outbound, by id: where reply_on and close_connection
    // effects go.
    std::unordered_map<std::uint64_t, peer_connection*> connections_;
    bool stopping_ = false;
    // Which removed peer next_removed_peer() gives next.
    std::size_t reconnect_turn_ = 0;
    // Event numbers up to this may have been handed out (stored as meta 'event_seq').
    std::uint64_t reserved_event_seq_ = 0;
    // The live peers changed since they were last saved, and when that was.
    bool peers_changed_ = false;
    asio::steady_timer commit_wake_;  // never armed; cancelled to wake group_commit()
    bool commit_armed_ = false;
    std::vector<held_frame> held_heads_;  // sent once the store committed (hold_heads())
    bool releasing_heads_ = false;        // a flush is due at the end of the delay
    std::int64_t peers_saved_ms_ = 0;
    // The wait_delivery() calls in progress; each lives in its coroutine's frame and leaves
    // this list before the frame ends.
    struct delivery_waiter {
        std::uint64_t seq = 0;
        asio::steady_timer* timer = nullptr;
        std::optional<engine::message_delivery> outcome;
    };
    std::vector<delivery_waiter*> waiters_;
};

}  // namespace p2pchat::daemon
