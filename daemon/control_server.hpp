#pragma once
// The control socket: JSON-RPC 2.0 over NDJSON on a Unix stream socket (docs/CONTROL.md).
// An adaptor with no chat logic: it parses requests, calls the node facade, and writes
// replies and subscribed events. Each client has one reader and one writer coroutine and a
// bounded outgoing queue; a subscriber that cannot keep up is told and dropped, so no client
// can stall the node or the others.
//
// Lifetime: the accept loop and the sessions share a state of their own, never this object;
// stop() (also run by the destructor) ends all of them. After stop() no session calls the
// node again, except that a `join` already waiting on the node gets its answer (and drops
// it). The node must outlive this object or its stop().
#include <boost/asio/local/stream_protocol.hpp>
#include <cstddef>
#include <memory>
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
    // Closes the listening socket (removing its file unless systemd passed it in); the
    // connected clients go on.
    void stop_accepting();
    // stop_accepting(), and ends every client's session now.
    void stop();
    std::size_t clients() const;

  private:
    using socket_type = asio::local::stream_protocol::socket;
    class client;
    struct shared_state;

    std::shared_ptr<shared_state> shared_;
    std::string path_;
    bool owns_file_ = true;
};

// The control socket passed by systemd (sd_listen_fds_with_names), or -1 when none was.
int inherited_control_socket();

}  // namespace p2pchat::daemon
