#pragma once
// The stored history, read through the daemon's `messages` method (docs/CONTROL.md) page by
// page: the newest messages that match, in the order every node agrees on (Lamport time,
// then author id). `history` prints them; `tail -n N` prints them before it follows.
#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ctl/failure.hpp"
#include "ctl/rpc_client.hpp"

namespace p2pchat::ctl {

struct history_query {
    std::optional<std::size_t> count;  // the newest N that match; nullopt: all
    std::optional<std::int64_t> since_ms, until_ms;
    std::optional<std::string> from, grep;
};

struct stored_history {
    std::vector<boost::json::object> messages;  // oldest first, as message events look
    // The newest event number when the history was read: a follower subscribes after it
    // (every message event up to it is in the store; later ones arrive live).
    std::uint64_t event_seq = 0;
};

result<stored_history> fetch_history(rpc_client& client, history_query const& q);

}  // namespace p2pchat::ctl
