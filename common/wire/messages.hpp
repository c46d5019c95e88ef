#pragma once
// The peer protocol's messages (docs/PROTOCOL.md) as plain structs, and their JSON codec.
// decode() validates everything a peer could get wrong; a frame that fails is malformed and
// the caller closes the connection. Unknown types decode to unknown_msg and are ignored.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
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

    friend bool operator==(peer_entry const&, peer_entry const&) = default;
};

struct chat_msg {
    std::string origin;
    std::uint64_t seq = 0;
    std::uint64_t lamport = 0;
    std::int64_t time_ms = 0;
    std::string name;
    std::string text;

    friend bool operator==(chat_msg const&, chat_msg const&) = default;
};

struct join_msg {
    peer_entry from;
};
struct welcome_msg {
    peer_entry from;
    std::vector<peer_entry> peers;
    std::vector<chat_msg> history;
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
};
struct leave_msg {
    std::string id;
    std::uint64_t inc = 0;
};
// A member that closed an open network hands its new network key to the members it has.
struct network_key_msg {
    std::string key;  // 43 characters of base64url
};
struct unknown_msg {
    std::string type;
};

using message = std::variant<join_msg, welcome_msg, refused_msg, hello_msg, peers_msg, digest_msg,
                             chat_msg, rename_msg, leave_msg, network_key_msg, unknown_msg>;

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

// The message type's wire name, for logs.
std::string_view type_name(message const& m);

bool is_node_id(std::string_view s);

}  // namespace p2pchat::wire

template <>
struct boost::system::is_error_code_enum<p2pchat::wire::decode_errc> : std::true_type {};
