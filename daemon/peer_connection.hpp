#pragma once
// One TCP connection to another node, carrying frames both ways: a reader (read_frames())
// that hands decoded frames to the frame_handler, and a writer that drains a bounded outbox
// of shared, immutable frames (a broadcast serializes once; every connection holds the same
// buffer). The queue outlives the socket, so an outbound link can reconnect and keep what
// was waiting.
//
// Lifetime: owned by whoever awaits run() (a peer_link, or the listener's session). The
// writer is a child of run(): run() returns only after the writer has ended, so nothing
// either coroutine uses outlives the connection while run() is awaited.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "common/crypto/secure_channel.hpp"
#include "common/wire/messages.hpp"
#include "daemon/asio.hpp"
#include "daemon/memory_budget.hpp"
#include "daemon/outbox.hpp"

namespace p2pchat::daemon {

using frame_ptr = shared_buffer;
frame_ptr make_frame(wire::message const& m);

class peer_connection;

// Receives what connections read. Implemented by the node; called on the io thread.
class frame_handler {
  public:
    virtual void on_frame(wire::message&& message, peer_connection& from) = 0;
    virtual void on_malformed(peer_connection& from, std::string_view reason) = 0;
    // A connection from `source` never got past its handshake (or was refused before it).
    virtual void on_rejected(std::string_view source, std::string_view reason) = 0;
    virtual void on_dropped_frames(std::size_t count) = 0;
    // Traffic accounting for `status` (bytes_sent, frames_sent, bytes_received).
    virtual void on_written(std::size_t bytes, std::size_t frames) = 0;
    virtual void on_read(std::size_t bytes) = 0;
    // A connection's run() began (its handshake is done) or is about to end: the node keeps
    // the open ones by id, because the engine may answer on a connection later than the frame
    // that asked (an indirect probe's ack).
    virtual void on_opened(peer_connection& connection) = 0;
    virtual void on_closed(peer_connection& connection) = 0;

  protected:
    ~frame_handler() = default;
};

class peer_connection {
  public:
    static constexpr std::size_t default_queue_limit = 4 * 1024 * 1024;

    peer_connection(frame_handler& handler, std::shared_ptr<memory_budget> budget,
                    std::size_t queue_limit = default_queue_limit);

    // Reads and writes records on `socket`, whose handshake gave `keys`, until either side
    // fails, the peer closes, or close() is called. Returns the reason (eof for an orderly
    // close).
    awaitable<boost::system::error_code> run(tcp::socket socket, crypto::transport_keys keys);

    // Queues a frame. When the queue is over its byte limit, the oldest frames are dropped
    // and reported to the handler: a stuck peer never holds unbounded memory.
    void send(frame_ptr frame);
    // Queues a frame ahead of everything else (the greeting of a fresh connection).
    void send_first(frame_ptr frame);
    void clear_queue();

    void close();
    // Lets the writer finish the queue, then closes.
    void close_when_flushed();

    bool is_open() const { return socket_ && socket_->is_open(); }

    // Unique among the daemon's connections: the engine names a connection by it.
    std::uint64_t id() const { return id_; }
    // The node at the other end, as the handshake proved it (the connection layer sets it
    // before run(); no frame can change it).
    std::string const& peer_id() const { return peer_id_; }
    void set_peer_id(std::string id) { peer_id_ = std::move(id); }
    asio::ip::address const& remote_address() const { return remote_address_; }
    std::string const& remote_host() const { return remote_host_; }
    std::string describe() const;

  private:
    struct reader_sink;
    struct writer_hooks;
    // `done` and `running` live in run()'s frame: the writer clears `running` and cancels
    // `done` as its last act, and run() waits for that.
    awaitable<void> write_frames(asio::steady_timer& done, bool& running);
    // Tells the node's memory budget what this connection holds now.
    void account();

    frame_handler& handler_;
    std::size_t queue_limit_;
    std::unique_ptr<tcp::socket> socket_;
    outbox outbox_;
    bool closing_ = false;
    std::optional<crypto::record_decoder> decoder_;
    memory_budget::share budget_;
    crypto::cipher_state sealer_;  // this side's sending key, while run() runs
    std::uint64_t id_;
    std::string peer_id_;
    asio::ip::address remote_address_;
    std::string remote_host_;
    boost::system::error_code last_error_;
};

}  // namespace p2pchat::daemon
