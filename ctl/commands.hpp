#pragma once
// The p2pchatctl commands: one function each, taking the arguments after the command name
// and returning the exit status (having printed any error line itself).
#include <span>
#include <string>
#include <string_view>

#include "ctl/args.hpp"
#include "ctl/failure.hpp"
#include "ctl/rpc_client.hpp"

namespace p2pchat::ctl {

struct context {
    std::string socket_path;  // --socket, P2PCHAT_SOCKET, or the default
};

using args_t = std::span<char const* const>;

int run_send(context& ctx, args_t args);
int run_tail(context& ctx, args_t args);
int run_history(context& ctx, args_t args);
int run_peers(context& ctx, args_t args);
int run_rename(context& ctx, args_t args);
int run_join(context& ctx, args_t args);
int run_invite(context& ctx, args_t args);
int run_leave(context& ctx, args_t args);
int run_status(context& ctx, args_t args);
int run_chat(context& ctx, args_t args);

struct command {
    std::string_view name;
    int (*run)(context&, args_t);
    std::string_view synopsis;  // after "p2pchatctl "
    std::string_view summary;   // one line for the overview
    std::string_view details;   // options and behaviour for CMD --help
};

std::span<command const> commands();
command const* find_command(std::string_view name);

// The overview (p2pchatctl --help) and one command's help (p2pchatctl CMD --help).
std::string overview_help();
std::string command_help(command const& c);

// Shared steps of every command: apply --socket, print help when asked (returns true
// when the command should stop with status 0), connect.
bool handle_common(context& ctx, parsed_args const& a, std::string_view command);
result<rpc_client> connect(context const& ctx);

// The params of a `join` call for what the user typed (join ADDRESS, /join ADDRESS), or a
// usage failure saying why it is not an address. The one place invites will be added.
result<boost::json::object> join_params(std::string_view target);

// Writes text to stdout; a closed pipe or a write error becomes a failure (status 0 and no
// message for EPIPE, so `| head` ends quietly; 74 otherwise).
result<void> print(std::string_view text);

}  // namespace p2pchat::ctl
