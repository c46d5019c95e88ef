#include "daemon/dbus_adaptor.hpp"

#include <poll.h>

#include <stdexcept>

#include "common/address.hpp"
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
        case rpc::code::subscriber_too_slow:
            return SD_BUS_ERROR_FAILED;
    }
    return SD_BUS_ERROR_FAILED;
}

int set_error(sd_bus_error* error, rpc::error const& e) {
    return sd_bus_error_set(error, dbus_error_name(e.error_code), e.message.c_str());
}

dbus_adaptor& self_of(void* p) { return *static_cast<dbus_adaptor*>(p); }

}  // namespace

// clang-format off
sd_bus_vtable const dbus_adaptor::vtable[] = {
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
    SD_BUS_VTABLE_END};
// clang-format on

dbus_adaptor::dbus_adaptor(asio::any_io_executor executor, node& node, bus_kind kind)
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

dbus_adaptor::~dbus_adaptor() {
    stop();
    // The fd belongs to sd-bus; Asio only watched it.
    boost::system::error_code ignored;
    if (bus_fd_.is_open()) (void)bus_fd_.release();
    sd_bus_slot_unref(slot_);
    sd_bus_flush_close_unref(bus_);
}

void dbus_adaptor::start() {
    subscription_ = node_.events().observe([this](event const& e) { on_event(e); });
    asio::co_spawn(executor_, process_loop(), log_exception{"D-Bus"});
}

void dbus_adaptor::stop() {
    stopped_ = true;
    subscription_ = {};
    bus_fd_.cancel();
    timeout_.cancel();
}

awaitable<void> dbus_adaptor::process_loop() {
    while (!stopped_) {
        int r;
        while ((r = sd_bus_process(bus_, nullptr)) > 0) {
        }
        if (r < 0) {
            log(log_level::error, "D-Bus connection lost: ", std::strerror(-r));
            co_return;
        }
        int const events = sd_bus_get_events(bus_);
        std::uint64_t usec = UINT64_MAX;
        sd_bus_get_timeout(bus_, &usec);
        // sd-bus gives an absolute CLOCK_MONOTONIC time, which is what steady_clock is on Linux.
        if (usec == UINT64_MAX)
            timeout_.expires_at(asio::steady_timer::time_point::max());
        else
            timeout_.expires_at(asio::steady_timer::time_point(std::chrono::microseconds(usec)));
        auto readable = bus_fd_.async_wait(asio::posix::descriptor_base::wait_read, use_nothrow);
        if (events & POLLOUT)
            co_await (std::move(readable) ||
                      bus_fd_.async_wait(asio::posix::descriptor_base::wait_write, use_nothrow) ||
                      timeout_.async_wait(use_nothrow));
        else
            co_await (std::move(readable) || timeout_.async_wait(use_nothrow));
    }
}

int dbus_adaptor::method_send(sd_bus_message* m, void* self, sd_bus_error* error) {
    char const* text = nullptr;
    if (int r = sd_bus_message_read(m, "s", &text); r < 0) return r;
    auto sent = self_of(self).node_.send(text);
    if (!sent) return set_error(error, sent.error());
    return sd_bus_reply_method_return(m, "s", sent->id.c_str());
}

int dbus_adaptor::method_rename(sd_bus_message* m, void* self, sd_bus_error* error) {
    char const* name = nullptr;
    if (int r = sd_bus_message_read(m, "s", &name); r < 0) return r;
    auto renamed = self_of(self).node_.rename(name);
    if (!renamed) return set_error(error, renamed.error());
    return sd_bus_reply_method_return(m, "");
}

int dbus_adaptor::method_join(sd_bus_message* m, void* self, sd_bus_error* error) {
    char const* text = nullptr;
    if (int r = sd_bus_message_read(m, "s", &text); r < 0) return r;
    auto contact = parse_address(text);
    if (!contact || contact->port == 0)
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "not HOST[:PORT]: '%s'", text);
    // Joining waits on the network: reply later, from a coroutine, holding a ref to the call.
    auto& adaptor = self_of(self);
    asio::co_spawn(adaptor.executor_, adaptor.finish_join(sd_bus_message_ref(m), text),
                   log_exception{"D-Bus join"});
    return 1;
}

awaitable<void> dbus_adaptor::finish_join(sd_bus_message* call, std::string address_text) {
    auto const contact = *parse_address(address_text);  // validated by method_join
    auto const result = co_await node_.join(contact);
    if (result) {
        sd_bus_reply_method_return(call, "u", static_cast<std::uint32_t>(*result));
    } else {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        set_error(&error, result.error());
        sd_bus_reply_method_error(call, &error);
        sd_bus_error_free(&error);
    }
    sd_bus_message_unref(call);
    timeout_.cancel();  // the reply waits in sd-bus's queue: let the loop flush it
}

int dbus_adaptor::method_leave(sd_bus_message* m, void* self, sd_bus_error*) {
    auto const told = self_of(self).node_.leave();
    return sd_bus_reply_method_return(m, "u", static_cast<std::uint32_t>(told));
}

int dbus_adaptor::method_peers(sd_bus_message* m, void* self, sd_bus_error*) {
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

int dbus_adaptor::get_property(sd_bus*, char const*, char const*, char const* property,
                               sd_bus_message* reply, void* self, sd_bus_error*) {
    auto const status = self_of(self).node_.status();
    auto const& me = status.node.self;
    std::string_view const p = property;
    if (p == "PeerCount")
        return sd_bus_message_append(reply, "u", static_cast<std::uint32_t>(status.node.peers));
    std::string const& value = p == "NodeId" ? me.id : p == "Name" ? me.name : me.addr;
    return sd_bus_message_append(reply, "s", value.c_str());
}

void dbus_adaptor::on_event(event const& e) {
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
            } else {
                static_assert(std::is_same_v<T, engine::peer_renamed>);
                sd_bus_emit_signal(bus_, dbus_path, dbus_interface, "PeerRenamed", "sss",
                                   ev.peer.id.c_str(), ev.old_name.c_str(), ev.peer.name.c_str());
            }
            sd_bus_emit_properties_changed(bus_, dbus_path, dbus_interface, "PeerCount", "Name",
                                           nullptr);
        },
        e.what);
    // Signals wait in sd-bus's write queue: wake the loop so it waits for POLLOUT and flushes.
    timeout_.cancel();
}

}  // namespace p2pchat::daemon
