#pragma once
// The persistent outbound link to one peer: dials it, greets it with a fresh `hello`, then
// keeps one peer_connection open, redialling with exponential backoff when it breaks. What the
// node sends to that peer goes through here; the queue survives reconnects.
// Owned by the node (by peer id) and by its own running coroutine; stop() ends it.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/address.hpp"
#include "daemon/peer_connection.hpp"

namespace p2pchat::daemon {

class peer_link : public std::enable_shared_from_this<peer_link> {
  public:
    // greeting() is called at every (re)connect, so it carries the node's current entry.
    peer_link(asio::any_io_executor executor, frame_handler& handler, std::string peer_id,
              address target, std::function<frame_ptr()> greeting);

    void start();
    void send(frame_ptr frame) { connection_.send(std::move(frame)); }
    // Ends the link: closes now, or after what is queued was written (a goodbye).
    void stop();
    void stop_when_flushed();
    // The peer now listens elsewhere: drop the current connection and dial the new address.
    void retarget(address target);

    bool connected() const { return connected_; }
    // How long the peer has been unreachable: since the link broke or a dial first failed,
    // zero while connected (or before the first dial ended).
    std::chrono::steady_clock::duration down_for(std::chrono::steady_clock::time_point now) const {
        return down_since_ ? now - *down_since_ : std::chrono::steady_clock::duration::zero();
    }
    // The link's coroutine has ended (after stop(), or a goodbye was written).
    bool finished() const { return finished_; }
    address const& target() const { return target_; }

  private:
    awaitable<void> run(std::shared_ptr<peer_link> self);

    asio::any_io_executor executor_;
    std::string peer_id_;
    address target_;
    std::function<frame_ptr()> greeting_;
    peer_connection connection_;
    asio::steady_timer backoff_timer_;
    bool stopped_ = false;
    bool flush_then_stop_ = false;
    bool connected_ = false;
    bool finished_ = false;
    std::optional<std::chrono::steady_clock::time_point> down_since_;
    tcp::socket* dialing_ = nullptr;  // the socket being connected, while dial() runs
};

}  // namespace p2pchat::daemon
