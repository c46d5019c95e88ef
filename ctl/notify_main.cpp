// p2pchat-notify: posts incoming chat messages as desktop notifications
// (org.freedesktop.Notifications on the user's session bus, through sd-bus). A separate
// program, so that p2pchatctl keeps needing nothing but libc. It follows one daemon like
// `p2pchatctl tail`, reconnecting when the daemon restarts; what to post is decided by
// notify_policy. See p2pchat-notify(1); the user unit is p2pchat-notify.service.
#include <poll.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/paths.hpp"
#include "common/rpc/rpc.hpp"
#include "ctl/args.hpp"
#include "ctl/format.hpp"
#include "ctl/notify_policy.hpp"
#include "ctl/output.hpp"
#include "ctl/rpc_client.hpp"

using namespace p2pchat;
using namespace p2pchat::ctl;
namespace json = boost::json;

namespace {

volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int sig) { stop_signal = sig; }

constexpr std::string_view help_text =
    "Usage: p2pchat-notify [--socket PATH] [--mentions] [--coalesce SECONDS]\n"
    "                      [--burst N] [--window SECONDS]\n"
    "Posts incoming p2pchat messages as desktop notifications on the session bus.\n"
    "\n"
    "Options:\n"
    "  --socket PATH       the daemon's control socket (default as p2pchatctl)\n"
    "  --mentions          only messages that mention your screen name\n"
    "  --coalesce SECONDS  messages from one sender this close together replace its\n"
    "                      notification (default 10; 0: one notification each)\n"
    "  --burst N           at most N notifications per window (default 5) ...\n"
    "  --window SECONDS    ... of this many seconds (default 10); the rest are summed up\n"
    "  -h, --help          this help\n"
    "  --version           print the version\n"
    "None are posted for your own messages. See p2pchat-notify(1).\n";

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void say(std::string const& line) {
    (void)write_all(STDERR_FILENO, "p2pchat-notify: " + line + "\n");
}

int usage(std::string const& what) {
    say(what + " (see p2pchat-notify --help)");
    return rpc::exit_status::usage;
}

std::optional<std::int64_t> number(std::string_view s, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < min || v > max)
        return std::nullopt;
    return v;
}

// The user's notification server, through sd-bus. Calls are synchronous with a short
// timeout: this client has nothing else to keep alive while a server answers.
class desktop {
  public:
    ~desktop() { sd_bus_flush_close_unref(bus_); }

    std::optional<std::string> open() {
        int r = sd_bus_open_user(&bus_);
        if (r < 0) return std::string("cannot connect to the session bus: ") + std::strerror(-r);
        return std::nullopt;
    }

    // Posts n; the server's id, or 0 when it failed (said once until it works again).
    std::uint32_t post(desktop_notification const& n) {
        sd_bus_message* call = nullptr;
        sd_bus_message* reply = nullptr;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        std::uint32_t id = 0;
        int r = sd_bus_message_new_method_call(bus_, &call, "org.freedesktop.Notifications",
                                               "/org/freedesktop/Notifications",
                                               "org.freedesktop.Notifications", "Notify");
        if (r >= 0)
            r = sd_bus_message_append(call, "susssas", "p2pchat", n.replaces, "", n.summary.c_str(),
                                      n.body.c_str(), 0);
        // Hints: a chat message (notification servers group and sound them), normal urgency.
        if (r >= 0)
            r = sd_bus_message_append(call, "a{sv}", 2, "category", "s", "im.received", "urgency",
                                      "y", static_cast<std::uint8_t>(1));
        if (r >= 0) r = sd_bus_message_append(call, "i", -1);
        if (r >= 0) r = sd_bus_call(bus_, call, 5'000'000, &error, &reply);
        if (r >= 0) r = sd_bus_message_read(reply, "u", &id);
        if (r < 0) {
            if (!failing_)
                say(std::string("cannot post a notification: ") +
                    (error.message ? error.message : std::strerror(-r)));
            failing_ = true;
            id = 0;
        } else {
            if (failing_) say("posting notifications again");
            failing_ = false;
        }
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(call);
        return id;
    }

  private:
    sd_bus* bus_ = nullptr;
    bool failing_ = false;
};

void post(desktop& d, notify_policy& policy, desktop_notification const& n) {
    if (auto id = d.post(n)) policy.posted(n.key, id, now_ms());
}

// Follows one connection to the daemon until it is lost (returns nullopt) or something ends
// the program (its exit status).
std::optional<int> follow(rpc_client& client, desktop& d, notify_policy& policy) {
    auto const failed = [](failure const& f) -> std::optional<int> {
        if (is_connection_lost(f)) return std::nullopt;
        return report(f);
    };
    auto st = client.call("status", {}, 10'000);
    if (!st) return failed(st.error());
    if (!st->is_object()) return report(unexpected_reply("status"));
    policy.set_self_name(std::string(string_field(st->as_object(), "name")));
    name_book names;
    if (auto peers = client.call("peers"); peers && peers->is_object())
        if (auto const* arr = peers->as_object().if_contains("peers"); arr && arr->is_array())
            names.learn_peers(arr->as_array());
    if (auto sub = client.call("subscribe", {{"backlog", 0}}); !sub) return failed(sub.error());

    for (;;) {
        if (stop_signal) return 0;
        for (;;) {
            auto m = client.next_message();
            if (!m) return failed(m.error());
            if (!*m) break;
            auto* n = std::get_if<ctl::notification>(&**m);
            if (!n || !n->params.is_object()) continue;
            json::object const& ev = n->params.as_object();
            if (n->method == "error")
                return report(failure{rpc::exit_status_for(static_cast<int>(int_field(ev, "code"))),
                                      std::string(string_field(ev, "message"))});
            if (n->method != "event") continue;
            names.learn_event(ev);
            if (string_field(ev, "type") == "peer_renamed") {
                auto const* peer = ev.if_contains("peer");
                if (peer && peer->is_object()) {
                    auto const* self = peer->as_object().if_contains("self");
                    if (self && self->is_bool() && self->as_bool())
                        policy.set_self_name(std::string(string_field(peer->as_object(), "name")));
                }
            }
            if (auto note = policy.on_message(ev, names, now_ms())) post(d, policy, *note);
        }
        if (auto note = policy.on_tick(now_ms())) post(d, policy, *note);
        auto const tick = policy.next_tick_in(now_ms());
        pollfd p{client.fd(), POLLIN, 0};
        int const timeout =
            tick < 0 ? -1 : static_cast<int>(std::min<std::int64_t>(tick + 1, 60'000));
        if (::poll(&p, 1, timeout) < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (p.revents != 0)
            if (auto r = client.on_readable(); !r) return failed(r.error());
    }
}

int run(int argc, char** argv) {
    static constexpr option_spec specs[] = {{"mentions", 0, false},
                                            {"coalesce", 0, true},
                                            {"burst", 0, true},
                                            {"window", 0, true},
                                            {"version", 0, false}};
    std::span<char const* const> args(argv + 1, argc > 0 ? static_cast<std::size_t>(argc - 1) : 0);
    auto a = parse_args(args, specs, "");
    if (!a) {
        say(a.error().message.substr(0, a.error().message.rfind(" (see")) +
            " (see p2pchat-notify --help)");
        return rpc::exit_status::usage;
    }
    if (a->help) {
        (void)write_all(STDOUT_FILENO, help_text);
        return 0;
    }
    if (a->has("version")) {
        (void)write_all(STDOUT_FILENO, "p2pchat-notify " P2PCHAT_VERSION "\n");
        return 0;
    }
    if (!a->positionals.empty())
        return usage("unexpected argument '" + std::string(a->positionals.front()) + "'");
    notify_settings settings;
    settings.mentions_only = a->has("mentions");
    struct bound {
        char const* name;
        std::int64_t min, max, scale;
        std::int64_t* out;
    };
    std::int64_t burst = static_cast<std::int64_t>(settings.burst);
    for (auto const& b : {bound{"coalesce", 0, 3600, 1000, &settings.coalesce_ms},
                          bound{"burst", 1, 1000, 1, &burst},
                          bound{"window", 1, 3600, 1000, &settings.window_ms}}) {
        auto it = a->options.find(b.name);
        if (it == a->options.end()) continue;
        auto v = number(it->second, b.min, b.max);
        if (!v)
            return usage(std::string("--") + b.name + " wants a whole number from " +
                         std::to_string(b.min) + " to " + std::to_string(b.max) + ", not '" +
                         std::string(it->second) + "'");
        *b.out = *v * b.scale;
    }
    settings.burst = static_cast<std::size_t>(burst);
    std::string const socket =
        a->has("socket") ? std::string(a->options.at("socket")) : default_socket_path();

    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    desktop d;
    if (auto problem = d.open()) {
        say(*problem);
        return rpc::exit_status::unavailable;
    }
    notify_policy policy(settings);
    bool waiting_said = false;
    int wait_ms = 100;
    while (!stop_signal) {
        auto client = rpc_client::connect(socket, rpc::exit_status::unavailable);
        if (!client) {
            if (client.error().status != rpc::exit_status::unavailable)
                return report(client.error());
            if (!waiting_said) say("waiting for p2pchatd on " + socket);
            waiting_said = true;
            ::poll(nullptr, 0, wait_ms);
            wait_ms = std::min(wait_ms * 2, 5000);
            continue;
        }
        if (waiting_said) say("following p2pchatd on " + socket);
        waiting_said = false;
        wait_ms = 100;
        if (auto done = follow(*client, d, policy)) return *done;
        say("p2pchatd went away; reconnecting");
        waiting_said = true;
    }
    return 0;
}

}  // namespace

// The one-line error report of the ctl helpers (rpc_client, args), with this program's name.
int p2pchat::ctl::report(failure const& f) {
    if (!f.message.empty()) say(f.message);
    return f.status;
}

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    return run(argc, argv);
}
