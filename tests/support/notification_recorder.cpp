// A stand-in desktop notification server for tests: owns org.freedesktop.Notifications on the
// session bus (DBUS_SESSION_BUS_ADDRESS), answers as the specification says (Notify returns a
// new id, or replaces_id when that is set; GetCapabilities, GetServerInformation,
// CloseNotification) and appends every Notify call, as one JSON object per line, to the file
// named by its argument:
//   {"id":3,"replaces_id":0,"app":"p2pchat","summary":"bob","body":"hi","category":
//    "im.received","urgency":1,"timeout":-1}
// Runs until SIGTERM. usage: notification_recorder FILE
#include <systemd/sd-bus.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace {

volatile std::sig_atomic_t stop = 0;
extern "C" void on_signal(int) { stop = 1; }

std::string log_path;
std::uint32_t next_id = 1;

int notify(sd_bus_message* m, void*, sd_bus_error*) {
    char const *app = nullptr, *icon = nullptr, *summary = nullptr, *body = nullptr;
    std::uint32_t replaces = 0;
    int r = sd_bus_message_read(m, "susss", &app, &replaces, &icon, &summary, &body);
    if (r < 0) return r;
    if ((r = sd_bus_message_skip(m, "as")) < 0) return r;
    boost::json::object rec;
    if ((r = sd_bus_message_enter_container(m, 'a', "{sv}")) < 0) return r;
    while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
        char const* key = nullptr;
        if ((r = sd_bus_message_read(m, "s", &key)) < 0) return r;
        char const* contents = nullptr;
        if ((r = sd_bus_message_peek_type(m, nullptr, &contents)) < 0) return r;
        if ((r = sd_bus_message_enter_container(m, 'v', contents)) < 0) return r;
        if (std::strcmp(contents, "s") == 0) {
            char const* s = nullptr;
            if ((r = sd_bus_message_read(m, "s", &s)) < 0) return r;
            rec[key] = s;
        } else if (std::strcmp(contents, "y") == 0) {
            std::uint8_t y = 0;
            if ((r = sd_bus_message_read(m, "y", &y)) < 0) return r;
            rec[key] = y;
        } else if ((r = sd_bus_message_skip(m, contents)) < 0) {
            return r;
        }
        if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // v
        if ((r = sd_bus_message_exit_container(m)) < 0) return r;  // e
    }
    if (r < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
    std::int32_t timeout = 0;
    if ((r = sd_bus_message_read(m, "i", &timeout)) < 0) return r;
    std::uint32_t const id = replaces != 0 ? replaces : next_id++;
    rec["id"] = id;
    rec["replaces_id"] = replaces;
    rec["app"] = app;
    rec["summary"] = summary;
    rec["body"] = body;
    rec["timeout"] = timeout;
    std::ofstream(log_path, std::ios::app) << boost::json::serialize(rec) << "\n" << std::flush;
    return sd_bus_reply_method_return(m, "u", id);
}

int capabilities(sd_bus_message* m, void*, sd_bus_error*) {
    sd_bus_message* reply = nullptr;
    int r = sd_bus_message_new_method_return(m, &reply);
    if (r >= 0) r = sd_bus_message_append(reply, "as", 1, "body");
    if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
    sd_bus_message_unref(reply);
    return r;
}

int server_information(sd_bus_message* m, void*, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "ssss", "p2pchat-test-recorder", "p2pchat", "1", "1.2");
}

int close_notification(sd_bus_message* m, void*, sd_bus_error*) {
    return sd_bus_reply_method_return(m, "");
}

sd_bus_vtable const vtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD("Notify", "susssasa{sv}i", "u", notify, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetCapabilities", "", "as", capabilities, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("GetServerInformation", "", "ssss", server_information,
                  SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_METHOD("CloseNotification", "u", "", close_notification, SD_BUS_VTABLE_UNPRIVILEGED),
    SD_BUS_VTABLE_END};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fputs("usage: notification_recorder FILE\n", stderr);
        return 64;
    }
    log_path = argv[1];
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    sd_bus* bus = nullptr;
    int r = sd_bus_open_user(&bus);
    if (r >= 0)
        r = sd_bus_add_object_vtable(bus, nullptr, "/org/freedesktop/Notifications",
                                     "org.freedesktop.Notifications", vtable, nullptr);
    if (r >= 0) r = sd_bus_request_name(bus, "org.freedesktop.Notifications", 0);
    if (r < 0) {
        std::fprintf(stderr, "notification_recorder: %s\n", std::strerror(-r));
        return 1;
    }
    while (!stop) {
        r = sd_bus_process(bus, nullptr);
        if (r < 0) break;
        if (r > 0) continue;
        sd_bus_wait(bus, 200'000);  // wakes up now and then to see SIGTERM
    }
    sd_bus_flush_close_unref(bus);
    return 0;
}
