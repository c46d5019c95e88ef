#pragma once
// The node's Ed25519 identity (libsodium), kept in <state-dir>/identity (mode 0600).
#include <array>
#include <filesystem>
#include <string>

namespace p2pchat::daemon {

struct node_identity {
    std::string id;  // public key, lowercase hex (the node id)
    std::array<unsigned char, 64> secret_key{};
};

// Loads the key, or creates the state directory (0700) and a new key on first start.
// Throws std::runtime_error with a one-line reason on failure (start-up error).
node_identity load_or_create_identity(std::filesystem::path const& state_dir);

}  // namespace p2pchat::daemon
