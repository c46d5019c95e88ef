#pragma once
// Default locations shared by p2pchatd and p2pchatctl, so both agree without configuration.
// Reads the environment; touches no files.
#include <string>

namespace p2pchat {

// P2PCHAT_SOCKET; else /run/p2pchatd.sock for root; else $XDG_RUNTIME_DIR/p2pchatd.sock;
// else /tmp/p2pchatd-$UID.sock.
std::string default_socket_path();

// /var/lib/p2pchat for root; else $XDG_STATE_HOME/p2pchat or ~/.local/state/p2pchat.
std::string default_state_dir();

// The login name, for the default screen name ("p2pchat" when none can be found).
std::string default_screen_name();

}  // namespace p2pchat
