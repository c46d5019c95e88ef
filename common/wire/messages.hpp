#pragma once
// The peer protocol's messages (docs/PROTOCOL.md) as plain structs, and their JSON codec.
// decode() validates everything a peer could get wrong; a frame that fails is malformed and
// the caller closes the connection. Unknown types decode to unknown_msg and are ignored.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace p2pchat::wire {

inline constexpr int protocol_version = 1;

enum class peer_state { alive, left };

struct peer_entry {
    std::string id;    // 64 lowercase hex digits
    std::string name;  // valid screen name
    std::string addr;  // host:port
    std::uint64_t inc = 0;
    peer_state state = peer_state::alive;
    // The owner's signature of this entry (common/crypto/signatures.hpp). A tombstone that
    // another node wrote (a peer it found unreachable) carries the owner's signature of the
    // live entry at that incarnation: proof the incarnation is the owner's own.
    std::string sig;

    friend bool operator==(peer_entry const&, peer_entry const&) = default;
};

struct chat_msg {
    std::string origin;
    std::uint64_t seq = 0;
    std::uint64_t lamport = 0;
    std::int64_t time_ms = 0;
    std::string name;
    std::string text;
    // The origin's hash chain: H(chain of its previous message || this message), which the
    // origin's seals sign (common/crypto/signatures.hpp). 43 characters of base64url.
    std::string chain;

    friend bool operator==(chat_msg const&, chat_msg const&) = default;
};

// An origin's signature over the tip of its chain: every message of that origin up to `seq`
// whose chain leads to `chain` is proven the origin's. Sent after a burst of messages.
struct seal_msg {
    std::string origin;
    std::uint64_t seq = 0;
    std::string chain;
    std::string sig;

    friend bool operator==(seal_msg const&, seal_msg const&) = default;
};

// Where a stretch of an origin's messages in a welcome's history starts: message `seq` of
// `origin` follows `chain` (the chain of the origin's message before it, which the history
// does not carry). Needs no signature: a false one breaks the hash chain the seal proves.
struct chain_anchor {
    std::string origin;
    std::uint64_t seq = 0;
    std::string chain;

    friend bool operator==(chain_anchor const&, chain_anchor const&) = default;
};

struct join_msg {
    peer_entry from;
    // Not a user's join: a member calling back a peer it removed as unreachable (the daemon's
    // reconnect). A node that left refuses it. Absent (false) in frames of older nodes.
    bool reconnect = false;
};
// For each origin, the highest seq held with none missing below it (message sync: `heads`).
struct origin_head {
    std::string origin;
    std::uint64_t seq = 0;

    friend bool operator==(origin_head const&, origin_head const&) = default;
};
struct welcome_msg {
    peer_entry from;
    std::vector<peer_entry> peers;
    std::vector<chat_msg> history;
    std::vector<seal_msg> seals;  // the newest seals of each origin in the history
    std::vector<chain_anchor> anchors;
    // The welcoming node's heads of itself and of the members it lists: where the newcomer
    // starts following each (docs/PROTOCOL.md, "Message sync"). Absent in older frames.
    std::vector<origin_head> heads;
};
struct refused_msg {
    std::string code;  // "table_full", "shutting_down"
    std::string reason;
};
struct hello_msg {
    peer_entry from;
};
struct peers_msg {
    std::vector<peer_entry> peers;
    bool full = false;
};
struct digest_msg {
    std::string hash;
    std::uint64_t count = 0;
};
struct rename_msg {
    std::string id;
    std::string name;
    std::uint64_t inc = 0;
    std::string sig;  // of the renamed entry, for the receivers to relay
};
struct leave_msg {
    std::string id;
    std::uint64_t inc = 0;
    std::string sig;  // of the tombstone, for the receivers to relay
};
// A member that closed an open network hands its new network key to the members it has.
struct network_key_msg {
    std::string key;  // 43 characters of base64url
};
// Message sync (docs/PROTOCOL.md, "Message sync"): for each origin, the highest seq the
// sender holds with none missing below it (0: none yet). The receiver sends back, in a
// `history`, what it holds beyond; and its own heads, unless `answer` is set, when the sender
// lacks less than it holds.
// `ack`: an acknowledgement (docs/PROTOCOL.md, "Delivery"): the sender stored (committed)
// the addressee's messages up to its head; the receiver notes it and answers nothing.
struct heads_msg {
    std::vector<origin_head> heads;
    bool answer = false;
    bool ack = false;
};
// Messages the receiver lacked, with the seals that prove them and the chain each stretch of
// an origin's messages starts from, as in a welcome. `more`: the sender holds more than one
// frame took; the receiver asks again.
struct history_msg {
    std::vector<chat_msg> messages;
    std::vector<seal_msg> seals;
    std::vector<chain_anchor> anchors;
    bool more = false;
};
// ---- failure detection (docs/FAILURE_DETECTION.md)
// A member's claim that `id` at incarnation `inc` did not answer its probes, direct and
// indirect. Needs no signature: receivers take it only at the incarnation they hold, and the
// suspect refutes it with a higher incarnation that it signs.
struct suspicion {
    std::string id;
    std::uint64_t inc = 0;
    std::string from;  // the member that suspects it

    friend bool operator==(suspicion const&, suspicion const&) = default;
};
// What probes carry besides themselves: recent membership news, a few items each.
struct gossip {
    std::vector<peer_entry> entries;
    std::vector<suspicion> suspects;

    friend bool operator==(gossip const&, gossip const&) = default;
};
struct ping_msg {
    std::uint64_t seq = 0;
    gossip news;

    friend bool operator==(ping_msg const&, ping_msg const&) = default;
};
struct ack_msg {
    std::uint64_t seq = 0;
    gossip news;

    friend bool operator==(ack_msg const&, ack_msg const&) = default;
};
// Asks the receiver to ping `target` and answer `ack` (or `nack` if the target is silent).
struct ping_req_msg {
    std::uint64_t seq = 0;
    std::string target;
    gossip news;

    friend bool operator==(ping_req_msg const&, ping_req_msg const&) = default;
};
struct nack_msg {
    std::uint64_t seq = 0;

    friend bool operator==(nack_msg const&, nack_msg const&) = default;
};
struct unknown_msg {
    std::string type;
};

using message = std::variant<join_msg, welcome_msg, refused_msg, hello_msg, peers_msg, digest_msg,
                             chat_msg, rename_msg, leave_msg, network_key_msg, seal_msg, heads_msg,
                             history_msg, ping_msg, ack_msg, ping_req_msg, nack_msg, unknown_msg>;

enum class decode_errc {
    not_json = 1,
    not_an_object,
    missing_field,
    bad_field,
    unsupported_version,  // "v" below 1: no version of the protocol
};
boost::system::error_category const& decode_category();
inline boost::system::error_code make_error_code(decode_errc e) {
    return {static_cast<int>(e), decode_category()};
}

// JSON payload for one frame (no length header).
std::string encode(message const& m);

boost::system::result<message> decode(std::string_view payload);
// The two halves of decode(), for the tests and the fuzzer that hold them to each other. The
// first reads a valid chat frame in the one layout encode() writes, and returns nothing for
// any other input; the second reads every frame, in any layout, through a JSON tree.
std::optional<chat_msg> decode_canonical_chat(std::string_view payload);
boost::system::result<message> decode_any_layout(std::string_view payload);

// The message type's wire name, for logs.
std::string_view type_name(message const& m);

bool is_node_id(std::string_view s);

}  // namespace p2pchat::wire

template <>
struct boost::system::is_error_code_enum<p2pchat::wire::decode_errc> : std::true_type {};
