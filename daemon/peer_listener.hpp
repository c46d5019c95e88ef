#pragma once
// The TCP listener for other nodes: accepts connections, runs the handshake on each (as the
// responder), and serves each one that proves its node id and the network key with its own
// peer_connection until it closes. Binding happens in the constructor so a port in use is a
// start-up error, not a log line.
//
// Before a handshake is done a connection costs almost nothing and cannot stay: at most
// max_pending_per_source handshakes in flight per source address and max_pending in all,
// each bounded by handshake_timeout; a stranger's first message is dropped on its mac1,
// before any Diffie-Hellman work.
//
// Lifetime: the accept loop and the served connections share a state of their own, never
// this object; stop() (also run by the destructor) ends all of them. The frame_handler must
// outlive the served connections: once stop() has run, none calls it again after its
// current read.
#include <cstddef>
#include <memory>

#include "common/address.hpp"
#include "daemon/link_settings.hpp"
#include "daemon/peer_connection.hpp"

namespace p2pchat::daemon {

class peer_listener {
  public:
    static constexpr std::size_t max_pending = 64;
    static constexpr std::size_t max_pending_per_source = 8;

    // Throws std::runtime_error when the address cannot be bound.
    // At most max_connections inbound connections at once; more are closed on arrival, so a
    // flood of connections cannot take the descriptors the node needs for its own links.
    peer_listener(asio::any_io_executor executor, frame_handler& handler,
                  link_settings const& settings, address const& listen,
                  std::size_t max_connections);
    ~peer_listener();
    peer_listener(peer_listener const&) = delete;
    peer_listener& operator=(peer_listener const&) = delete;

    void start();
    // Closes the listening socket and every connection it accepted.
    void stop();
    // The bound address (the real port when asked for port 0).
    address local_address() const;

  private:
    struct shared_state;
    std::shared_ptr<shared_state> shared_;
};

}  // namespace p2pchat::daemon
