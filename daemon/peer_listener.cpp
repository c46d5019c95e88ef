#include "daemon/peer_listener.hpp"

#include <boost/intrusive/list.hpp>
#include <map>
#include <stdexcept>
#include <string>

#include "daemon/accept_loop.hpp"
#include "daemon/log.hpp"
#include "daemon/secure_handshake.hpp"

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

namespace bi = boost::intrusive;

// One accepted connection, in its serving coroutine's frame.
struct inbound_session : bi::list_base_hook<bi::link_mode<bi::auto_unlink>> {
    inbound_session(frame_handler& handler, tcp::socket s, std::shared_ptr<memory_budget> budget)
        : socket(std::move(s)), connection(handler, std::move(budget)) {}
    void close() {
        boost::system::error_code ignored;
        socket.close(ignored);  // during the handshake
        connection.close();     // afterwards
    }
    tcp::socket socket;  // until the handshake is done
    peer_connection connection;
};

}  // namespace

// What the accept loop and the served connections share.
struct peer_listener::shared_state : std::enable_shared_from_this<shared_state> {
    shared_state(asio::any_io_executor executor, frame_handler& h, link_settings const& sec,
                 std::size_t max)
        : acceptor(executor), handler(h), settings(sec), max_connections(max) {}

    void accepted(tcp::socket socket);
    static awaitable<void> serve(std::shared_ptr<shared_state> self, tcp::socket socket,
                                 std::string source);

    tcp::acceptor acceptor;
    frame_handler& handler;
    link_settings const& settings;
    std::size_t pending = 0;                          // connections still in their handshake
    std::map<std::string, std::size_t> pending_from;  // the same, by source address
    std::size_t max_connections;
    std::size_t connections = 0;
    std::size_t refused = 0;
    bi::list<inbound_session, bi::constant_time_size<false>> live;  // not owned
};

peer_listener::peer_listener(asio::any_io_executor executor, frame_handler& handler,
                             link_settings const& settings, address const& listen,
                             std::size_t max_connections)
    : shared_(std::make_shared<shared_state>(executor, handler, settings, max_connections)) {
    auto const endpoint = resolve_listen(executor, listen);
    auto& acceptor = shared_->acceptor;
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot listen on " + to_string(listen) + ": " + ec.message());
}

peer_listener::~peer_listener() { stop(); }

void peer_listener::start() {
    asio::co_spawn(shared_->acceptor.get_executor(), accept_loop(shared_, "accept failed: "),
                   log_exception{"peer listener"});
}

void peer_listener::stop() {
    boost::system::error_code ignored;
    shared_->acceptor.close(ignored);
    for (auto& session : shared_->live) session.close();
}

address peer_listener::local_address() const {
    boost::system::error_code ec;
    auto const endpoint = shared_->acceptor.local_endpoint(ec);
    return {endpoint.address().to_string(), endpoint.port()};
}

void peer_listener::shared_state::accepted(tcp::socket socket) {
    if (connections >= max_connections) {
        // Logged on the first refusal and every 1000th, not once per connection.
        if (refused++ % 1000 == 0)
            log(log_level::warning, "too many peer connections (", max_connections,
                "); refusing new ones");
        return;  // the socket closes as it goes out of scope
    }
    boost::system::error_code ec;
    auto const source = socket.remote_endpoint(ec).address().to_string();
    if (ec) return;
    // One address that floods handshakes takes its own share, never the room a newcomer
    // from elsewhere needs.
    if (pending >= max_pending || pending_from[source] >= max_pending_per_source) {
        if (pending_from[source] == 0) pending_from.erase(source);
        handler.on_rejected(source, "too many handshakes in progress");
        return;
    }
    asio::co_spawn(acceptor.get_executor(), serve(shared_from_this(), std::move(socket), source),
                   log_exception{"peer connection"});
}

awaitable<void> peer_listener::shared_state::serve(std::shared_ptr<shared_state> self,
                                                   tcp::socket socket, std::string source) {
    ++self->connections;
    inbound_session session(self->handler, std::move(socket), self->settings.budget);
    self->live.push_back(session);
    ++self->pending;
    ++self->pending_from[source];
    auto secured = co_await secure_handshake(session.socket, crypto::handshake::role::responder,
                                             self->settings, handshake_timeout);
    --self->pending;
    if (--self->pending_from[source] == 0) self->pending_from.erase(source);
    if (!secured) {
        self->handler.on_rejected(source, secured.error().reason);
    } else {
        session.connection.set_peer_id(std::move(secured->peer_id));
        auto const why =
            co_await session.connection.run(std::move(session.socket), std::move(secured->keys));
        if (why != asio::error::eof && why != asio::error::operation_aborted)
            log(log_level::debug, "connection from ", session.connection.describe(),
                " ended: ", why.message());
    }
    --self->connections;
}

}  // namespace p2pchat::daemon
