#pragma once
// The newcomer's half of a join (docs/PROTOCOL.md): one short connection to a contact,
// send `join`, read until `welcome` or `refused`, all within a deadline. Only I/O: what the
// welcome means for the peer table is the node's business.
#include <chrono>

#include "common/address.hpp"
#include "common/rpc/rpc.hpp"
#include "common/wire/messages.hpp"
#include "daemon/asio.hpp"
#include "daemon/link_settings.hpp"
#include "daemon/peer_connection.hpp"

namespace p2pchat::daemon {

struct join_answer {
    wire::welcome_msg welcome;
    asio::ip::address contact;   // where we reached it, for entries advertising 0.0.0.0
    std::size_t bytes_read = 0;  // what the exchange read, for the node's traffic counters
};

// The contact is reached through the secure handshake like any peer; the welcome must come
// from the node the handshake proved.
awaitable<rpc::result<join_answer>> request_join(asio::any_io_executor executor, address contact,
                                                 frame_ptr join_frame,
                                                 link_settings const& settings,
                                                 std::chrono::steady_clock::duration timeout);

}  // namespace p2pchat::daemon
