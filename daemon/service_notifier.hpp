#pragma once
// Tells the service manager how the daemon is doing (sd_notify(3)): READY=1 once the node
// listens and the control socket accepts, a human STATUS= line kept current from the node's
// event stream, WATCHDOG=1 pings when WatchdogSec= is set, STOPPING=1 on shutdown.
// Without NOTIFY_SOCKET every call is a cheap no-op.
//
// Lifetime: the status subscription is a member (it ends with this object, which therefore
// cannot move); the watchdog loop holds its own timer, and stopping() or the destructor ends
// it.
#include <memory>
#include <string>

#include "daemon/asio.hpp"
#include "daemon/event_log.hpp"

namespace p2pchat::daemon {

class node;

class service_notifier {
  public:
    service_notifier(asio::any_io_executor executor, node& node);
    ~service_notifier();
    service_notifier(service_notifier const&) = delete;
    service_notifier& operator=(service_notifier const&) = delete;

    void ready();
    // Says STOPPING=1 and ends the watchdog pings.
    void stopping();

  private:
    // Shared by the watchdog loop and this object.
    struct watchdog {
        explicit watchdog(asio::any_io_executor executor) : timer(executor) {}
        void stop() {
            stopped = true;
            timer.cancel();
        }
        asio::steady_timer timer;
        bool stopped = false;
    };
    static awaitable<void> watchdog_loop(std::shared_ptr<watchdog> w,
                                         std::chrono::microseconds interval);

    void update_status();

    asio::any_io_executor executor_;
    node& node_;
    event_log::subscription subscription_;
    std::shared_ptr<watchdog> watchdog_;
    std::string last_status_;
};

}  // namespace p2pchat::daemon
