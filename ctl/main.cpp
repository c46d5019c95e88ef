// p2pchatctl: the command-line client of p2pchatd. A flat main(): global options, then one
// command function. See p2pchatctl(1).
#include <csignal>
#include <span>
#include <string>
#include <string_view>

#include "common/paths.hpp"
#include "common/rpc/rpc.hpp"
#include "ctl/commands.hpp"

using namespace p2pchat;
using namespace p2pchat::ctl;

int main(int argc, char** argv) {
    // Write errors are handled where they happen (EPIPE ends tail quietly), never by dying.
    std::signal(SIGPIPE, SIG_IGN);

    context ctx;
    std::span<char const* const> args(argv + 1, argc > 0 ? static_cast<std::size_t>(argc - 1) : 0);
    bool socket_given = false;
    while (!args.empty()) {
        std::string_view a = args.front();
        if (a == "-h" || a == "--help") {
            (void)print(overview_help());
            return rpc::exit_status::ok;
        }
        if (a == "--version") {
            (void)print("p2pchatctl " P2PCHAT_VERSION "\n");
            return rpc::exit_status::ok;
        }
        if (a == "--socket" || a.starts_with("--socket=")) {
            if (a == "--socket") {
                if (args.size() < 2)
                    return report(usage_error("", "option --socket needs a value"));
                ctx.socket_path = args[1];
                args = args.subspan(2);
            } else {
                ctx.socket_path = a.substr(9);
                args = args.subspan(1);
            }
            socket_given = true;
            continue;
        }
        if (a.starts_with("-")) return report(usage_error("", "unknown option " + std::string(a)));
        break;
    }
    if (args.empty()) {
        report(failure{rpc::exit_status::usage, "no command given (see p2pchatctl --help)"});
        return rpc::exit_status::usage;
    }
    if (!socket_given) ctx.socket_path = default_socket_path();

    std::string_view name = args.front();
    args = args.subspan(1);
    if (name == "help") {
        if (args.empty()) {
            (void)print(overview_help());
            return rpc::exit_status::ok;
        }
        command const* c = find_command(args.front());
        if (!c)
            return report(usage_error("", "unknown command '" + std::string(args.front()) + "'"));
        (void)print(command_help(*c));
        return rpc::exit_status::ok;
    }
    command const* c = find_command(name);
    if (!c) return report(usage_error("", "unknown command '" + std::string(name) + "'"));
    return c->run(ctx, args);
}
