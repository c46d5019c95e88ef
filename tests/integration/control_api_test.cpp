// The control socket's JSON-RPC behaviour that only a raw client can see: batches,
// notifications, the client limit, and a subscriber that stops reading. p2pchatctl covers
// the rest; here the test speaks NDJSON itself, as any script may.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/support/daemon.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

namespace json = boost::json;

struct connection {
    int fd;
    std::string buffer;
    explicit connection(std::string const& path) : fd(unix_connect(path)) {}
    ~connection() {
        if (fd >= 0) ::close(fd);
    }
    connection(connection&& o) noexcept : fd(o.fd), buffer(std::move(o.buffer)) { o.fd = -1; }

    bool send(std::string const& line) { return write_all(fd, line + "\n", 5s); }
    std::optional<json::value> read() {
        auto line = read_line(fd, buffer, 10s);
        if (!line) return std::nullopt;
        json::error_code ec;
        auto v = json::parse(*line, ec);
        if (ec) return std::nullopt;
        return v;
    }
};

std::int64_t id_of(json::value const& reply) {
    auto const* id = reply.as_object().if_contains("id");
    return id && id->is_int64() ? id->as_int64() : -1;
}

TEST(ControlApi, BatchGetsOneArrayAndNotificationsInItRun) {
    node a(on("127.0.0.1"));
    connection c(a.socket_path());
    ASSERT_GE(c.fd, 0);
    ASSERT_TRUE(c.send(R"([{"jsonrpc":"2.0","id":1,"method":"status"},)"
                       R"({"jsonrpc":"2.0","method":"send","params":{"text":"from a batch"}},)"
                       R"({"jsonrpc":"2.0","id":2,"method":"frobnicate"}])"));
    auto reply = c.read();
    ASSERT_TRUE(reply && reply->is_array()) << (reply ? json::serialize(*reply) : "no reply");
    auto const& replies = reply->as_array();
    ASSERT_EQ(replies.size(), 2u) << json::serialize(*reply);  // the notification gets none
    EXPECT_EQ(id_of(replies[0]), 1);
    EXPECT_TRUE(replies[0].as_object().contains("result"));
    EXPECT_EQ(id_of(replies[1]), 2);
    EXPECT_EQ(replies[1].at("error").at("code").as_int64(), -32601);
    // The notification was still carried out.
    auto const history = a.ctl({"tail", "--no-follow", "--json"});
    EXPECT_NE(history.out.find("from a batch"), std::string::npos) << history.out;
}

TEST(ControlApi, EmptyBatchIsInvalidRequest) {
    node a(on("127.0.0.1"));
    connection c(a.socket_path());
    ASSERT_TRUE(c.send("[]"));
    auto reply = c.read();
    ASSERT_TRUE(reply && reply->is_object());
    EXPECT_EQ(reply->at("error").at("code").as_int64(), -32600);
}

TEST(ControlApi, NotificationGetsNoReply) {
    node a(on("127.0.0.1"));
    connection c(a.socket_path());
    ASSERT_TRUE(c.send(R"({"jsonrpc":"2.0","method":"rename","params":{"name":"quiet"}})"));
    ASSERT_TRUE(c.send(R"({"jsonrpc":"2.0","method":"no_such_method"})"));
    ASSERT_TRUE(c.send(R"({"jsonrpc":"2.0","id":5,"method":"status"})"));
    auto reply = c.read();
    ASSERT_TRUE(reply && reply->is_object());
    EXPECT_EQ(id_of(*reply), 5) << "a notification was answered: " << json::serialize(*reply);
    EXPECT_EQ(reply->at("result").at("name").as_string(), "quiet");
}

TEST(ControlApi, ClientsBeyondTheLimitAreToldAndOthersKeepWorking) {
    node a(on("127.0.0.1"));
    std::vector<connection> clients;
    for (int i = 0; i < 64; ++i) {
        clients.emplace_back(a.socket_path());
        ASSERT_GE(clients.back().fd, 0);
    }
    // Every one of the 64 is served.
    for (auto& c : clients) {
        ASSERT_TRUE(c.send(R"({"jsonrpc":"2.0","id":1,"method":"status"})"));
        auto reply = c.read();
        ASSERT_TRUE(reply && reply->as_object().contains("result"));
    }
    connection extra(a.socket_path());
    ASSERT_GE(extra.fd, 0);
    std::string received;
    EXPECT_TRUE(wait_closed(extra.fd, 10s, &received)) << "65th client not hung up on";
    EXPECT_NE(received.find("-32000"), std::string::npos) << received;
    // A slot freed is a slot usable again.
    clients.pop_back();
    EXPECT_TRUE(wait_until([&] { return a.ctl({"status"}).status == 0; }, 10s)) << a.log();
}

TEST(ControlApi, SubscriberThatStopsReadingIsDroppedOthersGetEverything) {
    // A small event log, so "too far behind" comes after a few megabytes.
    node a(on("127.0.0.1").with({"--event-log-size", "1048576"}));
    auto healthy = a.tail({"-n", "0"});
    connection stuck(a.socket_path());
    ASSERT_TRUE(stuck.send(R"({"jsonrpc":"2.0","id":1,"method":"subscribe"})"));
    auto reply = stuck.read();
    ASSERT_TRUE(reply && reply->as_object().contains("result"));
    // Never read again; push more than the kernel buffers and the daemon's event log hold,
    // past which this subscriber can no longer be served in order.
    std::string input;
    std::string const filler(1000, 'x');
    constexpr int count = 5000;
    for (int i = 1; i <= count; ++i) input += std::to_string(i) + " " + filler + "\n";
    auto const sent = a.ctl({"send"}, input, 60s);
    ASSERT_EQ(sent.status, 75) << sent.err;  // accepted; a node alone has nobody to tell
    EXPECT_TRUE(wait_until([&] { return num(a.status(), "subscribers") == 1; }, 15s))
        << "the stuck subscriber was not dropped\n"
        << a.log();
    std::string received;
    EXPECT_TRUE(wait_closed(stuck.fd, 10s, &received));
    EXPECT_TRUE(healthy.wait_for([](auto const& events) { return events.size() >= count; }, 30s))
        << healthy.events().size() << " of " << count;
    EXPECT_EQ(healthy.messages().size(), static_cast<std::size_t>(count));
    EXPECT_EQ(a.ctl({"status"}).status, 0);
}

}  // namespace
}  // namespace p2pchat::test
