// What `p2pchatctl status --json` reports about the node's own activity.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

// `subscribers` counts control clients following the event stream (CONTROL.md: `subscribe`):
// none on a fresh node, one per running `p2pchatctl tail`, none again once it has gone.
TEST(Status, SubscribersCountsTailClients) {
    node a(on("127.0.0.1"));
    auto const fresh = a.status();
    EXPECT_EQ(num(fresh, "subscribers"), 0)
        << "no p2pchatctl tail is running, yet status reports subscribers; "
           "(the daemon counts its internal service_notifier subscription?) "
        << boost::json::serialize(fresh);
    auto const base = num(fresh, "subscribers");
    {
        auto tail = a.tail();  // waits until subscribers rises
        EXPECT_EQ(num(a.status(), "subscribers"), base + 1);
        tail.process().kill_and_reap();
        EXPECT_TRUE(wait_until([&] { return num(a.status(), "subscribers") == base; }, 10s))
            << "a killed tail is still counted: " << boost::json::serialize(a.status());
    }
    EXPECT_EQ(num(a.status(), "event_seq"), 0) << "a lone fresh node has recorded no events";
    EXPECT_EQ(num(a.status(), "peers"), 0);
    EXPECT_EQ(str(a.status(), "socket"), a.socket_path());
}

}  // namespace
}  // namespace p2pchat::test
