#include "daemon/service_notifier.hpp"

#include <systemd/sd-daemon.h>

#include "daemon/log.hpp"
#include "daemon/node.hpp"

namespace p2pchat::daemon {

service_notifier::service_notifier(asio::any_io_executor executor, node& node)
    : executor_(executor), node_(node) {}

service_notifier::~service_notifier() {
    if (watchdog_) watchdog_->stop();
}

void service_notifier::ready() {
    update_status();
    sd_notify(0, "READY=1");
    // Peer changes move the status line; chat messages and their deliveries do not.
    subscription_ = node_.events().observe([this](event const& e) {
        if (!std::holds_alternative<engine::message_arrived>(e.what) &&
            !std::holds_alternative<engine::message_delivery>(e.what))
            update_status();
    });
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0 && !watchdog_) {
        watchdog_ = std::make_shared<watchdog>(executor_);
        asio::co_spawn(executor_, watchdog_loop(watchdog_, std::chrono::microseconds(usec / 2)),
                       log_exception{"watchdog"});
    }
}

void service_notifier::stopping() {
    if (watchdog_) watchdog_->stop();
    sd_notify(0, "STOPPING=1\nSTATUS=Leaving the network");
}

void service_notifier::update_status() {
    auto const s = node_.status();
    auto const& me = s.node.self;
    std::string status = "STATUS=" + me.name + " (" + me.id.substr(0, 8) + ") on " + me.addr +
                         ": " + std::to_string(s.node.peers) + " peers";
    if (status == last_status_) return;
    last_status_ = status;
    sd_notify(0, status.c_str());
}

awaitable<void> service_notifier::watchdog_loop(std::shared_ptr<watchdog> w,
                                                std::chrono::microseconds interval) {
    while (!w->stopped) {
        // The ping proves the io thread still turns: it is sent from the io thread itself.
        sd_notify(0, "WATCHDOG=1");
        w->timer.expires_after(interval);
        co_await w->timer.async_wait(use_nothrow);
    }
}

}  // namespace p2pchat::daemon
