#include "daemon/dbus_adaptor.hpp"

#include <poll.h>
#include <systemd/sd-bus.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/address.hpp"
#include "daemon/event_log.hpp"
#include "daemon/log.hpp"
#include "daemon/node.hpp"

namespace p2pchat::daemon {

namespace {

// D-Bus error names for the control API's error codes (docs/CONTROL.md).
char const* dbus_error_name(rpc::code c) {
    switch (c) {
        case rpc::code::invalid_params:
            return SD_BUS_ERROR_INVALID_ARGS;
        case rpc::code::text_too_long:
            return "net.p2pchat.P2PChat1.Error.TextTooLong";
        case rpc::code::peer_unreachable:
            return "net.p2pchat.P2PChat1.Error.PeerUnreachable";
        case rpc::code::join_refused:
            return "net.p2pchat.P2PChat1.Error.JoinRefused";
        case rpc::code::timed_out:
            return "net.p2pchat.P2PChat1.Error.TimedOut";
        case rpc::code::parse_error:
        case rpc::code::invalid_request:
        case rpc::code::method_not_found:
        case rpc::code::internal_error:
        case rpc::code::too_many_clients:
        case rpc::code::not_allowed:
        case rpc::code::subscriber_too_slow:
            return SD_BUS_ERROR_FAILED;
    }
    return SD_BUS_ERROR_FAILED;
}

int set_error(sd_bus_error* error, rpc::error const& e) {
    return sd_bus_error_set(error, dbus_error_name(e.error_code), e.message.c_str());
}

}  // namespace

// The bus and everything the processing loop and pending replies use.
struct dbus_adaptor::connection : std::enable_shared_from_this<connection> {
    connection(asio::any_io_executor executor, node& node, bus_kind kind);
    ~connection();
    connection(connection const&) = delete;
    connection& operator=(connection const&) = delete;

    static int method_send(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_rename(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_join(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_leave(sd_bus_message* m, void* self, sd_bus_error* error);
    static int method_peers(sd_bus_message* m, void* self, sd_bus_error* error);
    static int get_property(sd_bus* bus, char const* path, char const* interface,
                            char const* property, sd_bus_message* reply, void* self,
                            sd_bus_error* error);
    static sd_bus_vtable const vtable[];
    static connection& self_of(void* p) { return *static_cast<connection*>(p); }

    static awaitable<void> process_loop(std::shared_ptr<connection> self);
    static awaitable<void> finish_join(std::shared_ptr<connection> self, sd_bus_message* call,
                                       std::string address_text);
    // Replies to a Send (with the message's id) or a Rename once its writes are committed.
    static awaitable<void> reply_when_durable(std::shared_ptr<connection> self,
                                              sd_bus_message* call, std::optional<std::string> id);
    void on_event(event const& e);
    void emit_delivery(engine::message_delivery const& d);

    asio::any_io_executor executor_;
    node& node_;
    sd_bus* bus_ = nullptr;
    sd_bus_slot* slot_ = nullptr;
    asio::posix::stream_descriptor bus_fd_;
    asio::steady_timer timeout_;
    event_log::subscription subscription_;
    bool stopped_ = false;
};

// clang-format off
sd_bus_vtable const dbus_adaptor::connection::vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES("Send", "s", SD_BUS_PARAM(text), "s", SD_BUS_PARAM(id), method_send, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Rename", "s", SD_BUS_PARAM(name), "", , method_rename, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Join", "s", SD_BUS_PARAM(address), "u", SD_BUS_PARAM(peers), method_join, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Leave", "", , "u", SD_BUS_PARAM(told), method_leave, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD_WITH_NAMES("Peers", "", , "a(ssss)", SD_BUS_PARAM(peers), method_peers, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_PROPERTY("NodeId", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_PROPERTY("Name", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("PeerCount", "u", get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
    SD_BUS_PROPERTY("ListenAddress", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
    SD_BUS_SIGNAL_WITH_NAMES("MessageReceived", "ssssxb",
        SD_BUS_PARAM(id) SD_BUS_PARAM(from) SD_BUS_PARAM(name) SD_BUS_PARAM(text) SD_BUS_PARAM(sent_ms) SD_BUS_PARAM(self), 0),
    SD_BUS_SIGNAL_WITH_NAMES("PeerJoined", "sss", SD_BUS_PARAM(id) SD_BUS_PARAM(name) SD_BUS_PARAM(address), 0),
    SD_BUS_SIGNAL_WITH_NAMES("PeerLeft", "sss", SD_BUS_PARAM(id) SD_BUS_PARAM(name) SD_BUS_PARAM(reason), 0),
    SD_BUS_SIGNAL_WITH_NAMES("PeerRenamed", "sss", SD_BUS_PARAM(id) SD_BUS_PARAM(old_name) SD_BUS_PARAM(new_name), 0),
    SD_BUS_SIGNAL_WITH_NAMES("Delivery", "sttbuas",
        SD_BUS_PARAM(origin) SD_BUS_PARAM(first_seq) SD_BUS_PARAM(seq) SD_BUS_PARAM(delivered) SD_BUS_PARAM(members) SD_BUS_PARAM(missing), 0),
    SD_BUS_VTABLE_END};
// clang-format on

dbus_adaptor::dbus_adaptor(asio::any_io_executor executor, node& node, bus_kind kind)
    : bus_(std::make_shared<connection>(executor, node, kind)) {}

dbus_adaptor::~dbus_adaptor() { stop(); }

void dbus_adaptor::start() {
    std::weak_ptr<connection> weak = bus_;
    bus_->subscription_ = bus_->node_.events().observe([weak](event const& e) {
        if (auto bus = weak.lock()) bus->on_event(e);
    });
    asio::co_spawn(bus_->executor_, connection::process_loop(bus_), log_exception{"D-Bus"});
}

void dbus_adaptor::stop() {
    bus_->stopped_ = true;
    bus_->subscription_ = {};
    bus_->bus_fd_.cancel();
    bus_->timeout_.cancel();
}

dbus_adaptor::connection::connection(asio::any_io_executor executor, node& node, bus_kind kind)
    : executor_(executor), node_(node), bus_fd_(executor), timeout_(executor) {
    int r = kind == bus_kind::system ? sd_bus_open_system(&bus_) : sd_bus_open_user(&bus_);
    if (r < 0)
        throw std::runtime_error(std::string("cannot connect to the D-Bus ") +
                                 (kind == bus_kind::system ? "system" : "user") +
                                 " bus: " + std::strerror(-r));
    r = sd_bus_add_object_vtable(bus_, &slot_, dbus_path, dbus_interface, vtable, this);
    if (r >= 0) r = sd_bus_request_name(bus_, dbus_service, 0);
    if (r < 0) {
        sd_bus_slot_unref(slot_);
        sd_bus_flush_close_unref(bus_);
        throw std::runtime_error(std::string("cannot publish ") + dbus_service +
                                 " on D-Bus: " + std::strerror(-r));
    }
    bus_fd_.assign(sd_bus_get_fd(bus_));
}

dbus_adaptor::connection::~connection() {
    // The fd belongs to sd-bus; Asio only watched it.
    if (bus_fd_.is_open()) (void)bus_fd_.release();
    sd_bus_slot_unref(slot_);
    sd_bus_flush_close_unref(bus_);
}

awaitable<void> dbus_adaptor::connection::process_loop(std::shared_ptr<connection> self) {
    // Holding `self` keeps the bus open while this waits; stop() wakes it to end.
    sd_bus* const bus = self->bus_;
    auto& fd = self->bus_fd_;
    auto& timeout = self->timeout_;
    while (!self->stopped_) {
        int r;
        while ((r = sd_bus_process(bus, nullptr)) > 0) {
        }
        if (r < 0) {
            log(log_level::error, "D-Bus connection lost: ", std::strerror(-r));
            co_return;
        }
        int const events = sd_bus_get_events(bus);
        std::uint64_t usec = UINT64_MAX;
        sd_bus_get_timeout(bus, &usec);
        // sd-bus gives an absolute CLOCK_MONOTONIC time, which is what steady_clock is on Linux.
        if (usec == UINT64_MAX)
            timeout.expires_at(asio::steady_timer::time_point::max());
        else
            timeout.expires_at(asio::steady_timer::time_point(std::chrono::microseconds(usec)));
        auto readable = fd.async_wait(asio::posix::descriptor_base::wait_read, use_nothrow);
        if (events & POLLOUT)
            co_await (std::move(readable) ||
                      fd.async_wait(asio::posix::descriptor_base::wait_write, use_nothrow) ||
                      timeout.async_wait(use_nothrow));
        else
            co_await (std::move(readable) || timeout.async_wait(use_nothrow));
    }
}

int dbus_adaptor::connection::method_send(sd_bus_message* m, void* self, sd_bus_error* error) {
    char const* text = nullptr;
    if (int r = sd_bus_message_read(m, "s", &text); r < 0) return r;
    auto& c = self_of(self);
    auto sent = c.node_.send(text);
    if (!sent) return set_error(error, sent.error());
    // The reply acknowledges a stored message: it leaves once the message is committed.
    asio::co_spawn(c.executor_,
                   reply_when_durable(c.shared_from_this(), sd_bus_message_ref(m), sent->id),
                   log_exception{"D-Bus send"});
    return 1;
}

int dbus_adaptor::connection::method_rename(sd_bus_message* m, void* self, sd_bus_error* error) {
    char const* name = nullptr;
    if (int r = sd_bus_message_read(m, "s", &name); r < 0) return r;
    auto& c = self_of(self);
    auto renamed = c.node_.rename(name);
    if (!renamed) return set_error(error, renamed.error());
    asio::co_spawn(c.executor_,
                   reply_when_durable(c.shared_from_this(), sd_bus_message_ref(m), std::nullopt),
                   log_exception{"D-Bus rename"});
    return 1;
}

awaitable<void> dbus_adaptor::connection::reply_when_durable(std::shared_ptr<connection> self,
                                                             sd_bus_message* call,
                                                             std::optional<std::string> id) {
    co_await self->node_.make_durable();
    if (id)
        sd_bus_reply_method_return(call, "s", id->c_str());
    else
        sd_bus_reply_method_return(call, "");
    sd_bus_message_unref(call);
    self->timeout_.cancel();  // the reply waits in sd-bus's queue: let the loop flush it
}

int dbus_adaptor::connection::method_join(sd_bus_message* m, void* self, sd_bus_error* error) {
    char const* text = nullptr;
    if (int r = sd_bus_message_read(m, "s", &text); r < 0) return r;
    auto contact = parse_address(text);
    if (!contact || contact->port == 0)
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "not HOST[:PORT]: '%s'", text);
    // Joining waits on the network: reply later, from a coroutine, holding a ref to the call.
    auto& c = self_of(self);
    asio::co_spawn(c.executor_, finish_join(c.shared_from_this(), sd_bus_message_ref(m), text),
                   log_exception{"D-Bus join"});
    return 1;
}

awaitable<void> dbus_adaptor::connection::finish_join(std::shared_ptr<connection> self,
                                                      sd_bus_message* call,
                                                      std::string address_text) {
    auto const contact = *parse_address(address_text);  // validated by method_join
    auto const result = co_await self->node_.join(contact);
    if (result) {
        sd_bus_reply_method_return(call, "u", static_cast<std::uint32_t>(*result));
    } else {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        set_error(&error, result.error());
        sd_bus_reply_method_error(call, &error);
        sd_bus_error_free(&error);
    }
    sd_bus_message_unref(call);
    self->timeout_.cancel();  // the reply waits in sd-bus's queue: let the loop flush it
}

int dbus_adaptor::connection::method_leave(sd_bus_message* m, void* self, sd_bus_error*) {
    auto const told = self_of(self).node_.leave();
    return sd_bus_reply_method_return(m, "u", static_cast<std::uint32_t>(told));
}

int dbus_adaptor::connection::method_peers(sd_bus_message* m, void* self, sd_bus_error*) {
    sd_bus_message* reply = nullptr;
    int r = sd_bus_message_new_method_return(m, &reply);
    if (r >= 0) r = sd_bus_message_open_container(reply, 'a', "(ssss)");
    for (auto const& peer : self_of(self).node_.peers()) {
        if (r < 0) break;
        r = sd_bus_message_append(reply, "(ssss)", peer.id.c_str(), peer.name.c_str(),
                                  peer.address.c_str(),
                                  std::string(engine::to_string(peer.status)).c_str());
    }
    if (r >= 0) r = sd_bus_message_close_container(reply);
    if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
    sd_bus_message_unref(reply);
    return r;
}

int dbus_adaptor::connection::get_property(sd_bus*, char const*, char const*, char const* property,
                                           sd_bus_message* reply, void* self, sd_bus_error*) {
    auto const status = self_of(self).node_.status();
    auto const& me = status.node.self;
    std::string_view const p = property;
    if (p == "PeerCount")
        return sd_bus_message_append(reply, "u", static_cast<std::uint32_t>(status.node.peers));
    std::string const& value = p == "NodeId" ? me.id : p == "Name" ? me.name : me.addr;
    return sd_bus_message_append(reply, "s", value.c_str());
}

void dbus_adaptor::connection::emit_delivery(engine::message_delivery const& d) {
    // Delivery(origin, first_seq, seq, delivered, members, missing ids): as the control
    // socket's delivery event says it (docs/DBUS.md).
    sd_bus_message* signal = nullptr;
    int r = sd_bus_message_new_signal(bus_, &signal, dbus_path, dbus_interface, "Delivery");
    if (r >= 0)
        r = sd_bus_message_append(signal, "sttbu", d.origin.c_str(), d.first_seq, d.seq,
                                  static_cast<int>(d.delivered()),
                                  static_cast<std::uint32_t>(d.members));
    if (r >= 0) r = sd_bus_message_open_container(signal, 'a', "s");
    for (auto const& m : d.missing)
        if (r >= 0) r = sd_bus_message_append(signal, "s", m.id.c_str());
    if (r >= 0) r = sd_bus_message_close_container(signal);
    if (r >= 0) sd_bus_send(bus_, signal, nullptr);
    sd_bus_message_unref(signal);
}

void dbus_adaptor::connection::on_event(event const& e) {
    std::visit(
        [&](auto const& ev) {
            using T = std::decay_t<decltype(ev)>;
            if constexpr (std::is_same_v<T, engine::message_arrived>) {
                auto const& chat = ev.chat;
                std::string const id = chat.origin + ":" + std::to_string(chat.seq);
                sd_bus_emit_signal(bus_, dbus_path, dbus_interface, "MessageReceived", "ssssxb",
                                   id.c_str(), chat.origin.c_str(), chat.name.c_str(),
                                   chat.text.c_str(), chat.time_ms, static_cast<int>(ev.self));
                return;
            } else if constexpr (std::is_same_v<T, engine::peer_joined>) {
                sd_bus_emit_signal(bus_, dbus_path, dbus_interface, "PeerJoined", "sss",
                                   ev.peer.id.c_str(), ev.peer.name.c_str(),
                                   ev.peer.address.c_str());
            } else if constexpr (std::is_same_v<T, engine::peer_left>) {
                sd_bus_emit_signal(bus_, dbus_path, dbus_interface, "PeerLeft", "sss",
                                   ev.peer.id.c_str(), ev.peer.name.c_str(),
                                   std::string(engine::to_string(ev.reason)).c_str());
            } else if constexpr (std::is_same_v<T, engine::peer_renamed>) {
                sd_bus_emit_signal(bus_, dbus_path, dbus_interface, "PeerRenamed", "sss",
                                   ev.peer.id.c_str(), ev.old_name.c_str(), ev.peer.name.c_str());
            } else {
                static_assert(std::is_same_v<T, engine::message_delivery>);
                emit_delivery(ev);
                return;
            }
            sd_bus_emit_properties_changed(bus_, dbus_path, dbus_interface, "PeerCount", "Name",
                                           nullptr);
        },
        e.what);
    // Signals wait in sd-bus's write queue: wake the loop so it waits for POLLOUT and flushes.
    timeout_.cancel();
}

}  // namespace p2pchat::daemon
