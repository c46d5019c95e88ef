// Delivery you can see with real daemons (issue #10, item 5; docs/CONTROL.md, "Delivery"):
// `p2pchatctl send --wait` returns once every member stored the message; with a member
// SIGSTOPped it names that member and exits 4, and once the member is continued the
// `delivery` event says the message reached everyone. Bounded waits only.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/rpc/rpc.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;

// A control connection subscribed to every event, delivery events included (p2pchatctl tail
// does not ask for them).
struct delivery_subscriber {
    int fd;
    std::string buffer;

    explicit delivery_subscriber(std::string const& socket) : fd(unix_connect(socket)) {
        write_all(fd,
                  R"({"jsonrpc":"2.0","id":1,"method":"subscribe","params":{"delivery":true}})"
                  "\n",
                  5s);
    }
    ~delivery_subscriber() {
        if (fd >= 0) ::close(fd);
    }
    // The next `delivery` event within the timeout.
    std::optional<json::object> next_delivery(std::chrono::milliseconds timeout) {
        auto const deadline = clock_type::now() + timeout;
        while (clock_type::now() < deadline) {
            auto line = read_line(fd, buffer,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - clock_type::now()));
            if (!line) return std::nullopt;
            auto o = parse_object(*line);
            if (!o || str(*o, "method") != "event") continue;
            auto const& params = o->at("params").as_object();
            if (str(params, "type") == "delivery") return params;
        }
        return std::nullopt;
    }
};

TEST(Delivery, SendWaitReturnsOnceEveryMemberStoredIt) {
    node_group t(3);
    ASSERT_TRUE(wait_until([&] { return t.everyone_holds_everyone(); }, 15s)) << logs_of(t.all());
    auto& sender = *t.nodes.front();
    auto const started = clock_type::now();
    auto const one = sender.ctl({"send", "--wait=10", "hello", "everyone"});
    auto const took = std::chrono::duration<double>(clock_type::now() - started).count();
    ASSERT_EQ(one.status, 0) << one.err << logs_of(t.all());
    EXPECT_EQ(one.err, "");
    std::printf("send --wait with 3 nodes returned after %.3f s (p2pchatctl included)\n", took);
    // Both others hold it when the command returns.
    for (std::size_t i = 1; i < t.nodes.size(); ++i) {
        auto const h = t.nodes[i]->ctl({"tail", "--no-follow", "--json", "-n", "all"});
        EXPECT_NE(h.out.find("hello everyone"), std::string::npos) << t.nodes[i]->name();
    }
    // A stream waits line by line in the pipeline window.
    std::string lines;
    for (int i = 0; i < 200; ++i) lines += "line " + std::to_string(i) + "\n";
    auto const stream_started = clock_type::now();
    auto const many = sender.ctl({"send", "-w"}, lines, 30s);
    auto const stream_took =
        std::chrono::duration<double>(clock_type::now() - stream_started).count();
    EXPECT_EQ(many.status, 0) << many.err;
    std::printf("200 lines with --wait: %.3f s\n", stream_took);
    // Acks are batched: far fewer frames than one per message per peer.
    auto const frames = num(t.nodes[1]->status(), "frames_sent");
    std::printf("n2 sent %lld frames in all (201 messages of n1 acknowledged)\n",
                static_cast<long long>(frames));
}

TEST(Delivery, AStoppedMemberIsNamedThenTheDeliveryEventComesAfterItContinues) {
    node_group t(3);
    ASSERT_TRUE(wait_until([&] { return t.everyone_holds_everyone(); }, 15s)) << logs_of(t.all());
    auto& sender = *t.nodes.front();
    auto& sleeper = *t.nodes.back();
    delivery_subscriber events(sender.socket_path());
    ASSERT_GE(events.fd, 0);
    sleeper.suspend();
    auto const r = sender.ctl({"send", "--wait=1.5", "are you there?"});
    // Continued right away: well before the failure detector could remove it.
    sleeper.resume();
    EXPECT_EQ(r.status, rpc::exit_status::not_delivered) << r.err << logs_of(t.all());
    EXPECT_NE(r.err.find("not stored by every member within 1.5 s"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("n3 (" + sleeper.id().substr(0, 8) + ")"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("n2"), std::string::npos) << r.err;  // n2 stored it
    // The message settles once n3 has it: one delivery event, delivered to both.
    auto const d = events.next_delivery(15s);
    ASSERT_TRUE(d) << logs_of(t.all());
    EXPECT_TRUE(d->at("delivered").as_bool()) << json::serialize(*d);
    EXPECT_EQ(num(*d, "members"), 2);
    EXPECT_TRUE(d->at("missing").as_array().empty());
}

TEST(Delivery, WaitIsAUsageErrorWhenMalformed) {
    node a(on("127.0.0.1"));
    auto const r = a.ctl({"send", "--wait=soon", "x"});
    EXPECT_EQ(r.status, rpc::exit_status::usage) << r.err;
    EXPECT_NE(r.err.find("--wait=TIMEOUT"), std::string::npos) << r.err;
    // Alone: nobody to wait for, and nobody received it (75) as without --wait.
    EXPECT_EQ(a.ctl({"send", "--wait", "x"}).status, rpc::exit_status::nobody);
}

}  // namespace
}  // namespace p2pchat::test
