#pragma once
// Opening a TCP connection to another node: resolve its address, connect to the first
// endpoint that answers. The one dial path of the daemon (persistent links and joins).
#include <boost/system/result.hpp>
#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>
#include <chrono>
#include <optional>

#include "common/address.hpp"
#include "daemon/asio.hpp"

namespace p2pchat::daemon {

// Where a dial failed, and why.
struct dial_error {
    enum stage_t { resolve, connect } stage = connect;
    boost::system::error_code code;  // asio::error::timed_out when the connect took too long
};

// For result<T, dial_error>::value(): found by ADL.
[[noreturn]] inline void throw_exception_from_error(dial_error const& e,
                                                    boost::source_location const& loc) {
    boost::throw_exception(boost::system::system_error(e.code), loc);
}

// Connects `socket` (closed) to `target`; returns the endpoint it reached. Closing the socket
// from elsewhere ends a connect in progress (operation_aborted). Without a timeout the
// connect waits as long as the kernel does; the caller may bound the whole exchange instead.
// `source`: the local address to connect from (bound before connecting).
awaitable<boost::system::result<tcp::endpoint, dial_error>> dial(
    tcp::socket& socket, address target, std::optional<asio::ip::address> source,
    std::optional<std::chrono::steady_clock::duration> connect_timeout = std::nullopt);

}  // namespace p2pchat::daemon
