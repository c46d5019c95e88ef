#include "ctl/commands.hpp"

#include <unistd.h>

#include <cstdio>

#include "common/rpc/rpc.hpp"
#include "ctl/output.hpp"

namespace p2pchat::ctl {

namespace {

// A constexpr table: no start-up cost, and help, dispatch and completion stay in step.
constexpr command command_table[] = {
    {"send", run_send, "send [--wait[=TIMEOUT]] [TEXT...]", "send a chat message",
     "Sends TEXT (the words joined by one space) to every peer. With no TEXT, or TEXT \"-\",\n"
     "sends one message per line of standard input until end of file, pipelined over one\n"
     "connection; blank lines are skipped, lines that are not valid UTF-8 are reported and\n"
     "skipped (exit 65 at the end). Prints nothing on success. A blank TEXT is a usage\n"
     "error (64). When the node has no peers, says that nobody received it (exit 75).\n"
     "  -w, --wait[=TIMEOUT]  return once every member alive at send time has stored the\n"
     "                        message (default 10 s; 2.5, 500ms, 1m); if one has not, name\n"
     "                        those that have not and exit 4\n"},
    {"tail", run_tail, "tail [-f|--no-follow] [-n N|all] [--since WHEN] [--until WHEN] [--json]",
     "print the last messages and follow new ones",
     "Options:\n"
     "  -f, --follow        follow new events (the default, unless --until is given)\n"
     "      --no-follow     print the backlog and exit\n"
     "  -n, --lines N|all   events of backlog to print first (default 10)\n"
     "  -S, --since WHEN    print every event from WHEN on instead\n"
     "  -U, --until WHEN    stop at WHEN (implies --no-follow unless -f is given)\n"
     "      --json          one event object per line (see p2pchatctl(1))\n"
     "WHEN is an event number (42), a time or date in local time (14:00, 2026-11-25,\n"
     "\"2026-11-25 14:00\", today, yesterday) or an age (10m, 2h, 3d, \"1 hour ago\", -10m).\n"
     "Messages are shown and filtered by their send time, with the date when not today.\n"
     "Lines are flushed one by one; a closed output (tail | head) ends quietly.\n"},
    {"history", run_history,
     "history [-n N|all] [--since TIME] [--until TIME] [--from WHO] [--grep TEXT] [--json]",
     "print the stored messages in the order every node shares",
     "Prints the newest messages the node has stored that match, oldest first, in history\n"
     "order (Lamport time, then author id): the same order on every node that holds them.\n"
     "Options:\n"
     "  -n, --lines N|all   the newest N that match (default 100)\n"
     "  -S, --since TIME    sent at or after TIME (the author's clock)\n"
     "  -U, --until TIME    sent at or before TIME\n"
     "      --from WHO      by one author: a screen name (its current one), a node id, or\n"
     "                      the start of one (at least 4 hex digits, e.g. the short id)\n"
     "      --grep TEXT     whose text contains TEXT, ignoring ASCII case\n"
     "      --json          one message object per line, as tail --json prints them, with\n"
     "                      sent_ms (sent) and time_ms (arrived here)\n"
     "TIME is a time or date in local time (14:00, 2026-11-25, \"2026-11-25 14:00\", today,\n"
     "yesterday) or an age (10m, 2h, 3d, \"1 hour ago\", -10m).\n"},
    {"peers", run_peers, "peers [--json]", "list the peers of this node",
     "Prints ID NAME ADDRESS STATE, this node first.\n"
     "  --json   the peers result object on one line: {\"peers\":[...]}\n"},
    {"rename", run_rename, "rename NAME", "change this node's screen name",
     "NAME: 1-64 bytes of UTF-8 without control characters. Every peer is told.\n"},
    {"join", run_join, "join HOST[:PORT]|INVITE", "join a network through one of its peers",
     "PORT defaults to 7447; IPv6 as [ADDR]:PORT. An INVITE (from `p2pchatctl invite` on a\n"
     "member) also gives the network key a closed network needs. Prints \"joined: N peers\".\n"
     "A malformed address or invite is a usage error (64).\n"},
    {"invite", run_invite, "invite [--address HOST[:PORT]] [--new-key]",
     "print an invite to this network",
     "Prints one line, p2pchat:KEY@HOST:PORT, that `p2pchatctl join` and p2pchatd(8) at start-up\n"
     "accept: the network key and this node's address (or --address). On an open network\n"
     "it first creates a key, hands it to every peer, and the network is closed from then on.\n"
     "Anyone with the invite can join and read: give it only to whom it is meant for.\n"
     "--new-key rotates the key: this node leaves its network and starts a new one under a\n"
     "new key; the others leave theirs and join with the new invite.\n"},
    {"leave", run_leave, "leave", "say goodbye to every peer (the daemon stays up, alone)", ""},
    {"status", run_status, "status [--json]", "show the daemon's state",
     "Exit status 3 when no daemon is running.\n"
     "  --json   the status result object on one line\n"},
    {"chat", run_chat, "chat", "the interactive chat room",
     "Messages appear as they arrive while you type; Enter sends. The line is edited as in\n"
     "irssi or bash: Left/Right, Ctrl-Left/Right, Home/End, Up/Down (history, kept in\n"
     "$XDG_STATE_HOME/p2pchat/chat_history), Tab (names), Ctrl-W/U/K/Y, Ctrl-L.\n"
     "Commands: /name NEW, /me ACTION, /peers, /join HOST[:PORT], /leave, /history [N],\n"
     "/help, /quit (start a message with // to send a line beginning with /). A paste of\n"
     "4 lines or more asks first. Ctrl-C or Ctrl-D on an empty line quits. Asks for a\n"
     "screen name first while the node still has its default one (the login name).\n"},
};

}  // namespace

std::span<command const> commands() { return command_table; }

command const* find_command(std::string_view name) {
    for (auto const& c : command_table)
        if (c.name == name) return &c;
    return nullptr;
}

std::string overview_help() {
    std::string out =
        "Usage: p2pchatctl [--socket PATH] COMMAND [ARGS...]\n"
        "Control a p2pchatd peer-to-peer chat daemon.\n\nCommands:\n";
    for (auto const& c : command_table) {
        out += "  ";
        out += c.name;
        out.append(c.name.size() < 8 ? 8 - c.name.size() : 1, ' ');
        out += c.summary;
        out += '\n';
    }
    out +=
        "\nOptions:\n"
        "  --socket PATH   control socket (default: $P2PCHAT_SOCKET, /run/p2pchatd.sock as\n"
        "                  root, else $XDG_RUNTIME_DIR/p2pchatd.sock)\n"
        "  -h, --help      this help; p2pchatctl help COMMAND or COMMAND --help for one\n"
        "  --version       print the version\n"
        "\nExit status: 0 ok, 1 refused by the daemon, 3 status: not running, 4 send --wait:\n"
        "not stored by every member in time, 64 usage,\n"
        "65 bad input data, 69 daemon unreachable, 70 protocol error, 74 connection lost,\n"
        "75 send: nobody received it (no peers), 77 permission denied on the socket.\n";
    return out;
}

std::string command_help(command const& c) {
    std::string out = "Usage: p2pchatctl [--socket PATH] ";
    out += c.synopsis;
    out += "\n";
    out += c.summary;
    out += ".\n";
    if (!c.details.empty()) {
        out += "\n";
        out += c.details;
    }
    return out;
}

bool handle_common(context& ctx, parsed_args const& a, std::string_view command) {
    if (auto it = a.options.find("socket"); it != a.options.end()) ctx.socket_path = it->second;
    if (!a.help) return false;
    if (auto const* c = find_command(command)) (void)print(command_help(*c));
    return true;
}

result<rpc_client> connect(context const& ctx) {
    return rpc_client::connect(ctx.socket_path, rpc::exit_status::unavailable);
}

result<void> print(std::string_view text) {
    switch (write_all(STDOUT_FILENO, text)) {
        case write_status::ok:
            return {};
        case write_status::closed:
            return failure{rpc::exit_status::ok, ""};
        case write_status::failed:
            return failure{rpc::exit_status::io_error, "cannot write to standard output"};
    }
    return {};
}

int report(failure const& f) {
    if (!f.message.empty()) {
        std::string line = "p2pchatctl: " + f.message + "\n";
        (void)write_all(STDERR_FILENO, line);
    }
    return f.status;
}

}  // namespace p2pchat::ctl
