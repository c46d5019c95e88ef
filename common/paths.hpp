#pragma once
// Default locations shared by p2pchatd and p2pchatctl, so both agree without configuration.
// Reads the environment; only private_socket_dir_problem() looks at the file system.
#include <string>

namespace p2pchat {

// P2PCHAT_SOCKET; else /run/p2pchatd.sock for root; else $XDG_RUNTIME_DIR/p2pchatd.sock;
// else /tmp/p2pchat-$UID/p2pchatd.sock, in a directory of its own (see below).
std::string default_socket_path();

// /tmp is writable by everyone: another user could create our socket path first and answer
// in the daemon's place. So the fallback socket lives in a directory that must belong to us
// and be closed to everyone else (mode 0700). For a socket path inside that directory:
// creates the directory when `create` (the daemon) and it is missing, and returns what is
// wrong with it (another owner, a wider mode, not a directory), or an empty string. Paths
// elsewhere are the user's or systemd's choice and are not checked.
std::string private_socket_dir_problem(std::string const& socket_path, bool create);

// /var/lib/p2pchat for root; else $XDG_STATE_HOME/p2pchat or ~/.local/state/p2pchat.
std::string default_state_dir();

// The login name, for the default screen name ("p2pchat" when none can be found).
std::string default_screen_name();

}  // namespace p2pchat
