#include "daemon/peer_link.hpp"

#include <algorithm>

#include "daemon/dial.hpp"
#include "daemon/log.hpp"
#include "daemon/secure_handshake.hpp"

namespace p2pchat::daemon {

namespace {

using namespace std::chrono_literals;
constexpr auto first_backoff = 100ms;
constexpr auto max_backoff = 5s;
constexpr auto connect_timeout = 5s;

}  // namespace

peer_link::peer_link(asio::any_io_executor executor, frame_handler& handler,
                     link_observer& observer, link_settings const& settings, std::string peer_id,
                     address target)
    : executor_(executor),
      settings_(settings),
      peer_id_(std::move(peer_id)),
      target_(std::move(target)),
      observer_(observer),
      connection_(handler, settings.budget),
      backoff_timer_(executor) {
    connection_.set_peer_id(peer_id_);
}

void peer_link::start() {
    asio::co_spawn(executor_, run(shared_from_this()), log_exception{"peer link"});
}

void peer_link::stop() {
    stopped_ = true;
    if (dialing_) {
        boost::system::error_code ignored;
        dialing_->close(ignored);  // don't make a shutdown wait for a connect to time out
    }
    connection_.clear_queue();
    connection_.close();
    backoff_timer_.cancel();
}

void peer_link::stop_when_flushed() {
    flush_then_stop_ = true;
    if (connected_) {
        connection_.close_when_flushed();
    } else {
        stop();  // nobody to say goodbye to
    }
}

void peer_link::retarget(address target) {
    if (target == target_) return;
    target_ = std::move(target);
    connection_.close();
    backoff_timer_.cancel();
}

awaitable<void> peer_link::run([[maybe_unused]] std::shared_ptr<peer_link> self) {
    auto backoff = std::chrono::milliseconds(first_backoff);
    bool said_why = false;  // a handshake failure is logged once, then at debug level
    while (!stopped_) {
        tcp::socket socket(executor_);
        dialing_ = &socket;
        auto const dialed = co_await dial(socket, target_, settings_.source, connect_timeout);
        std::string failure;
        std::optional<secured_peer> secured;
        if (dialed && !stopped_) {
            auto handshake = co_await secure_handshake(socket, crypto::handshake::role::initiator,
                                                       settings_, handshake_timeout);
            if (!handshake)
                failure = handshake.error().reason;
            else if (handshake->peer_id != peer_id_)
                failure = "another node answers there (" + handshake->peer_id.substr(0, 8) + ")";
            else
                secured = std::move(*handshake);
        } else if (!dialed) {
            failure = dialed.error().code.message();
        }
        dialing_ = nullptr;
        if (stopped_) break;
        if (!secured) {
            observer_.on_link_down(peer_id_);
            bool const handshake_failed = dialed.has_value();
            log(handshake_failed && !said_why ? log_level::notice : log_level::debug, "link to ",
                peer_id_.substr(0, 8), " at ", to_string(target_), ": ", failure, "; retrying in ",
                backoff.count(), " ms");
            said_why = said_why || handshake_failed;
        } else {
            connected_ = true;
            backoff = first_backoff;
            said_why = false;
            observer_.on_link_up(peer_id_);  // queues the greeting first
            auto const why = co_await connection_.run(std::move(socket), std::move(secured->keys));
            connected_ = false;
            if (flush_then_stop_ || stopped_) break;
            observer_.on_link_down(peer_id_);
            if (!stopped_)
                log(log_level::debug, "link to ", peer_id_.substr(0, 8),
                    " closed: ", why.message());
        }
        if (stopped_) break;
        backoff_timer_.expires_after(backoff);
        co_await backoff_timer_.async_wait(use_nothrow);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_backoff);
    }
    connected_ = false;
    finished_ = true;
}

}  // namespace p2pchat::daemon
