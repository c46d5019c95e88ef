#pragma once
// The control method `messages` (docs/CONTROL.md): a page of the stored history in history
// order, read through the node facade. Params are checked here, and the JSON made here.
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <variant>

#include "common/rpc/rpc.hpp"
#include "daemon/asio.hpp"

namespace p2pchat::daemon {

class node;

// At most this many messages per page.
inline constexpr std::size_t max_messages_page = 1000;

// The reply's result or its error; max_bytes bounds the text a page carries. It waits for the
// store's writer to commit what was shown so far (node::messages), without blocking the
// thread; `params` are read before it waits.
awaitable<std::variant<boost::json::value, rpc::error>> messages_method(
    node& n, boost::json::object const& params, std::size_t max_bytes);

}  // namespace p2pchat::daemon
