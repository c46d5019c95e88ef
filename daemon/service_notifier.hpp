#pragma once
// Tells the service manager how the daemon is doing (sd_notify(3)): READY=1 once the node
// listens and the control socket accepts, a human STATUS= line kept current from the node's
// event stream, WATCHDOG=1 pings when WatchdogSec= is set, STOPPING=1 on shutdown.
// Without NOTIFY_SOCKET every call is a cheap no-op.
#include <string>

#include "daemon/asio.hpp"
#include "daemon/event_log.hpp"

namespace p2pchat::daemon {

class node;

class service_notifier {
  public:
    service_notifier(asio::any_io_executor executor, node& node);

    void ready();
    void stopping();

  private:
    void update_status();
    awaitable<void> watchdog_loop(std::chrono::microseconds interval);

    asio::any_io_executor executor_;
    node& node_;
    event_log::subscription subscription_;
    std::string last_status_;
    bool stopping_ = false;
};

}  // namespace p2pchat::daemon
