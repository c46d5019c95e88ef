// Durable state (issue #10, item 2; docs/STORAGE.md): what a daemon keeps in its state
// directory's history database and finds again after a restart, a clean stop or a SIGKILL:
// its messages and their seqs, its screen name, the peers it knew. Real daemons, driven
// through p2pchatctl only.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "common/rpc/rpc.hpp"
#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

// The texts of the messages `tail -n all --no-follow --json` prints, in its order.
std::vector<std::string> history_texts(node const& n) {
    auto const r = n.ctl({"tail", "-n", "all", "--no-follow", "--json"});
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < r.out.size()) {
        auto const end = r.out.find('\n', start);
        auto const line = r.out.substr(start, end - start);
        start = end == std::string::npos ? r.out.size() : end + 1;
        if (auto o = parse_object(line); o && str(*o, "type") == "message")
            out.push_back(str(*o, "text"));
    }
    return out;
}

// The seq of message `id` ("origin:seq").
std::uint64_t seq_of(std::string const& id) { return std::stoull(id.substr(id.find(':') + 1)); }

// The seq of the message this node last sent, from its history.
std::uint64_t last_own_seq(node const& n) {
    auto const r = n.ctl({"tail", "-n", "all", "--no-follow", "--json"});
    std::uint64_t last = 0;
    std::size_t start = 0;
    while (start < r.out.size()) {
        auto const end = r.out.find('\n', start);
        auto o = parse_object(r.out.substr(start, end - start));
        start = end == std::string::npos ? r.out.size() : end + 1;
        if (o && str(*o, "type") == "message" && str(*o, "from") == n.id())
            last = std::max(last, seq_of(str(*o, "id")));
    }
    return last;
}

TEST(DurableState, RestartWithoutJoinRejoinsItsPeersAndKeepsItsName) {
    node_home bob_home;
    node alice(on("127.0.0.1").named("alice"));
    node carol(on("127.0.0.3").named("carol").joining(alice.listen()));
    std::optional<node> bob;
    bob.emplace(at(bob_home, "127.0.0.2").named("bob").joining(alice.listen()));
    ASSERT_TRUE(wait_until([&] { return bob->peers().size() == 3; }, 10s)) << bob->log();
    ASSERT_EQ(bob->ctl({"rename", "robert"}).status, 0);

    // A clean stop (SIGTERM: goodbyes to every peer), then a start without --join or --name.
    ASSERT_EQ(bob->terminate(), std::optional<int>(0));
    ASSERT_TRUE(wait_until([&] { return !knows_alive(alice, bob->id()); }, 10s));
    auto const started = steady::now();
    bob.reset();
    bob.emplace(at(bob_home, "127.0.0.2").unnamed());
    ASSERT_TRUE(wait_until(
        [&] { return knows_alive(*bob, alice.id()) && knows_alive(*bob, carol.id()); }, 10s))
        << bob->log();
    auto const rejoined = steady::now() - started;
    std::cout << "restart to rejoin: " << std::chrono::duration_cast<milliseconds>(rejoined).count()
              << " ms\n";
    EXPECT_EQ(str(bob->status(), "name"), "robert") << "the kept name wins over the login name";
    EXPECT_TRUE(wait_until(
        [&] {
            for (auto const& p : alice.peers())
                if (str(p.as_object(), "id") == bob->id())
                    return str(p.as_object(), "name") == "robert";
            return false;
        },
        10s));

    // After a SIGKILL too, and an explicit --name wins over the kept one (and is kept).
    bob->crash();
    bob.reset();
    bob.emplace(at(bob_home, "127.0.0.2").named("bobby"));
    ASSERT_TRUE(wait_until([&] { return knows_alive(*bob, alice.id()); }, 10s)) << bob->log();
    EXPECT_EQ(str(bob->status(), "name"), "bobby");
    bob->crash();
    bob.reset();
    bob.emplace(at(bob_home, "127.0.0.2").unnamed());
    EXPECT_EQ(str(bob->status(), "name"), "bobby");
}

TEST(DurableState, APeerThatLeftIsNotCalledBack) {
    node_home bob_home;
    node alice(on("127.0.0.1").named("alice"));
    std::optional<node> bob;
    bob.emplace(at(bob_home, "127.0.0.2").named("bob").joining(alice.listen()));
    ASSERT_TRUE(wait_until([&] { return knows_alive(*bob, alice.id()); }, 10s));
    ASSERT_EQ(bob->ctl({"leave"}).status, 0);  // bob leaves the network for good
    bob->crash();
    bob.reset();
    bob.emplace(at(bob_home, "127.0.0.2").named("bob"));
    // Bounded by what a rejoin takes when there is someone to rejoin (well under a second).
    EXPECT_FALSE(wait_until([&] { return bob->peers().size() > 1; }, 2s)) << bob->log();
}

// A laptop that slept: the others removed it, and it lost them too. Here alice comes back
// knowing nobody (its database gone, same identity and address); bob, alone since alice
// vanished, tries the peers he remembers every --rejoin-interval and finds her.
TEST(DurableState, ANodeLeftAloneTriesItsRememberedPeersAgain) {
    node_home alice_home;
    std::optional<node> alice;
    alice.emplace(at(alice_home, "127.0.0.1").named("alice"));
    auto const alice_address = alice->listen();
    node bob(on("127.0.0.2")
                 .named("bob")
                 .joining(alice_address)
                 .with({"--peer-timeout", "1", "--rejoin-interval", "1"}));
    ASSERT_TRUE(wait_until([&] { return knows_alive(bob, alice->id()); }, 10s));
    alice->crash();
    ASSERT_TRUE(wait_until([&] { return bob.peers().size() == 1; }, 10s)) << "bob is alone";
    alice.reset();
    for (char const* file : {"history.db", "history.db-wal", "history.db-shm"})
        std::filesystem::remove(alice_home.state + "/" + file);
    alice.emplace(at(alice_home, "127.0.0.1").named("alice").listening(alice_address));
    EXPECT_TRUE(wait_until(
        [&] { return knows_alive(*alice, bob.id()) && knows_alive(bob, alice->id()); }, 10s))
        << logs_of({&*alice, &bob});
    auto const log = bob.log();
    auto const joined = "joined the network through " + alice_address;
    EXPECT_NE(log.find(joined), log.rfind(joined)) << "bob joined alice twice: " << log;
}

TEST(DurableState, HistorySurvivesARestart) {
    node_home alice_home;
    std::optional<node> alice;
    alice.emplace(at(alice_home, "127.0.0.1").named("alice"));
    {
        node bob(on("127.0.0.2").named("bob").joining(alice->listen()));
        ASSERT_TRUE(wait_until([&] { return knows_alive(*alice, bob.id()); }, 10s));
        ASSERT_EQ(alice->ctl({"send", "one"}).status, 0);
        ASSERT_EQ(bob.ctl({"send", "two from bob"}).status, 0);
        ASSERT_TRUE(wait_until([&] { return history_texts(*alice).size() == 2; }, 10s));
        ASSERT_TRUE(send_kept(*alice, "three"));
    }  // bob is gone: nobody could hand the history back but alice's own store
    ASSERT_EQ(alice->terminate(), std::optional<int>(0));
    alice.reset();
    alice.emplace(at(alice_home, "127.0.0.1").named("alice"));
    EXPECT_EQ(history_texts(*alice), (std::vector<std::string>{"one", "two from bob", "three"}));
    EXPECT_EQ(num(alice->status(), "stored_messages"), 3);
    EXPECT_EQ(num(alice->status(), "storage_errors"), 0);
}

TEST(DurableState, SigkillRightAfterSendReturnedLosesNothingAndSeqsGoOn) {
    node_home h;
    std::optional<node> alice;
    alice.emplace(at(h, "127.0.0.1").named("alice"));
    std::vector<std::string> sent;
    std::uint64_t seq = 0;
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 10; ++i) {
            sent.push_back("round " + std::to_string(round) + " message " + std::to_string(i));
            ASSERT_TRUE(send_kept(*alice, sent.back()));
        }
        alice->crash();  // at once: no goodbye, no shutdown, no flush
        alice.reset();
        alice.emplace(at(h, "127.0.0.1").named("alice"));
        EXPECT_EQ(history_texts(*alice), sent) << "round " << round;
        // The next message after a restart has the next seq: none is used twice.
        auto const last = last_own_seq(*alice);
        EXPECT_EQ(last, seq + 10) << "round " << round;
        seq = last;
    }
    ASSERT_TRUE(send_kept(*alice, "after the crashes"));
    EXPECT_EQ(last_own_seq(*alice), seq + 1);
}

TEST(DurableState, RetentionKeepsTheNewestMessages) {
    node_home h;
    std::optional<node> alice;
    alice.emplace(at(h, "127.0.0.1").named("alice").with({"--history-max-messages", "5"}));
    std::vector<std::string> sent;
    for (int i = 1; i <= 12; ++i) {
        sent.push_back("m" + std::to_string(i));
        ASSERT_TRUE(send_kept(*alice, sent.back()));
    }
    alice->crash();
    alice.reset();
    alice.emplace(at(h, "127.0.0.1").named("alice").with({"--history-max-messages", "5"}));
    EXPECT_EQ(history_texts(*alice), std::vector<std::string>(sent.end() - 5, sent.end()));
    EXPECT_EQ(num(alice->status(), "stored_messages"), 5);
    // Pruned messages leave their seqs used: the next is the 13th.
    ASSERT_TRUE(send_kept(*alice, "m13"));
    EXPECT_EQ(last_own_seq(*alice), 13u);
}

TEST(DurableState, ADamagedDatabaseIsAClearStartUpError) {
    node_home h;
    std::filesystem::create_directories(h.state);
    std::ofstream(h.state + "/history.db") << std::string(10000, 'z');
    node broken(at(h, "127.0.0.1").named("alice").no_wait());
    auto const status = broken.wait_exit(10s);
    ASSERT_TRUE(status.has_value()) << "still running with a damaged database";
    EXPECT_EQ(*status, 1);
    auto const log = broken.log();
    EXPECT_NE(log.find("p2pchatd: cannot open the history database " + h.state +
                       "/history.db: file is not a database\n"),
              std::string::npos)
        << log;

    // A database where none can be made (a directory in its place, as an unwritable state
    // directory would leave it).
    std::filesystem::remove(h.state + "/history.db");
    std::filesystem::create_directory(h.state + "/history.db");
    node unwritable(at(h, "127.0.0.1").named("alice").no_wait());
    ASSERT_EQ(unwritable.wait_exit(10s), std::optional<int>(1));
    EXPECT_NE(unwritable.log().find("p2pchatd: cannot open the history database"),
              std::string::npos)
        << unwritable.log();
}

}  // namespace
}  // namespace p2pchat::test
