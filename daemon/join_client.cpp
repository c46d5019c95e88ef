#include "daemon/join_client.hpp"

#include <array>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <optional>
#include <string_view>

#include "common/wire/frame_decoder.hpp"
#include "daemon/dial.hpp"
#include "daemon/frame_reader.hpp"
#include "daemon/secure_handshake.hpp"

namespace p2pchat::daemon {

namespace {

using answer = rpc::result<join_answer>;

answer fail(rpc::code code, std::string message, boost::json::value data = nullptr) {
    return rpc::error{code, std::move(message), std::move(data)};
}

// A p2pchat node answers a handshake at once, so a contact that accepts the connection and
// says nothing for this long is something else (an HTTP server waiting for a request line,
// say): the user hears so now, not after the whole join timeout.
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

// What a failed handshake says about the contact, in the user's words.
std::string why_not_joined(std::string const& where, handshake_error const& e) {
    switch (e.kind) {
        case handshake_error::foreign:
            return where + " is not a p2pchat node: it sent " + quoted_start(e.received);
        case handshake_error::silent:
            return where + " is not a p2pchat node: it accepted the connection but " + e.reason;
        case handshake_error::closed:
            return where + " closed the connection during the handshake: a node of a closed " +
                   "network answers only to its members (join with an invite from one), and " +
                   "a service that is not p2pchat does not speak its handshake";
        case handshake_error::refused:
            return where + ": " + e.reason;
    }
    return where + ": " + e.reason;
}

// Reads the contact's frames until its answer: the first `welcome` or `refused`.
struct answer_sink {
    std::string const& where;
    std::string const& contact_id;  // as the handshake proved it
    asio::ip::address contact;
    std::size_t bytes_read = 0;
    std::optional<answer> result;

    void on_read(std::size_t bytes) { bytes_read += bytes; }
    bool on_buffered(std::size_t) { return true; }  // one answer; request_join's deadline
    bool on_frame(wire::message&& message) {
        if (auto* refused = std::get_if<wire::refused_msg>(&message)) {
            result = fail(rpc::code::join_refused, where + " refused the join: " + refused->reason,
                          boost::json::object{{"code", refused->code}});
            return false;
        }
        if (auto* welcome = std::get_if<wire::welcome_msg>(&message);
            welcome && welcome->from.id != contact_id) {
            result = fail(rpc::code::peer_unreachable,
                          where + " welcomed us in the name of another node");
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
                result = fail(rpc::code::peer_unreachable, where + " sent an invalid frame");
                break;
            case bad_input::message:
                result = fail(rpc::code::peer_unreachable,
                              where + " answered with a malformed frame: " + std::string(why));
                break;
        }
    }
};

awaitable<answer> exchange(asio::any_io_executor executor, address contact, frame_ptr join_frame,
                           link_settings const& settings) {
    std::string const where = to_string(contact);
    auto unreachable = [&](std::string why) {
        return fail(rpc::code::peer_unreachable, std::move(why));
    };
    tcp::socket socket(executor);
    // No connect timeout of its own: request_join bounds the whole exchange.
    auto const dialed = co_await dial(socket, contact, settings.source);
    if (!dialed) {
        auto const e = dialed.error();
        switch (e.stage) {
            case dial_error::resolve:
                co_return unreachable("cannot resolve " + where + ": " + e.code.message());
            case dial_error::connect:
                co_return unreachable("cannot reach " + where + ": " + e.code.message());
        }
    }
    auto secured = co_await secure_handshake(socket, crypto::handshake::role::initiator, settings,
                                             handshake_timeout, silence_limit);
    if (!secured) co_return unreachable(why_not_joined(where, secured.error()));
    std::string record;
    crypto::seal_records(secured->keys.send, std::array{join_frame}, record);
    auto [wec, written] = co_await asio::async_write(socket, asio::buffer(record), use_nothrow);
    if (wec) co_return unreachable("cannot reach " + where + ": " + wec.message());

    crypto::record_decoder decoder(secured->keys.receive);
    answer_sink sink{where, secured->peer_id, dialed->address(), 0, std::nullopt};
    auto const ec = co_await read_frames(socket, decoder, sink);
    if (sink.result) co_return std::move(*sink.result);
    co_return unreachable(where + " closed the connection before welcoming us: " + ec.message());
}

awaitable<void> sleep_for(asio::any_io_executor executor, std::chrono::steady_clock::duration d) {
    asio::steady_timer timer(executor, d);
    co_await timer.async_wait(use_nothrow);
}

}  // namespace

awaitable<rpc::result<join_answer>> request_join(asio::any_io_executor executor, address contact,
                                                 frame_ptr join_frame,
                                                 link_settings const& settings,
                                                 std::chrono::steady_clock::duration timeout) {
    auto result = co_await (exchange(executor, contact, std::move(join_frame), settings) ||
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
