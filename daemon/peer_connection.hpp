#pragma once
// One TCP connection to another node, carrying frames both ways: a reader coroutine that
// decodes frames and hands them to the frame_handler, and a writer coroutine that drains a
// bounded queue of shared, immutable frames (a broadcast serializes once; every connection
// holds the same buffer). The queue outlives the socket, so an outbound link can reconnect
// and keep what was waiting. Owned by shared_ptr: the coroutine running it holds one.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/wire/frame_decoder.hpp"
#include "common/wire/messages.hpp"
#include "daemon/asio.hpp"

namespace p2pchat::daemon {

using frame_ptr = std::shared_ptr<std::string const>;
frame_ptr make_frame(wire::message const& m);

class peer_connection;

// A FIFO of frames with the few deque operations the writer needs. A std::deque allocates
// about 600 bytes as soon as it exists; a node keeps two connections per peer, mostly idle,
// so that alone was over 1 KiB per peer (bench B5). This holds nothing until used and gives
// its storage back when drained after a burst.
class frame_queue {
  public:
    bool empty() const { return head_ == items_.size(); }
    std::size_t size() const { return items_.size() - head_; }
    frame_ptr& front() { return items_[head_]; }
    void push_back(frame_ptr f) { items_.push_back(std::move(f)); }
    void push_front(frame_ptr f) {
        if (head_ > 0)
            items_[--head_] = std::move(f);
        else
            items_.insert(items_.begin(), std::move(f));
    }
    void pop_front() {
        items_[head_++].reset();
        if (head_ == items_.size()) {
            head_ = 0;
            if (items_.capacity() > 64)
                std::vector<frame_ptr>().swap(items_);
            else
                items_.clear();
        } else if (head_ >= 1024 && head_ * 2 >= items_.size()) {
            items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
    }
    void clear() {
        std::vector<frame_ptr>().swap(items_);
        head_ = 0;
    }

  private:
    std::vector<frame_ptr> items_;  // items_[head_..] are queued, oldest first
    std::size_t head_ = 0;
};

// Receives what connections read. Implemented by the node; called on the io thread.
class frame_handler {
  public:
    virtual void on_frame(wire::message&& message, peer_connection& from) = 0;
    virtual void on_malformed(peer_connection& from, std::string_view reason) = 0;
    virtual void on_dropped_frames(std::size_t count) = 0;
    // Traffic accounting for `status` (bytes_sent, frames_sent, bytes_received).
    virtual void on_written(std::size_t bytes, std::size_t frames) = 0;
    virtual void on_read(std::size_t bytes) = 0;

  protected:
    ~frame_handler() = default;
};

class peer_connection {
  public:
    static constexpr std::size_t default_queue_limit = 4 * 1024 * 1024;

    peer_connection(frame_handler& handler, std::size_t queue_limit = default_queue_limit);

    // Reads and writes on `socket` until either side fails, the peer closes, or close()
    // is called. Returns the reason (eof for an orderly close).
    awaitable<boost::system::error_code> run(tcp::socket socket);

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
    // The node at the other end, as this connection layer vouches for it: the peer an
    // outbound link was opened to, or the id of the first `hello` or `join` an inbound
    // connection carried. Set once, never by what a later frame claims. Empty for an
    // anonymous connection (the seed's send-one-frame-and-close pattern).
    std::string const& peer_id() const { return peer_id_; }
    void set_peer_id(std::string id) { peer_id_ = std::move(id); }
    asio::ip::address const& remote_address() const { return remote_address_; }
    std::string const& remote_host() const { return remote_host_; }
    std::string describe() const;

  private:
    awaitable<void> read_frames();
    void learn_peer_id(wire::message const& message);
    awaitable<void> write_frames();
    void wake_writer();

    frame_handler& handler_;
    std::size_t queue_limit_;
    std::unique_ptr<tcp::socket> socket_;
    std::unique_ptr<asio::steady_timer> wakeup_;
    std::unique_ptr<asio::steady_timer> writer_done_;  // wakes run() when the writer ended
    bool writer_running_ = false;
    frame_queue queue_;
    std::size_t queued_bytes_ = 0;
    bool closing_ = false;
    wire::frame_decoder decoder_;
    std::uint64_t id_;
    std::string peer_id_;
    asio::ip::address remote_address_;
    std::string remote_host_;
    boost::system::error_code last_error_;
};

}  // namespace p2pchat::daemon
