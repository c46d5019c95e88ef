// membership: the peer table and everything that keeps it the same on every node (join,
// welcome, introductions, hello, rename, leave, refutation, anti-entropy, unreachable peers),
// fed frames by hand with the frame_source a connection layer would vouch for.
#include "common/engine/membership.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/crypto/signatures.hpp"
#include "tests/support/identities.hpp"
#include "tests/unit/engine/property.hpp"

namespace p2pchat::engine {
namespace {

using namespace std::chrono_literals;
using wire::peer_entry;
using wire::peer_state;

constexpr std::int64_t unix_start = 1'764'000'000'000;

instant t(std::int64_t ms) { return {steady_time{} + 1000s + milliseconds(ms), unix_start + ms}; }

// Node `c` is test::identity_of(c): a real key, so its entries carry real signatures. Ids
// live as long as the program: frame_source holds views of them.
std::string const& id(char c) { return test::id_of(c); }
// The node an id names, among those the tests use.
char key_of(std::string const& node_id) {
    for (char c : std::string("bcdefjkmsx"))
        if (id(c) == node_id) return c;
    throw std::logic_error("not a test node");
}

std::string host_of(char c) { return "127.0.2." + std::to_string(static_cast<unsigned char>(c)); }

// One incarnation of a node always looks the same (only its owner raises inc), signed by it.
peer_entry entry(char c, std::uint64_t inc, peer_state state = peer_state::alive) {
    return test::signed_entry(c, std::string("n") + c + std::to_string(inc), host_of(c) + ":7447",
                              inc, state);
}
// The owner's goodbye: signed as a tombstone.
peer_entry tombstone(char c, std::uint64_t inc) { return entry(c, inc, peer_state::left); }
// Another node's verdict that `c` is unreachable: the live entry, marked left, with the live
// signature (the proof the incarnation is the owner's own).
peer_entry verdict(char c, std::uint64_t inc) {
    auto e = entry(c, inc);
    e.state = peer_state::left;
    return e;
}
// What the owner sends to rename itself or leave: the signature of the resulting entry.
wire::rename_msg renamed(char c, std::string name, std::uint64_t inc) {
    auto e = entry(c, inc);
    e.name = name;
    return {id(c), std::move(name), inc, test::sign(e).sig};
}
wire::leave_msg goodbye(char c, std::uint64_t inc) { return {id(c), inc, tombstone(c, inc).sig}; }

// A list as the table gives it: this node's entry first, then the others in id order (ids
// are keys now, so their order is not the order of the letters).
std::vector<peer_entry> in_table_order(std::vector<peer_entry> v) {
    std::sort(v.begin() + 1, v.end(),
              [](peer_entry const& a, peer_entry const& b) { return a.id < b.id; });
    return v;
}

// A frame from `c` on a connection vouched for `c`.
frame_source from(char c, connection_id conn = 1) { return {conn, id(c), "127.0.9.9"}; }

template <class T>
std::vector<T> only(std::vector<effect> const& fx) {
    std::vector<T> out;
    for (auto const& e : fx)
        if (auto const* x = std::get_if<T>(&e)) out.push_back(*x);
    return out;
}
template <class Event>
std::vector<Event> events(std::vector<effect> const& fx) {
    std::vector<Event> out;
    for (auto const& e : only<emit_event>(fx))
        if (auto const* x = std::get_if<Event>(&e.event)) out.push_back(*x);
    return out;
}
// Effects other than log lines, by kind name: the shape of what an input asked for.
std::vector<std::string_view> kinds(std::vector<effect> const& fx) {
    std::vector<std::string_view> out;
    for (auto const& e : fx)
        if (!std::holds_alternative<log_line>(e)) out.push_back(kind_name(e));
    return out;
}
using kind_list = std::vector<std::string_view>;

template <class Message>
Message const& msg(outgoing const& o) {
    return std::get<Message>(*o);
}

struct node_under_test {
    effects out;
    std::vector<wire::chat_msg> history;
    membership m;

    explicit node_under_test(std::size_t max_peers = 256, peer_entry self = entry('s', 100))
        : m(std::move(self), membership_config{max_peers, 2000ms, 30000ms, {.probe_interval = 0ms}},
            7, test::identity_of('s').key, out,
            [this](wire::welcome_msg& w) { w.history = history; }) {}

    std::vector<effect> take() { return out.take(); }
    // Makes `c` a known live peer with its link up, as of time `ms`.
    void know(char c, std::uint64_t inc = 1, std::int64_t ms = 0) {
        m.on_hello(from(c), wire::hello_msg{entry(c, inc)}, t(ms));
        m.on_link_up(id(c), t(ms));
        out.take();
    }
};

// ---------------------------------------------------------------- hello

TEST(Membership, HelloFromAnUnknownPeerAddsItAndDialsIt) {
    node_under_test n;
    n.m.on_hello(from('b'), {entry('b', 1)}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"dial", "event"}));
    auto const dial = only<dial_peer>(fx).at(0);
    EXPECT_EQ(dial.peer, id('b'));
    EXPECT_EQ(dial.target, (address{host_of('b'), 7447}));
    auto const joined = events<peer_joined>(fx).at(0);
    EXPECT_EQ(joined.peer,
              (peer_view{id('b'), "nb1", host_of('b') + ":7447", 1, peer_status::connecting}));
    EXPECT_TRUE(n.m.table().is_alive(id('b')));
}

TEST(Membership, HelloOrJoinNotFromTheVouchedPeerIsIgnored) {
    node_under_test n;
    // A connection vouched for c carries a hello (or join) for b: c speaks for someone else.
    n.m.on_hello(from('c'), {entry('b', 1)}, t(0));
    n.m.on_join(from('c'), {entry('b', 1)}, t(0));
    // An anonymous connection (no hello or join vouched for it yet) is no one.
    n.m.on_hello({1, {}, "127.0.9.9"}, {entry('b', 1)}, t(0));
    auto const fx = n.take();
    EXPECT_TRUE(kinds(fx).empty());
    EXPECT_EQ(only<log_line>(fx).size(), 3u);
    EXPECT_EQ(n.m.table().find(id('b')), nullptr);
}

TEST(Membership, HelloWithANewerIncarnationUpdatesNameAndAddress) {
    node_under_test n;
    n.know('b', 1);
    auto moved = entry('b', 2);
    moved.addr = "127.0.3.1:7500";
    test::sign(moved);
    n.m.on_hello(from('b'), {moved}, t(10));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"redirect", "event"}));
    EXPECT_EQ(only<redirect_link>(fx).at(0).target, (address{"127.0.3.1", 7500}));
    auto const renamed = events<peer_renamed>(fx).at(0);
    EXPECT_EQ(renamed.old_name, "nb1");
    EXPECT_EQ(renamed.peer.name, "nb2");
    EXPECT_EQ(renamed.peer.status, peer_status::alive);
    EXPECT_EQ(*n.m.table().find(id('b')), moved);
}

TEST(Membership, HelloWithTheSameOrAnOlderIncarnationChangesNothing) {
    node_under_test n;
    n.know('b', 5);
    n.m.on_hello(from('b'), {entry('b', 5)}, t(10));
    n.m.on_hello(from('b'), {entry('b', 4)}, t(10));
    EXPECT_TRUE(kinds(n.take()).empty());
    EXPECT_EQ(n.m.table().find(id('b'))->inc, 5u);
}

// ---------------------------------------------------------------- join

TEST(Membership, JoinIsWelcomedAndTheNewcomerIntroducedWithOneEntry) {
    node_under_test n;
    n.history = {test::chained_chat('b', 1, 1, "hi", {}, "nb", 5)};
    n.know('b');
    n.know('c');
    n.m.on_join(from('j', 42), {entry('j', 7)}, t(100));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"dial", "event", "reply", "close", "broadcast"}));
    auto const reply = only<reply_on>(fx).at(0);
    EXPECT_EQ(reply.connection, 42u);
    auto const& welcome = msg<wire::welcome_msg>(reply.message);
    EXPECT_EQ(welcome.from, entry('s', 100));
    EXPECT_EQ(welcome.peers,
              in_table_order({entry('s', 100), entry('b', 1), entry('c', 1), entry('j', 7)}));
    EXPECT_EQ(welcome.history, n.history);
    auto const close = only<close_connection>(fx).at(0);
    EXPECT_EQ(close.connection, 42u);
    EXPECT_TRUE(close.flush);  // the welcome goes out first
    // Everyone else hears of the newcomer: one entry, not the table.
    auto const intro = only<broadcast>(fx).at(0);
    EXPECT_EQ(intro.except, id('j'));
    auto const& peers = msg<wire::peers_msg>(intro.message);
    EXPECT_EQ(peers.peers, std::vector<peer_entry>{entry('j', 7)});
    EXPECT_FALSE(peers.full);
    EXPECT_EQ(only<dial_peer>(fx).at(0).peer, id('j'));
}

TEST(Membership, JoinIsRefusedWhenTheTableIsFull) {
    node_under_test n(2);
    n.know('b');
    n.know('c');
    n.m.on_join(from('j', 9), {entry('j', 7)}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"reply", "close"}));
    auto const& refused = msg<wire::refused_msg>(only<reply_on>(fx).at(0).message);
    EXPECT_EQ(refused.code, "table_full");
    EXPECT_NE(refused.reason.find("2 peers"), std::string::npos);
    EXPECT_TRUE(only<close_connection>(fx).at(0).flush);
    EXPECT_EQ(n.m.table().find(id('j')), nullptr);
}

TEST(Membership, AKnownPeerMayJoinAgainWhenTheTableIsFull) {
    node_under_test n(2);
    n.know('b');
    n.know('c');
    n.m.on_join(from('b', 9), {entry('b', 2)}, t(0));  // b restarted
    auto const fx = n.take();
    ASSERT_EQ(only<reply_on>(fx).size(), 1u);
    EXPECT_TRUE(std::holds_alternative<wire::welcome_msg>(*only<reply_on>(fx)[0].message));
    EXPECT_EQ(n.m.table().find(id('b'))->inc, 2u);
}

// Members only heard of: signed by keys of their own (any member can make such keys), relayed
// by `b`, never reached. Named '@', 'A', 'B', ...
std::vector<peer_entry> made_up_members(std::size_t count) {
    std::vector<peer_entry> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(entry(static_cast<char>('@' + i), 1));
    return out;
}

TEST(Membership, PeersOnlyHeardOfAreCappedUntilTheyAreReached) {
    node_under_test n(40);  // max_unreached: max(16, 40 / 2) = 20
    ASSERT_EQ(membership::max_unreached(40), 20u);
    n.know('b');
    n.m.on_peers(from('b'), {made_up_members(30), false}, t(0));
    EXPECT_EQ(n.m.table().alive_count(), 1u + 20u);
    EXPECT_EQ(only<dial_peer>(n.take()).size(), 20u);
    EXPECT_EQ(n.m.table().find(id('@' + 25)), nullptr);
    // One of them is reached: room for one more heard of.
    n.m.on_link_up(id('@'), t(10));
    n.m.on_peers(from('b'), {made_up_members(30), false}, t(20));
    EXPECT_EQ(n.m.table().alive_count(), 1u + 21u);
    // A peer that speaks for itself is never held back.
    n.m.on_hello(from('x'), {entry('x', 1)}, t(30));
    EXPECT_NE(n.m.table().find(id('x')), nullptr);
}

TEST(Membership, AJoinerOnAFullTableTakesThePlaceOfAPeerNeverReached) {
    node_under_test n(4);
    n.know('b');
    n.m.on_peers(from('b'), {made_up_members(3), false}, t(0));
    ASSERT_TRUE(n.m.table().full());
    n.take();
    n.m.on_join(from('j', 9), {entry('j', 7)}, t(100));
    auto const fx = n.take();
    ASSERT_EQ(only<reply_on>(fx).size(), 1u);
    EXPECT_TRUE(std::holds_alternative<wire::welcome_msg>(*only<reply_on>(fx)[0].message));
    EXPECT_NE(n.m.table().find(id('j')), nullptr);
    EXPECT_EQ(n.m.table().alive_count(), 4u);
    auto const gone = events<peer_left>(fx);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_NE(gone[0].peer.id, id('b'));  // b was reached: it stays
    EXPECT_EQ(gone[0].reason, leave_reason::unreachable);
    EXPECT_EQ(only<hang_up>(fx).size(), 1u);
    EXPECT_NE(n.m.table().find(id('b')), nullptr);
}

TEST(Membership, OurOwnJoinsWelcomeIsTakenWhole) {
    node_under_test n(40);
    auto const members = made_up_members(30);
    n.m.on_welcome(entry('b', 1), membership::provenance::owner, members, t(0), true);
    EXPECT_EQ(n.m.table().alive_count(), 31u);
    // An unasked welcome is news like any other.
    node_under_test m(40);
    m.m.on_welcome(entry('b', 1), membership::provenance::owner, members, t(0));
    EXPECT_EQ(m.m.table().alive_count(), 1u + 20u);
}

TEST(Membership, JoinIsRefusedWhileStopping) {
    node_under_test n;
    n.know('b');
    n.m.stop();
    n.take();
    n.m.on_join(from('j', 3), {entry('j', 7)}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"reply", "close"}));
    EXPECT_EQ(msg<wire::refused_msg>(only<reply_on>(fx).at(0).message).code, "shutting_down");
}

TEST(Membership, JoinToItselfIsAnsweredWithAnEmptyWelcome) {
    node_under_test n;
    n.know('b');
    n.m.on_join(from('s', 4), {entry('s', 100)}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"reply", "close"}));
    auto const& welcome = msg<wire::welcome_msg>(only<reply_on>(fx).at(0).message);
    EXPECT_EQ(welcome.from.id, id('s'));
    EXPECT_TRUE(welcome.peers.empty());
    EXPECT_TRUE(welcome.history.empty());
    EXPECT_EQ(n.m.table().alive_count(), 1u);
}

TEST(Membership, AJoinBringsALeftNodeBack) {
    node_under_test n;
    n.know('b');
    n.m.leave();
    ASSERT_EQ(n.m.state(), node_state::left);
    n.take();
    n.m.on_join(from('j', 5), {entry('j', 7)}, t(0));
    EXPECT_EQ(n.m.state(), node_state::active);
    auto const fx = n.take();
    auto const& welcome = msg<wire::welcome_msg>(only<reply_on>(fx).at(0).message);
    EXPECT_EQ(welcome.from.inc, 101u);  // it left as 100: its return outranks its goodbye
    EXPECT_EQ(welcome.peers, (std::vector<peer_entry>{welcome.from, entry('j', 7)}));
}

// A node advertises a concrete address, which its signature covers (PROTOCOL.md, "The peer
// entry"): the engine keeps it whatever address the connection came from (behind a NAT, or
// from another interface), and so the introduction it relays still verifies.
TEST(Membership, AJoinKeepsTheAddressTheNewcomerAdvertises) {
    node_under_test n;
    n.know('b');
    auto advertised = entry('j', 7);
    advertised.addr = "198.51.100.7:7000";
    test::sign(advertised);
    n.m.on_join({5, id('j'), "127.0.5.5"}, {advertised}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(*n.m.table().find(id('j')), advertised);
    EXPECT_EQ(only<dial_peer>(fx).at(0).target, (address{"198.51.100.7", 7000}));
    auto const& intro = msg<wire::peers_msg>(only<broadcast>(fx).at(0).message);
    EXPECT_EQ(intro.peers.at(0), advertised);
    EXPECT_TRUE(crypto::verifies(intro.peers.at(0)));
    // The same over IPv6.
    auto v6 = entry('k', 7);
    v6.addr = "[2001:db8::7]:7001";
    test::sign(v6);
    n.m.on_join({6, id('k'), "::1"}, {v6}, t(0));
    EXPECT_EQ(n.m.table().find(id('k'))->addr, "[2001:db8::7]:7001");
}

// ---------------------------------------------------------------- introductions

TEST(Membership, APeerLearnedSoonAfterAJoinIsIntroducedBothWays) {
    node_under_test n;
    n.know('b');
    n.m.on_join(from('j', 5), {entry('j', 7)}, t(0));
    n.take();
    // c joined elsewhere at the same moment; its introduction reaches us after our welcome
    // to j left, so j may not know c, nor c j.
    n.m.on_peers(from('b'), {{entry('c', 3)}, false}, t(4000));
    auto const fx = n.take();
    auto const sends = only<send_to_peer>(fx);
    ASSERT_EQ(sends.size(), 2u);
    EXPECT_EQ(sends[0].peer, id('j'));
    EXPECT_EQ(msg<wire::peers_msg>(sends[0].message).peers, std::vector{entry('c', 3)});
    EXPECT_EQ(sends[1].peer, id('c'));
    EXPECT_EQ(msg<wire::peers_msg>(sends[1].message).peers, std::vector{entry('j', 7)});
}

TEST(Membership, NoIntroductionAfterTwoGossipIntervals) {
    node_under_test n;
    n.know('b');
    n.m.on_join(from('j', 5), {entry('j', 7)}, t(0));
    n.take();
    n.m.on_peers(from('b'), {{entry('c', 3)}, false}, t(4001));
    EXPECT_TRUE(only<send_to_peer>(n.take()).empty());
}

TEST(Membership, ANewcomerIsNotIntroducedToItself) {
    node_under_test n;
    n.m.on_join(from('j', 5), {entry('j', 7)}, t(0));
    n.take();
    n.m.on_hello(from('j'), {entry('j', 8)}, t(10));  // updated, not joined: nothing
    n.m.on_peers(from('j'), {{tombstone('j', 8), entry('j', 9)}, false}, t(20));
    for (auto const& s : only<send_to_peer>(n.take()))
        EXPECT_NE(msg<wire::peers_msg>(s.message).peers.at(0).id, s.peer);
}

// ---------------------------------------------------------------- welcome, peers

TEST(Membership, WelcomeMergesTheContactAndEveryEntryAndDialsThem) {
    node_under_test n;
    auto const contact = entry('c', 3);
    n.m.on_welcome(contact, membership::provenance::owner,
                   {contact, entry('b', 1), tombstone('d', 4), entry('s', 100)}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(*n.m.table().find(id('c')), contact);
    auto const dials = only<dial_peer>(fx);
    ASSERT_EQ(dials.size(), 2u);
    EXPECT_EQ(dials[0].peer, id('c'));
    EXPECT_EQ(dials[0].target, (address{host_of('c'), 7447}));
    EXPECT_EQ(dials[1].peer, id('b'));
    EXPECT_EQ(events<peer_joined>(fx).size(), 2u);
    EXPECT_EQ(n.m.table().find(id('d'))->state, peer_state::left);  // a tombstone is kept
    EXPECT_EQ(n.m.table().alive_count(), 2u);
}

// An address is the owner's to change: its signed entry moves the link, whoever relays it.
TEST(Membership, AnAddressChangeSignedByItsOwnerIsTakenFromAnyone) {
    node_under_test n;
    n.know('b');
    n.know('c');
    auto moved = entry('c', 2);
    moved.addr = "127.0.7.7:7448";
    test::sign(moved);
    n.m.on_peers(from('b'), {{moved}, false}, t(0));  // b relays c's own word
    EXPECT_EQ(*n.m.table().find(id('c')), moved);
    EXPECT_EQ(only<redirect_link>(n.take()).at(0).target, (address{"127.0.7.7", 7448}));
    // From c itself, the same.
    auto again = entry('c', 3);
    again.addr = "127.0.8.8:7449";
    test::sign(again);
    n.m.on_peers(from('c'), {{again}, false}, t(0));
    EXPECT_EQ(*n.m.table().find(id('c')), again);
    EXPECT_EQ(only<redirect_link>(n.take()).at(0).target, (address{"127.0.8.8", 7449}));
    EXPECT_EQ(n.m.forged_entries(), 0u);
}

TEST(Membership, AFullListIsAnsweredWithWhatItLacks) {
    node_under_test n;
    n.know('b', 2);
    n.know('c', 3);
    n.know('d', 1);
    // b's full list: it has c older, lacks d and us, has e we lack.
    n.m.on_peers(from('b', 8), {{entry('b', 2), entry('c', 1), entry('e', 1)}, true}, t(0));
    auto const fx = n.take();
    auto const reply = only<reply_on>(fx).at(0);
    EXPECT_EQ(reply.connection, 8u);
    auto const& answer = msg<wire::peers_msg>(reply.message);
    EXPECT_FALSE(answer.full);
    EXPECT_EQ(answer.peers, in_table_order({entry('s', 100), entry('c', 3), entry('d', 1)}));
    EXPECT_TRUE(n.m.table().is_alive(id('e')));
}

TEST(Membership, AFullListThatLacksNothingIsNotAnswered) {
    node_under_test n;
    n.know('b', 2);
    n.m.on_peers(from('b'), {{entry('s', 100), entry('b', 2)}, true}, t(0));
    EXPECT_TRUE(only<reply_on>(n.take()).empty());
    // Nor is a list that is not full, whatever it lacks.
    n.m.on_peers(from('b'), {{}, false}, t(0));
    EXPECT_TRUE(only<reply_on>(n.take()).empty());
}

TEST(Membership, NewPeersBeyondTheTableLimitAreNotAdded) {
    node_under_test n(2);
    n.m.on_peers(from('b'), {{entry('b', 1), entry('c', 1), entry('d', 1)}, false}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(n.m.table().alive_count(), 2u);
    EXPECT_EQ(n.m.table().find(id('d')), nullptr);
    EXPECT_EQ(only<dial_peer>(fx).size(), 2u);
    EXPECT_EQ(events<peer_joined>(fx).size(), 2u);
    EXPECT_EQ(n.m.links(), 2u);
}

// ---------------------------------------------------------------- anti-entropy

TEST(Membership, ADigestThatDiffersIsAnsweredWithTheFullTable) {
    node_under_test n;
    n.know('b', 1, 0);
    n.m.on_digest(from('b', 3), {"0000", 2}, t(2000));  // settled: no change for an interval
    auto const fx = n.take();
    auto const reply = only<reply_on>(fx).at(0);
    EXPECT_EQ(reply.connection, 3u);
    auto const& peers = msg<wire::peers_msg>(reply.message);
    EXPECT_TRUE(peers.full);
    EXPECT_EQ(peers.peers, n.m.table().all_entries());
}

TEST(Membership, AMatchingDigestIsNotAnswered) {
    node_under_test n;
    n.know('b', 1, 0);
    n.m.on_digest(from('b'), {n.m.table().digest(), 2}, t(5000));
    EXPECT_TRUE(kinds(n.take()).empty());
}

TEST(Membership, NoFullTableWhileTheTableIsStillChanging) {
    node_under_test n;
    n.know('b', 1, 0);
    n.m.on_digest(from('b'), {"0000", 2}, t(1999));
    EXPECT_TRUE(kinds(n.take()).empty());
    n.m.on_hello(from('c'), {entry('c', 1)}, t(3000));  // a change restarts the wait
    n.take();
    n.m.on_digest(from('b'), {"0000", 3}, t(4999));
    EXPECT_TRUE(kinds(n.take()).empty());
    n.m.on_digest(from('b'), {"0000", 3}, t(5000));
    EXPECT_EQ(kinds(n.take()), kind_list{"reply"});
}

TEST(Membership, GossipTimerSendsADigestToAConnectedPeerAndRearms) {
    node_under_test n;
    n.m.start(t(0));
    EXPECT_EQ(only<arm_timer>(n.take()).at(0).at, t(2000).steady);
    n.know('b', 1, 0);
    n.m.on_hello(from('c'), {entry('c', 1)}, t(0));  // c's link is not up
    n.take();
    n.m.on_gossip_timer(t(2000));
    auto const fx = n.take();
    EXPECT_EQ(only<arm_timer>(fx).at(0).at, t(4000).steady);
    auto const sends = only<send_to_peer>(fx);
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0].peer, id('b'));
    auto const& digest = msg<wire::digest_msg>(sends[0].message);
    EXPECT_EQ(digest.hash, n.m.table().digest());
    EXPECT_EQ(digest.count, 3u);  // live entries, this node included
}

TEST(Membership, NoDigestWhileSettlingOrWithoutAConnectedLink) {
    node_under_test n;
    n.m.on_gossip_timer(t(0));  // nobody
    EXPECT_TRUE(only<send_to_peer>(n.take()).empty());
    n.know('b', 1, 1000);
    n.m.on_gossip_timer(t(2000));  // b arrived 1 s ago
    auto const fx = n.take();
    EXPECT_TRUE(only<send_to_peer>(fx).empty());
    EXPECT_EQ(only<arm_timer>(fx).size(), 1u);  // but the timer goes on
}

TEST(Membership, DigestPartnersAreRandomButTheSameForTheSameSeed) {
    auto partners = [] {
        node_under_test n;
        for (char c : {'b', 'c', 'd', 'e'}) n.know(c, 1, 0);
        std::vector<std::string> out;
        for (int i = 1; i <= 40; ++i) {
            n.m.on_gossip_timer(t(2000 * i));
            out.push_back(only<send_to_peer>(n.take()).at(0).peer);
        }
        return out;
    };
    auto const first = partners();
    EXPECT_EQ(first, partners());
    EXPECT_EQ(std::set<std::string>(first.begin(), first.end()).size(), 4u);
}

TEST(Membership, TheGossipTimerStopsWhenTheNodeStops) {
    node_under_test n;
    n.m.stop();
    n.take();
    n.m.on_gossip_timer(t(2000));
    EXPECT_TRUE(n.take().empty());
}

// ---------------------------------------------------------------- rename

TEST(Membership, APeerRenamesItself) {
    node_under_test n;
    n.know('b', 1);
    n.m.on_rename(from('b'), renamed('b', "bobby", 2), t(0));
    auto const fx = n.take();
    auto const event = events<peer_renamed>(fx).at(0);
    EXPECT_EQ(event.old_name, "nb1");
    EXPECT_EQ(event.peer.name, "bobby");
    EXPECT_EQ(event.peer.incarnation, 2u);
    EXPECT_EQ(n.m.table().find(id('b'))->name, "bobby");
    // Kept with b's signature of the renamed entry, for relaying.
    EXPECT_TRUE(crypto::verifies(*n.m.table().find(id('b'))));
    EXPECT_TRUE(only<redirect_link>(fx).empty());  // the address stays
}

TEST(Membership, OnlyANodeItselfMayRenameItself) {
    node_under_test n;
    n.know('b', 1);
    n.know('c', 1);
    n.m.on_rename(from('c'), renamed('b', "mallory", 9), t(0));    // even with b's signature
    n.m.on_rename(from('c'), renamed('s', "mallory", 900), t(0));  // nor us
    auto const fx = n.take();
    EXPECT_TRUE(kinds(fx).empty());
    EXPECT_EQ(only<log_line>(fx).size(), 2u);
    EXPECT_EQ(n.m.table().find(id('b'))->name, "nb1");
    EXPECT_EQ(n.m.self().name, "ns100");
}

TEST(Membership, AStaleOrUnknownRenameChangesNothing) {
    node_under_test n;
    n.know('b', 5);
    n.m.on_rename(from('b'), renamed('b', "old", 5), t(0));
    n.m.on_rename(from('b'), renamed('b', "older", 4), t(0));
    n.m.on_rename(from('x'), renamed('x', "who", 4), t(0));
    EXPECT_TRUE(kinds(n.take()).empty());
    EXPECT_EQ(n.m.table().find(id('b'))->name, "nb5");
    EXPECT_EQ(n.m.table().find(id('x')), nullptr);
}

TEST(Membership, RenamingItselfRaisesTheIncarnationAndTellsEveryone) {
    node_under_test n;
    n.know('b');
    EXPECT_TRUE(n.m.rename("sam"));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"broadcast", "event"}));
    auto const& rn = msg<wire::rename_msg>(only<broadcast>(fx).at(0).message);
    EXPECT_EQ(rn.id, id('s'));
    EXPECT_EQ(rn.name, "sam");
    EXPECT_EQ(rn.inc, 101u);
    // Signed: a receiver keeps the renamed entry with it and relays it to others.
    EXPECT_EQ(rn.sig, n.m.self().sig);
    EXPECT_TRUE(crypto::verifies(n.m.self()));
    EXPECT_EQ(n.m.self(), test::signed_entry('s', "sam", host_of('s') + ":7447", 101));
    auto const event = events<peer_renamed>(fx).at(0);
    EXPECT_EQ(event.old_name, "ns100");
    EXPECT_EQ(event.peer.status, peer_status::self);
    EXPECT_EQ(n.m.self().inc, 101u);
    // The same name again is no change.
    EXPECT_FALSE(n.m.rename("sam"));
    EXPECT_TRUE(n.take().empty());
    EXPECT_EQ(n.m.self().inc, 101u);
}

// ---------------------------------------------------------------- leave

TEST(Membership, APeerLeaving) {
    node_under_test n;
    n.know('b', 3);
    n.know('c');
    n.m.on_leave(from('b'), goodbye('b', 3), t(0));
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"hang_up", "event"}));
    EXPECT_EQ(only<hang_up>(fx).at(0).peer, id('b'));
    EXPECT_FALSE(only<hang_up>(fx).at(0).flush);
    auto const left = events<peer_left>(fx).at(0);
    EXPECT_EQ(left.reason, leave_reason::left);
    EXPECT_EQ(left.peer.status, peer_status::left);
    EXPECT_EQ(*n.m.table().find(id('b')), tombstone('b', 3));
    EXPECT_EQ(n.m.table().alive_count(), 1u);
    EXPECT_EQ(n.m.links(), 1u);
}

TEST(Membership, OnlyANodeItselfMayLeave) {
    node_under_test n;
    n.know('b');
    n.know('c');
    n.m.on_leave(from('c'), goodbye('b', 1), t(0));  // even with b's signature
    EXPECT_TRUE(kinds(n.take()).empty());
    EXPECT_TRUE(n.m.table().is_alive(id('b')));
}

TEST(Membership, ALateGoodbyeCannotRemoveANewerIncarnation) {
    node_under_test n;
    n.know('b', 1);
    n.m.on_hello(from('b'), {entry('b', 2)}, t(0));  // b left as 1 and came back as 2
    n.take();
    n.m.on_leave(from('b'), goodbye('b', 1), t(0));
    EXPECT_TRUE(kinds(n.take()).empty());
    EXPECT_TRUE(n.m.table().is_alive(id('b')));
}

TEST(Membership, LeavingSaysGoodbyeHangsUpAfterItAndForgetsEveryone) {
    node_under_test n;
    n.know('b');
    n.know('c');
    EXPECT_EQ(n.m.leave(), 2u);
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"broadcast", "hang_up", "hang_up", "event"}));
    auto const& said = msg<wire::leave_msg>(only<broadcast>(fx).at(0).message);
    EXPECT_EQ(said.id, id('s'));
    EXPECT_EQ(said.inc, 100u);
    // Signed as the tombstone it makes: a receiver can relay it and others believe it.
    EXPECT_EQ(said.sig, tombstone('s', 100).sig);
    for (auto const& h : only<hang_up>(fx)) EXPECT_TRUE(h.flush);  // the goodbye gets out
    auto const left = events<peer_left>(fx).at(0);
    EXPECT_EQ(left.peer.id, id('s'));
    EXPECT_EQ(left.peer.status, peer_status::self);
    EXPECT_EQ(left.reason, leave_reason::left);
    EXPECT_EQ(n.m.state(), node_state::left);
    EXPECT_EQ(n.m.table().alive_count(), 0u);
    EXPECT_EQ(n.m.links(), 0u);
    EXPECT_EQ(n.m.self().inc, 101u);  // a rejoin outranks the goodbye
}

TEST(Membership, LeavingWhenAloneTellsNobody) {
    node_under_test n;
    EXPECT_EQ(n.m.leave(), 0u);
    EXPECT_TRUE(kinds(n.take()).empty());
    EXPECT_EQ(n.m.state(), node_state::left);
}

TEST(Membership, StoppingLeavesAndOpensNoLinks) {
    node_under_test n;
    n.know('b');
    n.m.stop();
    auto const fx = n.take();
    EXPECT_EQ(kinds(fx), (kind_list{"broadcast", "hang_up", "event"}));
    EXPECT_EQ(n.m.state(), node_state::stopping);
    n.m.on_welcome(entry('c', 1), membership::provenance::owner, {entry('d', 1)}, t(0));
    EXPECT_TRUE(only<dial_peer>(n.take()).empty());
}

TEST(Membership, RejoiningWhileAloneStartsAfresh) {
    node_under_test n;
    n.know('b', 4, 0);
    n.m.on_link_down(id('b'), t(0));
    n.m.on_gossip_timer(t(30001));  // b removed as unreachable: a tombstone at b's own inc
    ASSERT_EQ(n.m.table().alive_count(), 0u);
    n.take();
    n.m.rejoin(entry('d', 1));
    EXPECT_EQ(n.m.table().find(id('b')), nullptr);
    EXPECT_EQ(n.m.self().inc, 101u);  // outranks whatever the others hold of it
    EXPECT_TRUE(n.take().empty());
    // So the welcome's b@4 is b again.
    n.m.on_welcome(entry('b', 4), membership::provenance::owner, {}, t(30002));
    EXPECT_TRUE(n.m.table().is_alive(id('b')));
}

TEST(Membership, RejoiningWhileInANetworkKeepsTheTable) {
    node_under_test n;
    n.know('b');
    n.m.on_leave(from('b'), goodbye('b', 1), t(0));
    n.know('c');
    n.m.rejoin(entry('c', 1));
    EXPECT_EQ(n.m.self().inc, 100u);
    ASSERT_NE(n.m.table().find(id('b')), nullptr);
    EXPECT_EQ(*n.m.table().find(id('b')), tombstone('b', 1));
    EXPECT_TRUE(n.m.table().is_alive(id('c')));
}

TEST(Membership, RejoiningForgetsATombstoneOfTheContactThatAnswered) {
    node_under_test n;
    n.know('b', 4);
    n.know('c', 2);
    n.m.on_link_down(id('c'), t(0));
    n.m.on_gossip_timer(t(30001));  // c removed as unreachable at its own incarnation
    ASSERT_EQ(*n.m.table().find(id('c')), verdict('c', 2));
    n.take();
    n.m.rejoin(entry('c', 2));  // and then c answered our join at that incarnation
    EXPECT_EQ(n.m.table().find(id('c')), nullptr);
    EXPECT_EQ(n.m.self().inc, 100u);
    n.m.on_welcome(entry('c', 2), membership::provenance::owner, {}, t(30002));
    EXPECT_TRUE(n.m.table().is_alive(id('c')));
    EXPECT_EQ(only<dial_peer>(n.take()).at(0).peer, id('c'));
    // A tombstone newer than what the contact says is news for the contact to refute: kept.
    n.m.on_peers(from('b'), {{tombstone('c', 3)}, false}, t(30003));
    n.take();
    n.m.rejoin(entry('c', 2));
    EXPECT_EQ(*n.m.table().find(id('c')), tombstone('c', 3));
}

TEST(Membership, RejoiningAfterLeavingDoesNotRaiseTheIncarnationTwice) {
    node_under_test n;
    n.know('b');
    n.m.leave();
    n.m.rejoin(entry('b', 4));
    EXPECT_EQ(n.m.state(), node_state::active);
    EXPECT_EQ(n.m.self().inc, 101u);
}

// ---------------------------------------------------------------- refutation

TEST(Membership, AStaleTombstoneAboutItselfIsRefuted) {
    node_under_test n;
    n.know('b');
    n.know('c');
    n.m.on_peers(from('b'), {{tombstone('s', 100)}, false}, t(0));
    auto const fx = n.take();
    EXPECT_EQ(n.m.self().inc, 101u);
    EXPECT_EQ(n.m.self().state, peer_state::alive);
    auto const b = only<broadcast>(fx).at(0);
    EXPECT_TRUE(b.except.empty());
    EXPECT_EQ(msg<wire::peers_msg>(b.message).peers, std::vector{n.m.self()});
}

TEST(Membership, AnEntryAboutItselfFromItsFutureIsRefutedToo) {
    // A clock that went backwards across a restart: others know a higher incarnation.
    node_under_test n;
    n.know('b');
    n.m.on_peers(from('b'), {{entry('s', 500)}, false}, t(0));
    EXPECT_EQ(n.m.self().inc, 501u);
    EXPECT_EQ(only<broadcast>(n.take()).size(), 1u);
}

TEST(Membership, OlderNewsAboutItselfIsIgnored) {
    node_under_test n;
    n.know('b');
    n.m.on_peers(from('b'), {{tombstone('s', 99), entry('s', 100)}, false}, t(0));
    EXPECT_TRUE(kinds(n.take()).empty());
    EXPECT_EQ(n.m.self().inc, 100u);
}

TEST(Membership, ANodeThatLeftDoesNotRefute) {
    node_under_test n;
    n.know('b');
    n.m.leave();
    n.take();
    n.m.on_peers(from('b'), {{tombstone('s', 101)}, false}, t(0));
    EXPECT_TRUE(kinds(n.take()).empty());
    EXPECT_EQ(n.m.self().inc, 101u);
}

// ---------------------------------------------------------------- unreachable peers

TEST(Membership, APeerDownForThePeerTimeoutIsRemovedAsUnreachable) {
    node_under_test n;
    n.know('b', 4, 0);
    n.know('c', 1, 0);
    n.m.on_link_down(id('b'), t(1000));
    n.m.on_link_down(id('b'), t(20000));  // redials failing: still down since 1000
    n.m.on_gossip_timer(t(31000));        // down exactly 30 s: not yet
    EXPECT_TRUE(n.m.table().is_alive(id('b')));
    n.take();
    n.m.on_gossip_timer(t(31001));
    auto const fx = n.take();
    EXPECT_EQ(only<hang_up>(fx).at(0).peer, id('b'));
    EXPECT_FALSE(only<hang_up>(fx).at(0).flush);
    auto const left = events<peer_left>(fx).at(0);
    EXPECT_EQ(left.reason, leave_reason::unreachable);
    EXPECT_EQ(left.peer.id, id('b'));
    // A tombstone at the peer's own incarnation, with its signature of the live entry: a live
    // peer can refute it, and others believe it was the peer's incarnation.
    EXPECT_EQ(*n.m.table().find(id('b')), verdict('b', 4));
    EXPECT_TRUE(n.m.table().is_alive(id('c')));
}

TEST(Membership, ALinkThatComesBackResetsTheTimeout) {
    node_under_test n;
    n.know('b', 1, 0);
    n.m.on_link_down(id('b'), t(1000));
    n.m.on_link_up(id('b'), t(20000));
    n.m.on_link_down(id('b'), t(25000));
    n.m.on_gossip_timer(t(50000));
    EXPECT_TRUE(n.m.table().is_alive(id('b')));
    n.m.on_gossip_timer(t(55001));
    EXPECT_FALSE(n.m.table().is_alive(id('b')));
}

TEST(Membership, APeerNeverReachedTimesOutFromTheFirstFailedDial) {
    node_under_test n;
    n.m.on_hello(from('b'), {entry('b', 1)}, t(0));  // dialled, never connected
    n.m.on_gossip_timer(t(60000));                   // no failure reported yet: not down
    EXPECT_TRUE(n.m.table().is_alive(id('b')));
    n.m.on_link_down(id('b'), t(60000));
    n.m.on_gossip_timer(t(90001));
    EXPECT_FALSE(n.m.table().is_alive(id('b')));
}

TEST(Membership, TombstonesExpireAndAreNotTakenBackFromASlowerNode) {
    node_under_test n;
    n.know('b', 3, 0);
    n.m.on_leave(from('b'), goodbye('b', 3), t(0));
    n.m.on_gossip_timer(t(membership::tombstone_lifetime.count() - 1));
    ASSERT_NE(n.m.table().find(id('b')), nullptr);
    n.m.on_gossip_timer(t(membership::tombstone_lifetime.count()));
    EXPECT_EQ(n.m.table().find(id('b')), nullptr);
    n.take();
    // A node that has not expired it yet lists b's old entries: neither comes back.
    n.m.on_peers(from('c'), {{entry('b', 3), tombstone('b', 3)}, false}, t(700000));
    EXPECT_EQ(n.m.table().find(id('b')), nullptr);
    EXPECT_TRUE(only<dial_peer>(n.take()).empty());
}

// ---------------------------------------------------------------- links and views

TEST(Membership, ALinkThatComesUpIsGreetedFirstWithTheCurrentEntry) {
    node_under_test n;
    n.m.on_hello(from('b'), {entry('b', 1)}, t(0));
    n.m.rename("sam");
    n.take();
    n.m.on_link_up(id('b'), t(0));
    auto const sends = only<send_to_peer>(n.take());
    ASSERT_EQ(sends.size(), 1u);
    EXPECT_EQ(sends[0].peer, id('b'));
    EXPECT_TRUE(sends[0].first);
    EXPECT_EQ(msg<wire::hello_msg>(sends[0].message).from, n.m.self());
    EXPECT_EQ(n.m.self().name, "sam");
}

TEST(Membership, LinkReportsForPeersWithoutALinkAreIgnored) {
    node_under_test n;
    n.m.on_link_up(id('b'), t(0));  // hung up meanwhile
    n.m.on_link_down(id('b'), t(0));
    EXPECT_TRUE(n.take().empty());
    EXPECT_EQ(n.m.links(), 0u);
}

TEST(Membership, ViewsShowSelfAliveConnectingAndLeft) {
    node_under_test n;
    n.know('c');                                     // link up
    n.m.on_hello(from('b'), {entry('b', 1)}, t(0));  // dialled, not up
    n.know('d');
    n.m.on_leave(from('d'), goodbye('d', 1), t(0));
    auto const peers = n.m.peers();
    ASSERT_EQ(peers.size(), 3u);  // self first, then live peers by id
    EXPECT_EQ(peers[0].id, id('s'));
    EXPECT_EQ(peers[0].status, peer_status::self);
    EXPECT_EQ(peers[1].id, id('b'));
    EXPECT_EQ(peers[1].status, peer_status::connecting);
    EXPECT_EQ(peers[2].id, id('c'));
    EXPECT_EQ(peers[2].status, peer_status::alive);
    EXPECT_EQ(n.m.view(*n.m.table().find(id('d'))).status, peer_status::left);
    EXPECT_TRUE(n.m.link_connected(id('c')));
    EXPECT_FALSE(n.m.link_connected(id('b')));
}

// ---------------------------------------------------------------- properties

// Follows the links a node asked for and checks every effect about a peer against them.
struct link_tracker {
    std::set<std::string> dialled;
    std::vector<std::string> problems;

    void apply(std::vector<effect> const& fx, std::string const& self) {
        for (auto const& e : fx) {
            if (auto const* d = std::get_if<dial_peer>(&e)) {
                if (d->peer == self) problems.push_back("dialled itself");
                if (!dialled.insert(d->peer).second) problems.push_back("dialled twice");
            } else if (auto const* h = std::get_if<hang_up>(&e)) {
                if (dialled.erase(h->peer) == 0) problems.push_back("hung up without a link");
            } else if (auto const* s = std::get_if<send_to_peer>(&e)) {
                if (!dialled.contains(s->peer)) problems.push_back("sent without a link");
            } else if (auto const* r = std::get_if<redirect_link>(&e)) {
                if (!dialled.contains(r->peer)) problems.push_back("redirected without a link");
            }
        }
    }
};

std::set<std::string> alive_ids(membership const& m) {
    std::set<std::string> out;
    for (auto const& e : m.table().alive_peers()) out.insert(e.id);
    return out;
}

// Random entries about a few nodes, this one ('s', incarnation 100) among them.
rc::Gen<peer_entry> gen_entry() {
    return rc::gen::apply(
        [](char c, std::uint64_t inc, bool alive) {
            if (c == 's') inc += 97;  // around its own incarnation
            return entry(c, inc, alive ? peer_state::alive : peer_state::left);
        },
        rc::gen::element('b', 'c', 'd', 'e', 'f', 's'), rc::gen::inRange<std::uint64_t>(1, 6),
        rc::gen::weightedElement<bool>({{3, true}, {1, false}}));
}

// The merge rule makes the table a join-semilattice: whatever order entries arrive in, in
// whatever batches, duplicated or not, from whichever peer, the table ends the same, at the
// best entry heard for each id; links follow the live entries; and no claim about this node
// outranks what it ends up saying about itself.
TEST(MembershipProperty, AnyOrderOfEntryDeliveriesConvergesTheTable) {
    harness::check_property([] {
        auto const entries = *rc::gen::container<std::vector<peer_entry>>(gen_entry());
        auto const rounds = *rc::gen::inRange(1, 4);
        std::vector<std::string> digests;
        std::vector<std::vector<peer_entry>> tables;
        for (int round = 0; round < rounds; ++round) {
            // Each round: the same entries (some twice) shuffled and cut into frames.
            auto delivery = entries;
            auto const dups = *rc::gen::container<std::vector<std::size_t>>(
                rc::gen::inRange<std::size_t>(0, std::max<std::size_t>(entries.size(), 1)));
            for (auto i : dups)
                if (i < entries.size()) delivery.push_back(entries[i]);
            auto const keys =
                *rc::gen::container<std::vector<int>>(delivery.size(), rc::gen::arbitrary<int>());
            std::vector<std::size_t> order(delivery.size());
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(),
                             [&](auto a, auto b) { return keys[a] < keys[b]; });
            auto const cuts =
                *rc::gen::container<std::vector<bool>>(delivery.size(), rc::gen::arbitrary<bool>());
            node_under_test n;
            link_tracker links;
            std::vector<peer_entry> frame;
            std::int64_t ms = 0;
            auto send = [&] {
                if (frame.empty()) return;
                auto const via = *rc::gen::element('b', 'c', 'x');
                n.m.on_peers(from(via), {frame, *rc::gen::arbitrary<bool>()}, t(ms += 10));
                frame.clear();
                links.apply(n.take(), id('s'));
                RC_ASSERT(links.problems.empty());
                RC_ASSERT(links.dialled == alive_ids(n.m));
            };
            for (std::size_t i = 0; i < order.size(); ++i) {
                frame.push_back(delivery[order[i]]);
                if (cuts[i]) send();
            }
            send();
            for (auto const& e : entries)
                if (e.id == id('s')) RC_ASSERT(!outranks(e, n.m.self()));
            auto all = n.m.table().all_entries();
            all.erase(all.begin());  // self: how far it refuted depends on the order
            tables.push_back(all);
        }
        // The best entry heard for each id, by the merge rule.
        std::map<std::string, peer_entry> best;
        for (auto const& e : entries) {
            if (e.id == id('s')) continue;
            auto [it, fresh] = best.try_emplace(e.id, e);
            if (!fresh && outranks(e, it->second)) it->second = e;
        }
        std::vector<peer_entry> expected;
        for (auto const& [k, e] : best) expected.push_back(e);
        for (auto const& table : tables) RC_ASSERT(table == expected);
    });
}

// With a table limit, whatever arrives: never more live peers than the limit, and a link for
// exactly the live ones.
TEST(MembershipProperty, TheTableLimitHoldsAndLinksFollowTheLivePeers) {
    harness::check_property([] {
        auto const max_peers = *rc::gen::inRange<std::size_t>(0, 4);
        auto const frames = *rc::gen::container<std::vector<std::vector<peer_entry>>>(
            rc::gen::container<std::vector<peer_entry>>(gen_entry()));
        node_under_test n(max_peers);
        link_tracker links;
        std::int64_t ms = 0;
        for (auto const& f : frames) {
            auto const kind = *rc::gen::inRange(0, 4);
            if (kind == 0 && !f.empty() && f[0].state == peer_state::alive && f[0].id != id('s'))
                n.m.on_join(from(key_of(f[0].id)), {f[0]}, t(ms += 500));
            else if (kind == 1 && !f.empty())
                n.m.on_leave(from(key_of(f[0].id)), goodbye(key_of(f[0].id), f[0].inc),
                             t(ms += 500));
            else if (kind == 2)
                n.m.on_gossip_timer(t(ms += 20000));
            else
                n.m.on_peers(from('b'), {f, false}, t(ms += 500));
            if (*rc::gen::arbitrary<bool>()) {
                for (auto const& peer : std::set(links.dialled)) {
                    if (*rc::gen::arbitrary<bool>())
                        n.m.on_link_down(peer, t(ms));
                    else
                        n.m.on_link_up(peer, t(ms));
                }
            }
            links.apply(n.take(), id('s'));
            RC_ASSERT(links.problems.empty());
            RC_ASSERT(n.m.table().alive_count() <= max_peers);
            RC_ASSERT(links.dialled == alive_ids(n.m));
        }
    });
}

}  // namespace
}  // namespace p2pchat::engine
