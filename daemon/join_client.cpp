#include "daemon/join_client.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include "common/wire/frame_decoder.hpp"

namespace p2pchat::daemon {

namespace {

using answer = rpc::result<join_answer>;

answer fail(rpc::code code, std::string message, boost::json::value data = nullptr) {
    return rpc::error{code, std::move(message), std::move(data)};
}

awaitable<answer> exchange(asio::any_io_executor executor, address contact, frame_ptr join_frame) {
    std::string const where = to_string(contact);
    auto unreachable = [&](std::string why) {
        return fail(rpc::code::peer_unreachable, std::move(why));
    };
    tcp::resolver resolver(executor);
    auto const service = std::to_string(contact.port);
    auto [rec, endpoints] = co_await resolver.async_resolve(contact.host, service, use_nothrow);
    if (rec) co_return unreachable("cannot resolve " + where + ": " + rec.message());
    tcp::socket socket(executor);
    auto [cec, endpoint] = co_await asio::async_connect(socket, endpoints, use_nothrow);
    if (cec) co_return unreachable("cannot reach " + where + ": " + cec.message());
    auto [wec, written] =
        co_await asio::async_write(socket, asio::buffer(*join_frame), use_nothrow);
    if (wec) co_return unreachable("cannot reach " + where + ": " + wec.message());

    wire::frame_decoder decoder;
    std::array<char, 64 * 1024> buffer;
    std::size_t bytes_read = 0;
    for (;;) {
        while (auto frame = decoder.next()) {
            auto message = wire::decode(*frame);
            if (!message)
                co_return unreachable(
                    where + " answered with a malformed frame: " + message.error().message());
            if (auto* refused = std::get_if<wire::refused_msg>(&*message))
                co_return fail(rpc::code::join_refused,
                               where + " refused the join: " + refused->reason,
                               boost::json::object{{"code", refused->code}});
            if (auto* welcome = std::get_if<wire::welcome_msg>(&*message))
                co_return join_answer{std::move(*welcome), endpoint.address(), bytes_read};
            // Anything else before the answer is ignored, as unknown types are.
        }
        if (decoder.error() != wire::frame_error::none)
            co_return unreachable(where + " sent an invalid frame");
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer), use_nothrow);
        if (ec)
            co_return unreachable(where +
                                  " closed the connection before welcoming us: " + ec.message());
        bytes_read += n;
        decoder.feed({buffer.data(), n});
    }
}

awaitable<void> sleep_for(asio::any_io_executor executor, std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(executor, d);
    co_await timer.async_wait(use_nothrow);
}

}  // namespace

awaitable<rpc::result<join_answer>> request_join(asio::any_io_executor executor, address contact,
                                                 frame_ptr join_frame,
                                                 std::chrono::steady_clock::duration timeout) {
    auto result = co_await (exchange(executor, contact, std::move(join_frame)) ||
                            sleep_for(executor, timeout));
    if (result.index() == 1)
        co_return fail(
            rpc::code::timed_out,
            "no answer from " + to_string(contact) + " within " +
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(timeout).count()) +
                " s");
    co_return std::get<0>(std::move(result));
}

}  // namespace p2pchat::daemon
