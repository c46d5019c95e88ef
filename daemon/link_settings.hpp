#pragma once
// What every peer connection needs: this node's identity and the network key for its
// handshake, the address its own connections leave from, and the memory they may hold. Owned by the
// node; the listener, the links and joins read it at each connection, so a network key adopted at
// run time (an invite) applies to every connection opened afterwards.
#include <memory>
#include <optional>

#include "common/crypto/secure_channel.hpp"
#include "daemon/asio.hpp"
#include "daemon/memory_budget.hpp"

namespace p2pchat::daemon {

struct link_settings {
    crypto::identity_keys identity;
    crypto::network_key network;
    // The node's own listen address when it names one: outgoing connections leave from it,
    // so that peers see the address the node advertises, and a per-address limit counts
    // each node of a multi-homed host (or of a test on 127.0.0.x) on its own.
    std::optional<asio::ip::address> source;
    // What every connection's half-received records and queued frames draw on.
    std::shared_ptr<memory_budget> budget = std::make_shared<memory_budget>();
};

}  // namespace p2pchat::daemon
