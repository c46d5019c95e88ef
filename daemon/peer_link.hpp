#pragma once
// The persistent outbound link to one peer: dials it, keeps one peer_connection open, and
// redials with exponential backoff when it breaks, telling its observer each time it comes up
// (the node then queues its greeting with send_first) or goes down. What the node sends to
// that peer goes through here; the queue survives reconnects.
// Owned by the node (by peer id) and by its own running coroutine; stop() ends it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/address.hpp"
#include "daemon/link_settings.hpp"
#include "daemon/peer_connection.hpp"

namespace p2pchat::daemon {

// Told when a link connects, and when it breaks or a dial fails. Called on the io thread.
class link_observer {
  public:
    virtual void on_link_up(std::string const& peer) = 0;
    virtual void on_link_down(std::string const& peer) = 0;

  protected:
    ~link_observer() = default;
};

class peer_link : public std::enable_shared_from_this<peer_link> {
  public:
    peer_link(asio::any_io_executor executor, frame_handler& handler, link_observer& observer,
              link_settings const& settings, std::string peer_id, address target);

    void start();
    void send(frame_ptr frame) { connection_.send(std::move(frame)); }
    // Ahead of everything queued: the greeting of a connection that just came up.
    void send_first(frame_ptr frame) { connection_.send_first(std::move(frame)); }
    // Ends the link: closes now, or after what is queued was written (a goodbye).
    void stop();
    void stop_when_flushed();
    // The peer now listens elsewhere: drop the current connection and dial the new address.
    void retarget(address target);

    bool connected() const { return connected_; }
    // The link's coroutine has ended (after stop(), or a goodbye was written).
    bool finished() const { return finished_; }
    address const& target() const { return target_; }

  private:
    awaitable<void> run(std::shared_ptr<peer_link> self);

    asio::any_io_executor executor_;
    link_settings const& settings_;
    std::string peer_id_;
    address target_;
    link_observer& observer_;
    peer_connection connection_;
    asio::steady_timer backoff_timer_;
    bool stopped_ = false;
    bool flush_then_stop_ = false;
    bool connected_ = false;
    bool finished_ = false;
    tcp::socket* dialing_ = nullptr;  // the socket being connected, while dial() runs
};

}  // namespace p2pchat::daemon
