// The seed's way of talking to a peer: connect, send one frame, close. A `chat` frame sent so
// by a node nobody has heard of is still delivered (PROTOCOL.md, "Transport and framing"),
// through the same handshake every connection starts with; it comes from its author, so its
// chain is not even checked, but it carries one for those it is relayed to.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>

#include "common/crypto/signatures.hpp"
#include "common/wire/messages.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/secure_peer.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

namespace json = boost::json;

TEST(SeedPattern, ConnectSendOneChatFrameClose) {
    node a(on("127.0.0.1").named("alice"));
    auto tail_a = a.tail({"-n", "0"});

    auto const now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    secure_peer seed(a.host(), a.port());
    ASSERT_TRUE(seed.ok()) << seed.failure() << a.log();
    std::string const origin = seed.id();
    wire::chat_msg message{origin, 1, 1, now, "seed", "hello from 2014", {}};
    message.chain = crypto::next_chain({}, message);
    bool const written = seed.send_record(frame(wire::encode(message)));
    seed.close();
    ASSERT_TRUE(written);

    ASSERT_TRUE(
        tail_a.wait_for([](auto& ev) { return count_messages(ev, "hello from 2014") == 1; }, 10s))
        << tail_a.stderr_text() << a.log();
    auto const m = tail_a.messages().at(0);
    EXPECT_EQ(str(m, "from"), origin);
    EXPECT_EQ(str(m, "name"), "seed");
    EXPECT_EQ(str(m, "id"), origin + ":1");
    EXPECT_FALSE(m.at("self").as_bool());
    EXPECT_EQ(num(a.status(), "malformed_frames"), 0);
}

TEST(SeedPattern, UnknownTypeIsIgnoredAndTheConnectionKeptNewerVersionRead) {
    // Forward compatibility: a newer peer's message type is skipped, a newer "v" with fields
    // we do not know is still read, and the connection carries on.
    node a(on("127.0.0.1"));
    auto tail_a = a.tail({"-n", "0"});
    secure_peer peer(a.host(), a.port());
    ASSERT_TRUE(peer.ok()) << peer.failure() << a.log();
    std::string const origin = peer.id();
    json::object future{{"v", 7}, {"type", "hologram"}, {"payload", json::array{1, 2, 3}}};
    json::object chat{
        {"v", 2},
        {"type", "chat"},
        {"origin", origin},
        {"seq", 1},
        {"lamport", 1},
        {"time", 0},
        {"name", "new"},
        {"text", "after"},
        {"chain", crypto::next_chain({}, wire::chat_msg{origin, 1, 1, 0, "new", "after", {}})},
        {"mood", "curious"}};
    ASSERT_TRUE(peer.send_record(frame(json::serialize(future)) + frame(json::serialize(chat))));
    EXPECT_TRUE(tail_a.wait_for([](auto& ev) { return count_messages(ev, "after") == 1; }, 10s))
        << a.log();
    EXPECT_FALSE(wait_closed(peer.fd(), 200ms)) << "the connection was closed over an unknown type";
    EXPECT_EQ(num(a.status(), "malformed_frames"), 0);
}

}  // namespace
}  // namespace p2pchat::test
