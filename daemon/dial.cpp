#include "daemon/dial.hpp"

#include <string>
#include <vector>

namespace p2pchat::daemon {

namespace {

// Opens `socket` for `to`, bound to `source` when given, and connects it.
awaitable<boost::system::error_code> connect_to(tcp::socket& socket, tcp::endpoint const& to,
                                                std::optional<asio::ip::address> const& source) {
    boost::system::error_code ec;
    socket.open(to.protocol(), ec);
    if (!ec && source) socket.bind(tcp::endpoint(*source, 0), ec);
    if (ec) co_return ec;
    auto [cec] = co_await socket.async_connect(to, use_nothrow);
    co_return cec;
}

}  // namespace

awaitable<boost::system::result<tcp::endpoint, dial_error>> dial(
    tcp::socket& socket, address target, std::optional<asio::ip::address> source,
    std::optional<std::chrono::steady_clock::duration> connect_timeout) {
    auto executor = socket.get_executor();
    tcp::resolver resolver(executor);
    auto const service = std::to_string(target.port);
    auto [rec, results] = co_await resolver.async_resolve(target.host, service, use_nothrow);
    if (rec) co_return dial_error{dial_error::resolve, rec};
    // A bound source only reaches endpoints of its own family.
    std::vector<tcp::endpoint> endpoints;
    for (auto const& r : results)
        if (!source || r.endpoint().address().is_v4() == source->is_v4())
            endpoints.push_back(r.endpoint());
    if (endpoints.empty()) co_return dial_error{dial_error::resolve, asio::error::host_not_found};

    asio::steady_timer timeout(executor);
    boost::system::error_code last = asio::error::host_not_found;
    for (auto const& endpoint : endpoints) {
        if (!connect_timeout) {
            last = co_await connect_to(socket, endpoint, source);
        } else {
            timeout.expires_after(*connect_timeout);
            auto result =
                co_await (connect_to(socket, endpoint, source) || timeout.async_wait(use_nothrow));
            last = result.index() == 1 ? asio::error::timed_out : std::get<0>(result);
        }
        if (!last) co_return endpoint;
        boost::system::error_code ignored;
        socket.close(ignored);
        // Closed from elsewhere (a link stopping): do not try the next endpoint.
        if (last == asio::error::operation_aborted) break;
    }
    co_return dial_error{dial_error::connect, last};
}

}  // namespace p2pchat::daemon
