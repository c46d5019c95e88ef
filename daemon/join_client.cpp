#include "daemon/join_client.hpp"

#include <boost/asio/write.hpp>
#include <cstdio>
#include <optional>
#include <string_view>

#include "common/wire/frame_decoder.hpp"
#include "daemon/dial.hpp"
#include "daemon/frame_reader.hpp"

namespace p2pchat::daemon {

namespace {

using answer = rpc::result<join_answer>;

answer fail(rpc::code code, std::string message, boost::json::value data = nullptr) {
    return rpc::error{code, std::move(message), std::move(data)};
}

// A p2pchat node answers a join at once (a welcome or a refusal), so a contact that accepts
// the connection and says nothing for this long is something else (an HTTP server waiting
// for a request line, say): the user hears so now, not after the whole join timeout.
constexpr auto silence_limit = std::chrono::seconds(1);

// The first bytes a contact sent, as a human can read them: printable ASCII up to the first
// line break, at most 40 characters, anything else as \xNN.
std::string quoted_start(std::string_view raw) {
    std::string out;
    for (unsigned char c : raw.substr(0, 40)) {
        if (c == '\r' || c == '\n') break;
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    return "\"" + out + (raw.size() > 40 ? "...\"" : "\"");
}

// Reads the contact's frames until its answer: the first `welcome` or `refused`.
struct answer_sink {
    std::string const& where;
    asio::ip::address contact;
    std::size_t bytes_read = 0;
    std::optional<answer> result;
    std::string first_bytes;  // what the contact sent first, to quote when it is not p2pchat

    void on_read(std::size_t bytes) { bytes_read += bytes; }
    void on_bytes(std::string_view raw) {
        if (first_bytes.size() < 64) first_bytes.append(raw.substr(0, 64 - first_bytes.size()));
    }
    bool on_frame(wire::message&& message) {
        if (auto* refused = std::get_if<wire::refused_msg>(&message)) {
            result = fail(rpc::code::join_refused, where + " refused the join: " + refused->reason,
                          boost::json::object{{"code", refused->code}});
            return false;
        }
        if (auto* welcome = std::get_if<wire::welcome_msg>(&message)) {
            result = join_answer{std::move(*welcome), contact, bytes_read};
            return false;
        }
        return true;  // anything else before the answer is ignored, as unknown types are
    }
    void on_malformed(bad_input what, std::string_view why) {
        switch (what) {
            case bad_input::framing:
                result =
                    fail(rpc::code::peer_unreachable,
                         where + " is not a p2pchat node: it sent " + quoted_start(first_bytes));
                break;
            case bad_input::message:
                result = fail(rpc::code::peer_unreachable,
                              where + " is not a p2pchat node: it sent " +
                                  quoted_start(first_bytes) + " (" + std::string(why) + ")");
                break;
        }
    }
};

awaitable<void> sleep_for(asio::any_io_executor executor, std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(executor, d);
    co_await timer.async_wait(use_nothrow);
}

// Ends after silence_limit if the contact has sent nothing by then; else never (the read
// it races ends first). The sink outlives it: exchange() awaits both.
awaitable<void> watch_silence(asio::any_io_executor executor, answer_sink const& sink) {
    co_await sleep_for(executor, silence_limit);
    if (sink.bytes_read == 0) co_return;
    co_await sleep_for(executor, std::chrono::hours(24 * 365));
}

awaitable<answer> exchange(asio::any_io_executor executor, address contact, frame_ptr join_frame) {
    std::string const where = to_string(contact);
    auto unreachable = [&](std::string why) {
        return fail(rpc::code::peer_unreachable, std::move(why));
    };
    tcp::socket socket(executor);
    // No connect timeout of its own: request_join bounds the whole exchange.
    auto const dialed = co_await dial(socket, contact);
    if (!dialed) {
        auto const e = dialed.error();
        switch (e.stage) {
            case dial_error::resolve:
                co_return unreachable("cannot resolve " + where + ": " + e.code.message());
            case dial_error::connect:
                co_return unreachable("cannot reach " + where + ": " + e.code.message());
        }
    }
    auto [wec, written] =
        co_await asio::async_write(socket, asio::buffer(*join_frame), use_nothrow);
    if (wec) co_return unreachable("cannot reach " + where + ": " + wec.message());

    wire::frame_decoder decoder;
    answer_sink sink{where, dialed->address(), 0, std::nullopt, {}};
    auto const read =
        co_await (read_frames(socket, decoder, sink) || watch_silence(socket.get_executor(), sink));
    if (read.index() == 1)
        co_return unreachable(where + " is not a p2pchat node: it accepted the connection but " +
                              "sent nothing within " + std::to_string(silence_limit.count()) +
                              " s");
    if (sink.result) co_return std::move(*sink.result);
    auto const ec = std::get<0>(read);
    if (sink.bytes_read > 0)
        co_return unreachable(where + " is not a p2pchat node: it sent " +
                              quoted_start(sink.first_bytes) + " and closed the connection");
    co_return unreachable(where + " closed the connection without answering (" + ec.message() +
                          "); is it a p2pchat node?");
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
