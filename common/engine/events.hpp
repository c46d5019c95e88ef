#pragma once
// What the node tells its observers (the control socket's `event` notifications, D-Bus
// signals, the service status): typed here, turned into JSON or D-Bus values only by the
// front end that speaks that format.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/wire/messages.hpp"

namespace p2pchat::engine {

// How a peer looks from this node: `connecting` is a known live peer whose link is not up;
// `suspect` one that failed its probes, direct and indirect, and has not refuted it yet.
enum class peer_status { self, alive, connecting, left, suspect };
std::string_view to_string(peer_status s);

enum class leave_reason { left, unreachable };
std::string_view to_string(leave_reason r);

struct peer_view {
    std::string id;
    std::string name;
    std::string address;
    std::uint64_t incarnation = 0;
    peer_status status = peer_status::alive;
    // When this node last heard from the peer itself (a frame on a connection the peer's
    // handshake proved), Unix ms on this node's clock; 0: never (or not kept, as for self).
    std::int64_t last_seen_ms = 0;

    friend bool operator==(peer_view const&, peer_view const&) = default;
};

// A chat message shown for the first time: received from a peer, or sent by this node.
// `late`: it came in a history (a welcome's, or a sync after a fault) rather than live from
// its author, so it may belong earlier in the history order than what was shown before it.
struct message_arrived {
    wire::chat_msg chat;
    bool self = false;
    bool late = false;
};
struct peer_joined {
    peer_view peer;
};
// Also this node itself, when it leaves the network.
struct peer_left {
    peer_view peer;
    leave_reason reason = leave_reason::left;
};
struct peer_renamed {
    peer_view peer;
    std::string old_name;
};

// A member a message of this node was meant for: alive when it was sent.
// `removed`: it left the table before it stored the message.
struct delivery_member {
    std::string id;
    std::string name;
    bool removed = false;

    friend bool operator==(delivery_member const&, delivery_member const&) = default;
};
// Messages first_seq..seq of this node settled alike (docs/PROTOCOL.md, "Delivery"): every
// member alive when each was sent stored it (`missing` empty), or these had not when this
// node gave up on them. `members`: how many members each was sent to. `settled` is false
// only in a status asked for a message still waiting (`missing`: who has not stored it yet).
struct message_delivery {
    std::string origin;
    std::uint64_t first_seq = 0;
    std::uint64_t seq = 0;
    std::size_t members = 0;
    std::vector<delivery_member> missing;
    bool settled = true;

    bool delivered() const { return missing.empty(); }
    friend bool operator==(message_delivery const&, message_delivery const&) = default;
};

using node_event =
    std::variant<message_arrived, peer_joined, peer_left, peer_renamed, message_delivery>;

}  // namespace p2pchat::engine
