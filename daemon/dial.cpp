#include "daemon/dial.hpp"

#include <boost/asio/connect.hpp>
#include <string>

namespace p2pchat::daemon {

awaitable<boost::system::result<tcp::endpoint, dial_error>> dial(
    tcp::socket& socket, address target,
    std::optional<std::chrono::steady_clock::duration> connect_timeout) {
    auto executor = socket.get_executor();
    tcp::resolver resolver(executor);
    auto const service = std::to_string(target.port);
    auto [rec, endpoints] = co_await resolver.async_resolve(target.host, service, use_nothrow);
    if (rec) co_return dial_error{dial_error::resolve, rec};
    if (!connect_timeout) {
        auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, use_nothrow);
        if (cec) co_return dial_error{dial_error::connect, cec};
        co_return endpoint;
    }
    asio::steady_timer timeout(executor, *connect_timeout);
    auto result = co_await (asio::async_connect(socket, endpoints, use_nothrow) ||
                            timeout.async_wait(use_nothrow));
    if (result.index() == 1) co_return dial_error{dial_error::connect, asio::error::timed_out};
    auto [cec, endpoint] = std::get<0>(result);
    if (cec) co_return dial_error{dial_error::connect, cec};
    co_return endpoint;
}

}  // namespace p2pchat::daemon
