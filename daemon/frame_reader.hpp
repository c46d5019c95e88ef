#pragma once
// Reads peer-protocol frames from a TCP socket and hands each decoded message to a sink, for
// every reader of the peer protocol (long-lived connections and the join exchange).
//
// The hot path: wait until the socket is readable, read without blocking into one 64 KiB
// buffer shared by every reader on the thread, hand the bytes to the decoder (which copies
// them) and deliver every whole frame before yielding again. Frames reach the sink by a
// plain call, never a coroutine per frame. A 64 KiB buffer in each reader's coroutine frame
// was most of the daemon's memory per peer (two connections per peer; bench B5).
#include <cstddef>
#include <span>
#include <string_view>

#include "common/wire/frame_decoder.hpp"
#include "common/wire/messages.hpp"
#include "daemon/asio.hpp"

namespace p2pchat::daemon {

// What was wrong with bad input: its framing (the length prefix) or the message inside.
enum class bad_input { framing, message };

// The read buffer every frame reader on this thread shares. Its contents are valid only
// until the next suspension.
std::span<char> shared_read_buffer();

// Reads until the socket fails or closes, the input is bad, or the sink asks to stop.
// Sink (called on the io thread, between reads):
//   void on_read(std::size_t bytes)                          accounting
//   void on_bytes(std::string_view raw)                      optional: what was read, as is
//   bool on_frame(wire::message&& m)                         false: stop reading
//   void on_malformed(bad_input what, std::string_view why)  before the read ends on it
// Returns the socket's error (eof for an orderly close), a wire::decode_errc for bad input
// (framing errors report decode_errc::not_an_object), or no error when the sink stopped.
// Puts the socket in non-blocking mode.
template <class Sink>
awaitable<boost::system::error_code> read_frames(tcp::socket& socket, wire::frame_decoder& decoder,
                                                 Sink& sink) {
    std::span<char> const buffer = shared_read_buffer();
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    for (;;) {
        auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_read, use_nothrow);
        if (wait_ec) co_return wait_ec;
        boost::system::error_code ec;
        std::size_t const n = socket.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec) co_return ec;
        sink.on_read(n);
        if constexpr (requires { sink.on_bytes(std::string_view{}); })
            sink.on_bytes({buffer.data(), n});
        decoder.feed({buffer.data(), n});
        while (auto frame = decoder.next()) {
            auto message = wire::decode(*frame);
            if (!message) {
                sink.on_malformed(bad_input::message, message.error().message());
                co_return message.error();
            }
            if (!sink.on_frame(std::move(*message))) co_return boost::system::error_code{};
        }
        switch (decoder.error()) {
            case wire::frame_error::none:
                break;
            case wire::frame_error::empty_frame:
                sink.on_malformed(bad_input::framing, "frame of length 0");
                co_return wire::decode_errc::not_an_object;
            case wire::frame_error::frame_too_large:
                sink.on_malformed(bad_input::framing, "frame over the 1 MiB limit");
                co_return wire::decode_errc::not_an_object;
        }
    }
}

}  // namespace p2pchat::daemon
