#pragma once
// The control socket: JSON-RPC 2.0 over NDJSON on a Unix stream socket (docs/CONTROL.md).
// An adaptor with no chat logic: it parses requests, calls the node facade, and writes
// replies and subscribed events. Each client has one reader and one writer coroutine and a
// bounded outgoing queue; a subscriber that cannot keep up is told and dropped, so no client
// can stall the node or the others.
#include <boost/asio/local/stream_protocol.hpp>
#include <cstddef>
#include <string>

#include "daemon/asio.hpp"

namespace p2pchat::daemon {

class node;

class control_server {
  public:
    static constexpr std::size_t max_clients = 64;

    // Binds the socket (mode 0660). Throws std::runtime_error when another daemon answers
    // on it or it cannot be created; a stale socket file is replaced.
    control_server(asio::any_io_executor executor, node& node, std::string path);
    // Serves a listening socket the service manager passed in (socket activation); the
    // file belongs to the manager and is left in place on stop.
    control_server(asio::any_io_executor executor, node& node, int inherited_fd);
    ~control_server();

    void start();
    void stop();
    std::size_t clients() const { return clients_; }

  private:
    using socket_type = asio::local::stream_protocol::socket;
    class client;

    awaitable<void> accept_loop();

    node& node_;
    std::string path_;
    asio::local::stream_protocol::acceptor acceptor_;
    std::size_t clients_ = 0;
    bool owns_file_ = true;
};

// The control socket passed by systemd (sd_listen_fds_with_names), or -1 when none was.
int inherited_control_socket();

}  // namespace p2pchat::daemon
