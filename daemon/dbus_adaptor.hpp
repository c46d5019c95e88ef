#pragma once
// The D-Bus front end (sd-bus): service, object and interface net.p2pchat.P2PChat1, with
// methods mirroring the control API, properties, and signals fed by the node's event stream.
// No chat logic here: every call goes to the node facade.
//
// It runs on the daemon's io_context: the bus fd and sd-bus's absolute timeout
// (sd_bus_get_events/sd_bus_get_timeout) are awaited by Asio, then sd_bus_process() runs until
// idle. No extra thread; no synchronous bus call on the io thread after start-up.
#include <systemd/sd-bus.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <string_view>

#include "daemon/asio.hpp"
#include "daemon/event_log.hpp"
#include "daemon/options.hpp"

namespace p2pchat::daemon {

class node;

inline constexpr char const* dbus_service = "net.p2pchat.P2PChat1";
inline constexpr char const* dbus_path = "/net/p2pchat/P2PChat1";
inline constexpr char const* dbus_interface = "net.p2pchat.P2PChat1";

class dbus_adaptor {
  public:
    // Connects and takes the service name. Throws std::runtime_error (start-up failure).
    dbus_adaptor(asio::any_io_executor executor, node& node, bus_kind kind);
    ~dbus_adaptor();
    dbus_adaptor(dbus_adaptor const&) = delete;
    dbus_adaptor& operator=(dbus_adaptor const&) = delete;

    void start();
    void stop();

  private:
    struct connection;
    std::shared_ptr<connection> bus_;
};

}  // namespace p2pchat::daemon
