#pragma once
// The node: the one facade that holds the chat state (peer table, dedup window, clocks,
// links, event stream) and implements both the peer protocol (frame_handler) and the
// operations every front end uses (control socket now, D-Bus later). Front ends talk only to
// this class. Lives on the io thread; no locks.
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/peer_table.hpp"
#include "common/rpc/rpc.hpp"
#include "common/seen_messages.hpp"
#include "daemon/event_log.hpp"
#include "daemon/identity.hpp"
#include "daemon/options.hpp"
#include "daemon/outcome.hpp"
#include "daemon/peer_link.hpp"
#include "daemon/peer_listener.hpp"

namespace p2pchat::daemon {

struct send_receipt {
    std::string id;
    std::uint64_t seq = 0;
    std::uint64_t lamport = 0;
};

class chat_node final : public frame_handler {
  public:
    chat_node(asio::any_io_executor executor, options const& opts, node_identity identity);

    // Starts listening (throws on a port in use), anti-entropy and the start-up joins.
    void start();
    // Tells every peer goodbye and waits (bounded) until the goodbyes were written.
    awaitable<void> shutdown();

    // ---- operations for front ends ----
    outcome<send_receipt> send(std::string text);
    outcome<std::string> rename(std::string name);
    awaitable<outcome<std::size_t>> join(address contact);
    std::size_t leave();
    boost::json::object status() const;
    boost::json::array peers() const;
    event_log& events() { return events_; }
    std::string const& socket_path() const { return socket_path_; }
    void set_socket_path(std::string path) { socket_path_ = std::move(path); }

    // ---- frame_handler ----
    void on_frame(wire::message&& message, peer_connection& from) override;
    void on_malformed(peer_connection& from, std::string_view reason) override;
    void on_dropped_frames(std::size_t count) override { dropped_frames_ += count; }
    void on_written(std::size_t bytes, std::size_t frames) override {
        bytes_sent_ += bytes;
        frames_sent_ += frames;
    }
    void on_read(std::size_t bytes) override { bytes_received_ += bytes; }

  private:
    void handle(wire::join_msg&& m, peer_connection& from);
    void handle(wire::hello_msg&& m, peer_connection& from);
    void handle(wire::welcome_msg&& m, peer_connection& from);
    void handle(wire::refused_msg&& m, peer_connection& from);
    void handle(wire::peers_msg&& m, peer_connection& from);
    void handle(wire::digest_msg&& m, peer_connection& from);
    void handle(wire::chat_msg&& m, peer_connection& from);
    void handle(wire::rename_msg&& m, peer_connection& from);
    void handle(wire::leave_msg&& m, peer_connection& from);
    void handle(wire::unknown_msg&& m, peer_connection& from);

    // Merges one entry and does what follows from it: events, links. Returns the outcome.
    // `left_reason` is what subscribers are told when the entry removes a live peer.
    merge_outcome apply(wire::peer_entry const& entry, std::string_view left_reason = "left");
    void apply_welcome(wire::welcome_msg&& welcome, asio::ip::address const& contact);
    void deliver(wire::chat_msg const& chat, bool from_self);
    std::vector<wire::chat_msg> welcome_history() const;
    void broadcast(frame_ptr const& frame, std::string const& except = {});

    void open_link(wire::peer_entry const& entry);
    void close_link(std::string const& id, bool flush);
    frame_ptr hello_frame() const;
    void remember_newcomer(std::string const& id);
    void introduce_to_recent_newcomers(wire::peer_entry const& peer);
    // The table changed within the last gossip interval: anti-entropy waits for it to settle.
    bool settling() const;
    // Removes peers whose link has been down longer than --peer-timeout (crashed, vanished).
    void remove_unreachable_peers();

    awaitable<void> gossip_loop();
    awaitable<void> startup_joins();

    boost::json::object peer_json(wire::peer_entry const& e) const;
    void emit_peer_event(std::string_view type, wire::peer_entry const& e,
                         boost::json::object extra = {});
    std::int64_t now_ms() const;

    asio::any_io_executor executor_;
    options options_;
    node_identity identity_;
    std::string socket_path_;
    // The start time gives the incarnation and the first chat seq: a restarted node outranks
    // its former self and never reuses an id, with no stored state.
    std::int64_t started_ms_;
    peer_listener listener_;  // before table_: the self entry advertises its bound address
    peer_table table_;
    seen_messages seen_;
    event_log events_;
    std::unordered_map<std::string, std::shared_ptr<peer_link>> links_;
    std::vector<std::shared_ptr<peer_link>> departing_;  // saying goodbye after leave()
    std::deque<wire::chat_msg> recent_chat_;             // what a newcomer's welcome carries
    std::uint64_t next_seq_;
    std::uint64_t lamport_ = 0;
    std::mt19937_64 random_;
    asio::steady_timer gossip_timer_;
    bool stopping_ = false;
    // After leave(), until this node joins or is joined again: it listens only to joins.
    bool left_ = false;
    // Newcomers this node welcomed lately (bounded), see introduce_to_recent_newcomers().
    static constexpr std::size_t max_recent_newcomers = 32;
    std::deque<std::pair<std::string, std::chrono::steady_clock::time_point>> recent_newcomers_;
    // When a merge last changed the table; anti-entropy waits while it keeps changing.
    std::chrono::steady_clock::time_point last_table_change_{};

    std::uint64_t messages_sent_ = 0;
    std::uint64_t messages_received_ = 0;
    std::uint64_t malformed_frames_ = 0;
    std::uint64_t dropped_frames_ = 0;
    std::uint64_t bytes_sent_ = 0;  // peer traffic, frames and joins included
    std::uint64_t frames_sent_ = 0;
    std::uint64_t bytes_received_ = 0;
};

}  // namespace p2pchat::daemon
