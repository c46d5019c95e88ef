#pragma once
// The Asio vocabulary every daemon file uses.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <string_view>

namespace p2pchat::daemon {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

// Completion token that reports errors as values: awaits yield (error_code, results...).
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// co_spawn completion handler: a coroutine that ends by exception is a bug; log it.
struct log_exception {
    std::string_view what;
    void operator()(std::exception_ptr e) const;
};

}  // namespace p2pchat::daemon
