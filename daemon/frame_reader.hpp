#pragma once
// Reads peer-protocol frames from a TCP socket whose handshake is done, opening the records
// that carry them, and hands each decoded message to a sink: for every reader of the peer
// protocol (long-lived connections and the join exchange).
//
// The hot path: wait until the socket is readable, read without blocking into one 64 KiB
// buffer shared by every reader on the thread, hand the bytes to the decoder (which copies
// them) and deliver every whole frame before yielding again. Frames reach the sink by a
// plain call, never a coroutine per frame. A 64 KiB buffer in each reader's coroutine frame
// was most of the daemon's memory per peer (two connections per peer; bench B5).
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include "common/crypto/secure_channel.hpp"
#include "common/wire/messages.hpp"
#include "daemon/asio.hpp"

namespace p2pchat::daemon {

// What was wrong with bad input: its framing (the length prefix) or the message inside.
enum class bad_input { framing, message };

// The read buffer every frame reader on this thread shares. Its contents are valid only
// until the next suspension.
std::span<char> shared_read_buffer();

// A record must arrive whole within this long once its first byte has (slowloris).
inline constexpr std::chrono::seconds partial_record_timeout{30};

// Reads until the socket fails or closes, the input is bad, or the sink asks to stop.
// Sink (called on the io thread, between reads):
//   void on_read(std::size_t bytes)                          accounting
//   bool on_frame(wire::message&& m)                         false: stop reading
//   void on_malformed(bad_input what, std::string_view why)  before the read ends on it
//   bool on_buffered(std::size_t bytes)                      after each read's frames: what
//                                                            is held of a record still
//                                                            coming; false: stop reading
// A record that takes longer than partial_record_timeout to arrive ends the read
// (asio::error::timed_out).
// Returns the socket's error (eof for an orderly close), a wire::decode_errc for bad input
// (framing errors, and records that are not authentic, report decode_errc::not_an_object),
// or no error when the sink stopped. Puts the socket in non-blocking mode.
template <class Sink>
awaitable<boost::system::error_code> read_frames(tcp::socket& socket,
                                                 crypto::record_decoder& decoder, Sink& sink) {
    std::span<char> const buffer = shared_read_buffer();
    boost::system::error_code ignored;
    socket.non_blocking(true, ignored);
    // The deadline exists only while part of a record is held: an idle link costs nothing.
    std::optional<asio::steady_timer> deadline;
    for (;;) {
        if (decoder.buffered() == 0) {
            deadline.reset();
            auto [wait_ec] = co_await socket.async_wait(tcp::socket::wait_read, use_nothrow);
            if (wait_ec) co_return wait_ec;
        } else {
            if (!deadline) deadline.emplace(socket.get_executor(), partial_record_timeout);
            auto waited = co_await (socket.async_wait(tcp::socket::wait_read, use_nothrow) ||
                                    deadline->async_wait(use_nothrow));
            if (waited.index() == 1) {
                sink.on_malformed(bad_input::framing, "a record took over 30 s to arrive");
                co_return asio::error::timed_out;
            }
            if (auto [wait_ec] = std::get<0>(waited); wait_ec) co_return wait_ec;
        }
        boost::system::error_code ec;
        std::size_t const n = socket.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec) co_return ec;
        sink.on_read(n);
        decoder.feed({buffer.data(), n});
        while (auto frame = decoder.next()) {
            auto message = wire::decode(*frame);
            if (!message) {
                sink.on_malformed(bad_input::message, message.error().message());
                co_return message.error();
            }
            if (!sink.on_frame(std::move(*message))) co_return boost::system::error_code{};
        }
        if (!sink.on_buffered(decoder.buffered())) co_return asio::error::no_buffer_space;
        switch (decoder.failure()) {
            case crypto::record_decoder::error::none:
                break;
            case crypto::record_decoder::error::bad_record:
                sink.on_malformed(bad_input::framing, "record of length 0 or over its limit");
                co_return wire::decode_errc::not_an_object;
            case crypto::record_decoder::error::not_authentic:
                sink.on_malformed(bad_input::framing,
                                  "record not authentic (tampered, replayed or reordered)");
                co_return wire::decode_errc::not_an_object;
            case crypto::record_decoder::error::bad_frame:
                sink.on_malformed(bad_input::framing, "frame of length 0 or over the 1 MiB limit");
                co_return wire::decode_errc::not_an_object;
        }
    }
}

}  // namespace p2pchat::daemon
