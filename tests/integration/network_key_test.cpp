// Admission: a network key, invites that carry it, and strangers kept out (docs/SECURITY.md).
// Real daemons on loopback, driven through p2pchatctl; strangers speak the handshake by hand
// (tests/support/secure_peer).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "common/invite.hpp"
#include "tests/support/daemon.hpp"
#include "tests/support/secure_peer.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

std::string invite_of(node const& n) {
    auto const r = n.ctl({"invite"});
    EXPECT_EQ(r.status, 0) << r.err << n.log();
    std::string line = r.out;
    while (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
}

TEST(NetworkKey, ANodeWithoutAKeySaysItsNetworkIsOpen) {
    node a(on("127.0.0.1"));
    EXPECT_EQ(str(a.status(), "network"), "open");
    EXPECT_NE(a.log().find("this network is open: anyone who can reach"), std::string::npos)
        << a.log();
}

TEST(NetworkKey, InviteClosesAnOpenNetworkAndItsPeersFollow) {
    node a(on("127.0.0.1"));
    node b(on("127.0.0.2").joining(a.listen()));
    ASSERT_TRUE(wait_until([&] { return a.peer_ids().size() == 2; }, 10s)) << a.log();
    auto const invite = invite_of(a);
    ASSERT_TRUE(parse_invite(invite)) << invite;
    EXPECT_TRUE(invite.ends_with("@" + a.listen())) << invite;
    EXPECT_EQ(str(a.status(), "network"), "closed");
    EXPECT_TRUE(wait_until([&] { return str(b.status(), "network") == "closed"; }, 10s))
        << "b did not take the key a handed it\n"
        << logs_of({&a, &b});

    // A newcomer without the invite is kept out, and told why; with it, it gets in.
    node c(on("127.0.0.3"));
    auto const refused = c.ctl({"join", a.listen()});
    EXPECT_NE(refused.status, 0);
    EXPECT_NE(refused.err.find("invite"), std::string::npos) << refused.err;
    EXPECT_EQ(c.peer_ids().size(), 1u);
    auto const joined = c.ctl({"join", invite});
    EXPECT_EQ(joined.status, 0) << joined.err << logs_of({&a, &c});
    EXPECT_TRUE(
        wait_until([&] { return c.peer_ids().size() == 3 && b.peer_ids().size() == 3; }, 10s))
        << logs_of({&a, &b, &c});
    EXPECT_EQ(str(c.status(), "network"), "closed");
    // The same invite again gives the same key: a closed network keeps its key.
    EXPECT_EQ(invite_of(a), invite);
}

TEST(NetworkKey, AStrangerWithoutTheKeyLearnsNothingAndCostsLittle) {
    node a(on("127.0.0.1").with({"--network=closed"}));
    EXPECT_EQ(str(a.status(), "network"), "closed");
    // The open network's key, and a random one: no answer to message 0 at all.
    for (auto const& key : {crypto::open_network_key(), crypto::generate_network_key()}) {
        secure_peer stranger(a.host(), a.port(), key);
        EXPECT_FALSE(stranger.ok());
        EXPECT_NE(stranger.failure().find("no message 1"), std::string::npos) << stranger.failure();
    }
    EXPECT_TRUE(wait_until([&] { return num(a.status(), "rejected_connections") == 2; }, 10s))
        << a.log();
    EXPECT_NE(a.log().find("not a member of this network"), std::string::npos) << a.log();
    EXPECT_EQ(a.ctl({"status"}).status, 0);
}

TEST(NetworkKey, ADaemonJoinsWithAnInviteAtStartUpAndKeepsTheKeyAcrossARestart) {
    node a(on("127.0.0.1").with({"--network=closed"}));
    auto const invite = invite_of(a);
    temp_dir state;
    {
        node b(on("127.0.0.2").joining(invite).state(state.path().string()));
        EXPECT_TRUE(wait_until([&] { return b.peer_ids().size() == 2; }, 15s)) << b.log();
        EXPECT_EQ(str(b.status(), "network"), "closed");
    }
    struct stat st {};
    ASSERT_EQ(::stat((state.path() / "network.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    // Restarted without the invite, it still holds the key: a plain address is enough now.
    node b(on("127.0.0.2").joining(a.listen()).state(state.path().string()));
    EXPECT_TRUE(wait_until([&] { return b.peer_ids().size() == 2; }, 15s)) << b.log();
}

TEST(NetworkKey, AKeyFileOthersCanReadIsRefusedAtStartUp) {
    temp_dir dir;
    auto const file = dir.path() / "network.key";
    {
        std::ofstream out(file);
        out << format_network_key(crypto::generate_network_key().secret) << "\n";
    }
    ::chmod(file.c_str(), 0644);
    node a(on("127.0.0.1").with({"--network-key", file.string()}).no_wait());
    auto const status = a.wait_exit(10s);
    ASSERT_TRUE(status);
    EXPECT_NE(*status, 0);
    EXPECT_NE(a.log().find("readable by others"), std::string::npos) << a.log();
}

TEST(NetworkKey, AnAdministratorsKeyFileIsUsedAndNotReplaced) {
    temp_dir dir;
    auto const file = dir.path() / "network.key";
    auto const key = crypto::generate_network_key().secret;
    {
        std::ofstream out(file);
        out << format_network_key(key) << "\n";
    }
    ::chmod(file.c_str(), 0600);
    node a(on("127.0.0.1").with({"--network-key", file.string()}));
    EXPECT_EQ(str(a.status(), "network"), "closed");
    auto const invite = parse_invite(invite_of(a));
    ASSERT_TRUE(invite);
    EXPECT_EQ(invite->key, key);
    // Another network's invite cannot replace it.
    node b(on("127.0.0.2").with({"--network=closed"}));
    auto const other = invite_of(b);
    auto const r = a.ctl({"join", other});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
}

TEST(NetworkKey, ANodeInANetworkCannotBeMovedToAnotherByAnInvite) {
    node a(on("127.0.0.1"));
    node b(on("127.0.0.2").joining(a.listen()));
    ASSERT_TRUE(wait_until([&] { return b.peer_ids().size() == 2; }, 10s));
    node c(on("127.0.0.3").with({"--network=closed"}));
    auto const r = b.ctl({"join", invite_of(c)});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("leave"), std::string::npos) << r.err;
    EXPECT_EQ(str(b.status(), "network"), "open");
}

TEST(NetworkKey, ABrokenInviteIsRefusedWithItsOwnError) {
    node a(on("127.0.0.1"));
    auto const r = a.ctl({"join", "p2pchat:not-a-key@127.0.0.2:7447"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find("not a valid invite"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace p2pchat::test
