#include "daemon/peer_listener.hpp"

#include <stdexcept>

#include "daemon/log.hpp"

namespace p2pchat::daemon {

namespace {

tcp::endpoint resolve_listen(asio::any_io_executor executor, address const& listen) {
    boost::system::error_code ec;
    auto const ip = asio::ip::make_address(listen.host, ec);
    if (!ec) return {ip, listen.port};
    // A host name: take its first address (start-up only, so a blocking lookup is fine).
    tcp::resolver resolver(executor);
    auto const results = resolver.resolve(listen.host, std::to_string(listen.port), ec);
    if (ec || results.empty())
        throw std::runtime_error("cannot resolve listen address " + to_string(listen) + ": " +
                                 ec.message());
    return results.begin()->endpoint();
}

}  // namespace

peer_listener::peer_listener(asio::any_io_executor executor, frame_handler& handler,
                             address const& listen, std::size_t max_connections)
    : handler_(handler), acceptor_(executor), max_connections_(max_connections) {
    auto const endpoint = resolve_listen(executor, listen);
    boost::system::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + to_string(listen) + ": " + ec.message());
}

void peer_listener::start() {
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), log_exception{"peer listener"});
}

void peer_listener::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

address peer_listener::local_address() const {
    boost::system::error_code ec;
    auto const endpoint = acceptor_.local_endpoint(ec);
    return {endpoint.address().to_string(), endpoint.port()};
}

awaitable<void> peer_listener::accept_loop() {
    asio::steady_timer backoff(acceptor_.get_executor());
    while (acceptor_.is_open()) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            // EMFILE and friends: wait instead of spinning; the daemon keeps serving.
            log(log_level::warning, "accept failed: ", ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(use_nothrow);
            continue;
        }
        if (connections_ >= max_connections_) {
            // Logged on the first refusal and every 1000th, not once per connection.
            if (refused_++ % 1000 == 0)
                log(log_level::warning, "too many peer connections (", max_connections_,
                    "); refusing new ones");
            continue;  // the socket closes as it goes out of scope
        }
        asio::co_spawn(acceptor_.get_executor(), serve(std::move(socket)),
                       log_exception{"peer connection"});
    }
}

awaitable<void> peer_listener::serve(tcp::socket socket) {
    ++connections_;
    peer_connection connection(handler_);
    auto const why = co_await connection.run(std::move(socket));
    --connections_;
    if (why != asio::error::eof && why != asio::error::operation_aborted)
        log(log_level::debug, "connection from ", connection.describe(), " ended: ", why.message());
}

}  // namespace p2pchat::daemon
