#pragma once
// Where the node's network key comes from (docs/SECURITY.md, "Network keys"), in this order:
//   --network-key FILE                    the administrator's; never replaced at run time
//   $CREDENTIALS_DIRECTORY/network.key    systemd's LoadCredential=, likewise
//   <state-dir>/network.key               written by the node: an invite it made or took
// and with none of them the network is open, unless --network=closed, which makes a first
// node create a key in its state directory. A key file holds the key as one line of
// unpadded base64url, and must not be readable by anyone but its owner.
#include <filesystem>

#include "common/crypto/secure_channel.hpp"
#include "daemon/options.hpp"

namespace p2pchat::daemon {

struct network_key_source {
    crypto::network_key key;     // open_network_key() when none
    std::filesystem::path file;  // where it came from, or where a new one goes
    bool fixed = false;          // from the administrator: not replaced by invites
    bool created = false;        // made just now (--network=closed on a first start)
};

// Start-up: throws std::runtime_error with one line (missing or unreadable file, a file
// others can read, a file that does not hold a key).
network_key_source load_network_key(options const& opts);

// Writes `key` to `file` (mode 0600, through a temporary file and a rename). Returns the
// error's text, or an empty string.
std::string store_network_key(std::filesystem::path const& file, crypto::key const& key);

}  // namespace p2pchat::daemon
