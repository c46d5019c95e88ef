#include "daemon/secure_handshake.hpp"

#include <sodium.h>

#include <array>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/throw_exception.hpp>
#include <stdexcept>

#include "common/wire/frame_decoder.hpp"

namespace p2pchat::daemon {

namespace {

using result_type = boost::system::result<secured_peer, handshake_error>;

// Handshake messages are under 200 bytes: anything longer is not a handshake.
constexpr std::size_t max_handshake_message = 1024;

std::string hex(crypto::key const& k) {
    std::string out(k.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), k.data(), k.size());
    out.pop_back();
    return out;
}

struct exchange {
    tcp::socket& socket;

    awaitable<bool> send(std::string const& message) {
        auto const framed = wire::encode_frame(message);
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(framed), use_nothrow);
        co_return !ec;
    }

    using message = boost::system::result<std::string, handshake_error>;

    // The next message, or an error: closed, or not a frame we would read. Reads exactly the
    // message's bytes: what follows it is the first record, the connection's to read.
    // `first_byte`: how long to wait for the message to start.
    awaitable<message> receive(std::optional<std::chrono::steady_clock::duration> first_byte) {
        std::array<unsigned char, wire::frame_header_size> header;
        if (first_byte) {
            asio::steady_timer timer(socket.get_executor(), *first_byte);
            auto waited = co_await (socket.async_wait(tcp::socket::wait_read, use_nothrow) ||
                                    timer.async_wait(use_nothrow));
            if (waited.index() == 1)
                co_return handshake_error{
                    handshake_error::silent,
                    "sent nothing within " +
                        std::to_string(
                            std::chrono::duration_cast<std::chrono::milliseconds>(*first_byte)
                                .count()) +
                        " ms of our first handshake message",
                    {}};
        }
        auto [hec, hn] = co_await asio::async_read(socket, asio::buffer(header), use_nothrow);
        if (hec) co_return closed(hec, {reinterpret_cast<char const*>(header.data()), hn});
        std::size_t const length = (std::size_t{header[0]} << 24) | (std::size_t{header[1]} << 16) |
                                   (std::size_t{header[2]} << 8) | std::size_t{header[3]};
        if (length == 0 || length > max_handshake_message)
            co_return foreign({reinterpret_cast<char const*>(header.data()), header.size()});
        std::string body(length, '\0');
        auto [bec, bn] = co_await asio::async_read(socket, asio::buffer(body), use_nothrow);
        if (bec) co_return closed(bec, {});
        co_return message(boost::system::in_place_value, std::move(body));
    }

    // Not a handshake: keep what else is already there (up to 64 bytes) to quote it.
    handshake_error foreign(std::string_view start) {
        std::string received(start);
        std::array<char, 60> more;
        boost::system::error_code ec;
        socket.non_blocking(true, ec);
        auto const n = socket.read_some(asio::buffer(more), ec);
        if (!ec) received.append(more.data(), n);
        return {handshake_error::foreign, "sent something that is not a p2pchat handshake",
                std::move(received)};
    }

    // Closed: a few bytes that came before the close are still worth quoting.
    static handshake_error closed(boost::system::error_code ec, std::string_view partial) {
        if (!partial.empty())
            return {handshake_error::foreign, "sent something that is not a p2pchat handshake",
                    std::string(partial)};
        return {handshake_error::closed,
                "closed the connection during the handshake (" + ec.message() + ")",
                {}};
    }
};

awaitable<result_type> run(tcp::socket& socket, crypto::handshake::role role,
                           link_settings const& settings,
                           std::optional<std::chrono::steady_clock::duration> first_answer) {
    crypto::channel_handshake handshake(role, settings.identity, settings.network);
    exchange io{socket};
    if (role == crypto::handshake::role::initiator && !co_await io.send(handshake.start()))
        co_return handshake_error{
            handshake_error::closed, "the connection broke during the handshake", {}};
    bool first = true;
    while (!handshake.done()) {
        auto message = co_await io.receive(first ? first_answer : std::nullopt);
        first = false;
        if (!message) co_return message.error();
        crypto::handshake_failure failure{};
        auto answer = handshake.receive(*message, failure);
        if (!answer)
            co_return handshake_error{
                handshake_error::refused, std::string(crypto::to_string(failure)), {}};
        if (!answer->empty() && !co_await io.send(*answer))
            co_return handshake_error{
                handshake_error::closed, "the connection broke during the handshake", {}};
    }
    co_return secured_peer{hex(handshake.peer_identity()), handshake.keys()};
}

awaitable<void> sleep_for(tcp::socket& socket, std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(socket.get_executor(), d);
    co_await timer.async_wait(use_nothrow);
}

}  // namespace

void throw_exception_from_error(handshake_error const& e, boost::source_location const& loc) {
    boost::throw_exception(std::runtime_error(e.reason), loc);
}

awaitable<result_type> secure_handshake(
    tcp::socket& socket, crypto::handshake::role role, link_settings const& settings,
    std::chrono::steady_clock::duration timeout,
    std::optional<std::chrono::steady_clock::duration> first_answer) {
    // Before the first byte: the handshake is small writes each waiting on an answer, and the
    // initiator's last message is followed at once by its first record (a join, a hello).
    // With Nagle's algorithm that record waits for the peer's delayed ACK, 40 ms on Linux.
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto outcome =
        co_await (run(socket, role, settings, first_answer) || sleep_for(socket, timeout));
    if (outcome.index() == 1)
        co_return handshake_error{
            handshake_error::silent,
            "no handshake within " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
                " s",
            {}};
    co_return std::get<0>(std::move(outcome));
}

}  // namespace p2pchat::daemon
