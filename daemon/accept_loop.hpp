#pragma once
// The daemon's one accept loop (peer listener, control socket).
#include <chrono>
#include <memory>
#include <string_view>

#include "daemon/asio.hpp"
#include "daemon/log.hpp"

namespace p2pchat::daemon {

// Accepts on owner->acceptor and hands every new socket to owner->accepted(socket) until the
// acceptor is closed. A failed accept (EMFILE and friends) is logged as
// `failure_message` + reason and retried after 100 ms instead of spinning; the daemon keeps
// serving. The loop holds the owner, so closing the acceptor and dropping the owner's other
// references is all a stop needs.
template <class Owner>
awaitable<void> accept_loop(std::shared_ptr<Owner> owner, std::string_view failure_message) {
    asio::steady_timer backoff(owner->acceptor.get_executor());
    while (owner->acceptor.is_open()) {
        auto [ec, socket] = co_await owner->acceptor.async_accept(use_nothrow);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            log(log_level::warning, failure_message, ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(use_nothrow);
            continue;
        }
        owner->accepted(std::move(socket));
    }
}

}  // namespace p2pchat::daemon
