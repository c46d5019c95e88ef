#pragma once
// The TCP listener for other nodes: accepts connections and serves each with its own
// peer_connection until it closes. Binding happens in the constructor so a port in use is
// a start-up error, not a log line.
#include <cstddef>

#include "common/address.hpp"
#include "daemon/peer_connection.hpp"

namespace p2pchat::daemon {

class peer_listener {
  public:
    // Throws std::runtime_error when the address cannot be bound.
    // At most max_connections inbound connections at once; more are closed on arrival, so a
    // flood of connections cannot take the descriptors the node needs for its own links.
    peer_listener(asio::any_io_executor executor, frame_handler& handler, address const& listen,
                  std::size_t max_connections);

    void start();
    void stop();
    // The bound address (the real port when asked for port 0).
    address local_address() const;

  private:
    awaitable<void> accept_loop();
    awaitable<void> serve(tcp::socket socket);

    frame_handler& handler_;
    tcp::acceptor acceptor_;
    std::size_t max_connections_;
    std::size_t connections_ = 0;
    std::size_t refused_ = 0;
};

}  // namespace p2pchat::daemon
