// p2pchatd: one node of the p2pchat network. A flat run(): options, identity, the node and
// its front ends on one io_context, until SIGTERM/SIGINT.
#include <malloc.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <optional>

#include "common/rpc/rpc.hpp"
#include "daemon/control_server.hpp"
#include "daemon/dbus_adaptor.hpp"
#include "daemon/log.hpp"
#include "daemon/node.hpp"
#include "daemon/service_notifier.hpp"

namespace {

using namespace p2pchat::daemon;

awaitable<void> stop_on_signal(asio::signal_set& signals, node& node, control_server& control,
                               service_notifier& notifier, std::optional<dbus_adaptor>& dbus) {
    auto [ec, signal] = co_await signals.async_wait(use_nothrow);
    if (ec) co_return;
    log(log_level::notice, "signal ", signal, " received; leaving the network");
    // A second signal while saying goodbye stops at once.
    signals.async_wait([](boost::system::error_code e, int) {
        if (!e) std::_Exit(1);
    });
    notifier.stopping();
    control.stop_accepting();  // followers still see the goodbye below
    if (dbus) dbus->stop();
    co_await node.shutdown();
    control.stop();
    signals.get_executor().target<asio::io_context::executor_type>()->context().stop();
}

int run(int argc, char const* const argv[]) {
    auto parsed = parse_options(argc, argv);
    if (!parsed.run) {
        std::fputs(parsed.output.c_str(), stdout);
        return parsed.exit_status;
    }
    options const& opts = *parsed.run;
    set_log_level(opts.level);

    // One malloc arena for the io thread and the store's writer: a second arena keeps about
    // 0.5 MiB resident in an idle daemon and buys nothing for two threads that rarely
    // allocate at the same moment (docs/BENCHMARKS.md, B5).
    mallopt(M_ARENA_MAX, 1);
    auto identity = load_or_create_identity(opts.state_dir);
    asio::io_context io(1);
    node node(io.get_executor(), opts, std::move(identity));
    int const activated = inherited_control_socket();
    auto control = activated >= 0 ? control_server(io.get_executor(), node, activated)
                                  : control_server(io.get_executor(), node, opts.socket_path);
    service_notifier notifier(io.get_executor(), node);
    asio::signal_set signals(io, SIGINT, SIGTERM);

    std::optional<dbus_adaptor> dbus;
    if (opts.dbus != bus_kind::none) dbus.emplace(io.get_executor(), node, opts.dbus);

    node.start();
    control.start();
    if (dbus) dbus->start();
    asio::co_spawn(io, stop_on_signal(signals, node, control, notifier, dbus),
                   log_exception{"signal handler"});
    notifier.ready();
    auto const& me = node.status().node.self;
    log(log_level::notice, "p2pchatd ", P2PCHAT_VERSION, " ready: ", me.name, " (",
        me.id.substr(0, 8), ") listening on ", me.addr, ", control socket ", node.socket_path());
    io.run();
    log(log_level::notice, "stopped");
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    try {
        return run(argc, argv);
    } catch (usage_error const& e) {
        std::fprintf(stderr, "p2pchatd: %s\nTry 'p2pchatd --help'.\n", e.what());
        return p2pchat::rpc::exit_status::usage;
    } catch (std::exception const& e) {
        std::fprintf(stderr, "p2pchatd: %s\n", e.what());
        return 1;
    }
}
