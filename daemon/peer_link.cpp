#include "daemon/peer_link.hpp"

#include <algorithm>

#include "daemon/dial.hpp"
#include "daemon/log.hpp"

namespace p2pchat::daemon {

namespace {

using namespace std::chrono_literals;
constexpr auto first_backoff = 100ms;
constexpr auto max_backoff = 5s;
constexpr auto connect_timeout = 5s;

}  // namespace

peer_link::peer_link(asio::any_io_executor executor, frame_handler& handler,
                     link_observer& observer, std::string peer_id, address target)
    : executor_(executor),
      peer_id_(std::move(peer_id)),
      target_(std::move(target)),
      observer_(observer),
      connection_(handler),
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
    while (!stopped_) {
        tcp::socket socket(executor_);
        dialing_ = &socket;
        auto const dialed = co_await dial(socket, target_, connect_timeout);
        dialing_ = nullptr;
        auto const ec = dialed ? boost::system::error_code{} : dialed.error().code;
        if (stopped_) break;
        if (ec) {
            observer_.on_link_down(peer_id_);
            log(log_level::debug, "link to ", peer_id_.substr(0, 8), " at ", to_string(target_),
                ": ", ec.message(), "; retrying in ", backoff.count(), " ms");
        } else {
            connected_ = true;
            backoff = first_backoff;
            observer_.on_link_up(peer_id_);  // queues the greeting first
            auto const why = co_await connection_.run(std::move(socket));
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
