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
    static int method_send(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_rename(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_join(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_leave(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_peers(sd_bus_message* m, void* self, sd_bus_error* error);
    static int get_property(sd_bus* bus, char const* path, char const* interface,
                            char const* property, sd_bus_message* reply, void* self,
                            sd_bus_error* error);
    static sd_bus_vtable const vtable[];

    awaitable<void> process_loop();
    awaitable<void> finish_join(sd_bus_message* call, std::string address);
    void on_event(event const& e);

    asio::any_io_executor executor_;
    node& node_;
    sd_bus* bus_ = nullptr;
    sd_bus_slot* slot_ = nullptr;
    asio::posix::stream_descriptor bus_fd_;
    asio::steady_timer timeout_;
    event_log::subscription subscription_;
    bool stopped_ = false;
};

}  // namespace p2pchat::daemon
