#pragma once
// The handshake that opens every peer connection (docs/PROTOCOL.md, "Handshake"), over a
// connected socket: three messages, each a length-prefixed frame, within a deadline. The
// dialling side initiates. Afterwards the connection carries records (peer_connection).
#include <boost/system/result.hpp>
#include <chrono>
#include <optional>
#include <string>

#include "common/crypto/secure_channel.hpp"
#include "daemon/asio.hpp"
#include "daemon/link_settings.hpp"

namespace p2pchat::daemon {

// A connection whose handshake succeeded: who is at the other end, and the record keys.
struct secured_peer {
    std::string peer_id;  // the peer's Ed25519 key, lowercase hex: its node id
    crypto::transport_keys keys;
};

// Why a handshake failed, in words for a log line or a user ("not a member of this network").
struct handshake_error {
    enum kind_t {
        refused,  // a handshake message failed its checks (wrong network key, identity...)
        foreign,  // what came was not a p2pchat handshake at all: `received` holds its start
        closed,   // the other side closed the connection (a node of another network does)
        silent,   // nothing came before the deadline
    };
    kind_t kind = refused;
    std::string reason;
    std::string received;  // foreign: the first bytes the other side sent
};

// For result<secured_peer, handshake_error>::value(): found by ADL.
[[noreturn]] void throw_exception_from_error(handshake_error const& e,
                                             boost::source_location const& loc);

// Runs the handshake on `socket`. Fails on a deadline, a closed connection, or a refused
// message; the caller closes the socket then. `first_answer` bounds the wait for the other
// side's first byte when shorter than `timeout` (a join wants to tell silence apart fast).
awaitable<boost::system::result<secured_peer, handshake_error>> secure_handshake(
    tcp::socket& socket, crypto::handshake::role role, link_settings const& settings,
    std::chrono::steady_clock::duration timeout,
    std::optional<std::chrono::steady_clock::duration> first_answer = std::nullopt);

inline constexpr std::chrono::seconds handshake_timeout{5};

}  // namespace p2pchat::daemon
