#include "common/peer_table.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/support/wire_printers.hpp"

namespace p2pchat {
namespace {

using wire::peer_entry;
using wire::peer_state;

constexpr std::int64_t ten_minutes_ms = 10 * 60 * 1000;

std::string node_id(char c) { return std::string(64, c); }

// Name and address follow from (id, inc): only the owner raises inc, so one incarnation of a
// node always looks the same wherever it is reported. The table neither makes nor checks
// signatures (the engine does, tests/unit/engine/membership_test.cpp), but it keeps the one
// an entry came with, for relaying: a stand-in that differs per entry shows it does.
peer_entry entry(char c, std::uint64_t inc, peer_state state = peer_state::alive) {
    std::string const state_text = state == peer_state::alive ? "+" : "-";
    return {node_id(c),
            std::string("n") + c + std::to_string(inc),
            "127.0.0.1:" + std::to_string(7000 + inc % 1000),
            inc,
            state,
            "sig of " + std::string(1, c) + std::to_string(inc) + state_text};
}
peer_entry tombstone(char c, std::uint64_t inc) { return entry(c, inc, peer_state::left); }

peer_table table_of(char self, std::size_t max_peers = 256) {
    return peer_table(entry(self, 100), max_peers);
}

std::string sha256_hex(std::string const& data) {
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, reinterpret_cast<unsigned char const*>(data.data()), data.size());
    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    return hex;
}

// The digest as PROTOCOL.md defines it, computed independently of the table.
std::string expected_digest(std::vector<peer_entry> entries) {
    std::vector<std::string> lines;
    for (auto const& e : entries)
        lines.push_back(e.id + ' ' + std::to_string(e.inc) + ' ' +
                        (e.state == peer_state::alive ? "alive" : "left") + '\n');
    std::sort(lines.begin(), lines.end());
    std::string all;
    for (auto const& l : lines) all += l;
    return sha256_hex(all);
}

TEST(Outranks, HigherIncarnationWins) {
    EXPECT_TRUE(outranks(entry('a', 2), entry('a', 1)));
    EXPECT_FALSE(outranks(entry('a', 1), entry('a', 2)));
    EXPECT_TRUE(outranks(entry('a', 2), tombstone('a', 1)));
    EXPECT_FALSE(outranks(tombstone('a', 1), entry('a', 2)));
}

TEST(Outranks, TombstoneBeatsAliveAtEqualIncarnationOnly) {
    EXPECT_TRUE(outranks(tombstone('a', 5), entry('a', 5)));
    EXPECT_FALSE(outranks(entry('a', 5), tombstone('a', 5)));
    EXPECT_FALSE(outranks(entry('a', 5), entry('a', 5)));
    EXPECT_FALSE(outranks(tombstone('a', 5), tombstone('a', 5)));
}

TEST(PeerTable, StartsWithOnlyItself) {
    peer_table t = table_of('s', 7);
    EXPECT_EQ(t.self(), entry('s', 100));
    EXPECT_EQ(t.max_peers(), 7u);
    EXPECT_EQ(t.alive_count(), 0u);
    EXPECT_FALSE(t.full());
    EXPECT_TRUE(t.alive_peers().empty());
    EXPECT_EQ(t.all_entries(), std::vector<peer_entry>{entry('s', 100)});
    ASSERT_NE(t.find(node_id('s')), nullptr);
    EXPECT_EQ(*t.find(node_id('s')), entry('s', 100));
    EXPECT_FALSE(t.is_alive(node_id('s')));  // self is not a peer
    EXPECT_EQ(t.find(node_id('a')), nullptr);
}

TEST(PeerTable, NewLivePeerJoins) {
    peer_table t = table_of('s');
    auto r = t.merge(entry('a', 1), 0);
    EXPECT_EQ(r.outcome, merge_outcome::joined);
    EXPECT_FALSE(r.previous);
    EXPECT_EQ(t.alive_count(), 1u);
    EXPECT_TRUE(t.is_alive(node_id('a')));
    ASSERT_NE(t.find(node_id('a')), nullptr);
    EXPECT_EQ(*t.find(node_id('a')), entry('a', 1));
}

TEST(PeerTable, SameOrOlderNewsIsIgnored) {
    peer_table t = table_of('s');
    t.merge(entry('a', 5), 0);
    EXPECT_EQ(t.merge(entry('a', 5), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.merge(entry('a', 4), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.merge(tombstone('a', 4), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(*t.find(node_id('a')), entry('a', 5));
    EXPECT_EQ(t.alive_count(), 1u);
}

TEST(PeerTable, EqualIncarnationWithOtherDetailsIsIgnored) {
    peer_table t = table_of('s');
    t.merge(entry('a', 5), 0);
    auto impostor = entry('a', 5);
    impostor.name = "mallory";
    impostor.addr = "10.0.0.1:1";
    EXPECT_EQ(t.merge(impostor, 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.find(node_id('a'))->name, entry('a', 5).name);
}

TEST(PeerTable, HigherIncarnationUpdates) {
    peer_table t = table_of('s');
    t.merge(entry('a', 5), 0);
    auto r = t.merge(entry('a', 6), 0);
    EXPECT_EQ(r.outcome, merge_outcome::updated);
    ASSERT_TRUE(r.previous);
    EXPECT_EQ(*r.previous, entry('a', 5));
    EXPECT_EQ(*t.find(node_id('a')), entry('a', 6));
    EXPECT_EQ(t.alive_count(), 1u);
}

TEST(PeerTable, TombstoneBeatsAliveAtEqualIncarnation) {
    peer_table t = table_of('s');
    t.merge(entry('a', 5), 0);
    auto r = t.merge(tombstone('a', 5), 0);
    EXPECT_EQ(r.outcome, merge_outcome::left);
    ASSERT_TRUE(r.previous);
    EXPECT_EQ(*r.previous, entry('a', 5));
    EXPECT_FALSE(t.is_alive(node_id('a')));
    EXPECT_EQ(t.alive_count(), 0u);
    ASSERT_NE(t.find(node_id('a')), nullptr);
    EXPECT_EQ(t.find(node_id('a'))->state, peer_state::left);
    // ...and a late "alive" of that incarnation cannot bring it back.
    EXPECT_EQ(t.merge(entry('a', 5), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.merge(entry('a', 4), 0).outcome, merge_outcome::ignored);
    EXPECT_FALSE(t.is_alive(node_id('a')));
}

TEST(PeerTable, HigherIncarnationRevivesATombstone) {
    peer_table t = table_of('s');
    t.merge(entry('a', 5), 0);
    t.merge(tombstone('a', 5), 0);
    auto r = t.merge(entry('a', 6), 0);
    EXPECT_EQ(r.outcome, merge_outcome::joined);
    ASSERT_TRUE(r.previous);
    EXPECT_EQ(*r.previous, tombstone('a', 5));
    EXPECT_TRUE(t.is_alive(node_id('a')));
    EXPECT_EQ(t.alive_count(), 1u);
}

TEST(PeerTable, HigherTombstoneOverLivePeerLeaves) {
    peer_table t = table_of('s');
    t.merge(entry('a', 5), 0);
    EXPECT_EQ(t.merge(tombstone('a', 9), 0).outcome, merge_outcome::left);
    EXPECT_EQ(t.alive_count(), 0u);
}

TEST(PeerTable, TombstoneOfUnknownPeerIsKeptSilently) {
    peer_table t = table_of('s');
    auto r = t.merge(tombstone('a', 5), 0);
    EXPECT_EQ(r.outcome, merge_outcome::ignored);
    EXPECT_EQ(t.alive_count(), 0u);
    ASSERT_NE(t.find(node_id('a')), nullptr);
    EXPECT_EQ(*t.find(node_id('a')), tombstone('a', 5));
    // The tombstone arrived before the stale "alive" it must block.
    EXPECT_EQ(t.merge(entry('a', 5), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.merge(entry('a', 6), 0).outcome, merge_outcome::joined);
}

TEST(PeerTable, NewerTombstoneOverOlderOneChangesNothingVisible) {
    peer_table t = table_of('s');
    t.merge(tombstone('a', 5), 0);
    EXPECT_EQ(t.merge(tombstone('a', 7), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.find(node_id('a'))->inc, 7u);  // but the newer incarnation is recorded
}

TEST(PeerTable, EntriesAboutSelfAreIgnored) {
    peer_table t = table_of('s');
    std::string const before = t.digest();
    EXPECT_EQ(t.merge(entry('s', 1000), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.merge(tombstone('s', 1000), 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.merge(tombstone('s', 100), 0).outcome, merge_outcome::ignored);
    auto renamed = entry('s', 101);
    renamed.name = "hijacked";
    EXPECT_EQ(t.merge(renamed, 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.self(), entry('s', 100));
    EXPECT_EQ(t.all_entries().size(), 1u);
    EXPECT_EQ(t.alive_count(), 0u);
    EXPECT_EQ(t.digest(), before);
}

TEST(PeerTable, TableFullRefusesNewLivePeers) {
    peer_table t = table_of('s', 2);
    EXPECT_EQ(t.merge(entry('a', 1), 0).outcome, merge_outcome::joined);
    EXPECT_FALSE(t.full());
    EXPECT_EQ(t.merge(entry('b', 1), 0).outcome, merge_outcome::joined);
    EXPECT_TRUE(t.full());
    auto r = t.merge(entry('c', 1), 0);
    EXPECT_EQ(r.outcome, merge_outcome::table_full);
    EXPECT_FALSE(r.previous);
    EXPECT_EQ(t.find(node_id('c')), nullptr);
    EXPECT_EQ(t.alive_count(), 2u);
    // Known peers still update, tombstones are still recorded.
    EXPECT_EQ(t.merge(entry('a', 2), 0).outcome, merge_outcome::updated);
    EXPECT_EQ(t.merge(tombstone('d', 1), 0).outcome, merge_outcome::ignored);
    EXPECT_NE(t.find(node_id('d')), nullptr);
    // A departure makes room.
    EXPECT_EQ(t.merge(tombstone('b', 1), 0).outcome, merge_outcome::left);
    EXPECT_FALSE(t.full());
    EXPECT_EQ(t.merge(entry('c', 1), 0).outcome, merge_outcome::joined);
    EXPECT_TRUE(t.full());
}

TEST(PeerTable, TableFullRefusesRevivingATombstone) {
    peer_table t = table_of('s', 1);
    t.merge(entry('a', 1), 0);
    t.merge(tombstone('a', 1), 0);
    t.merge(entry('b', 1), 0);
    auto r = t.merge(entry('a', 2), 0);
    EXPECT_EQ(r.outcome, merge_outcome::table_full);
    EXPECT_EQ(*t.find(node_id('a')), tombstone('a', 1));
    EXPECT_EQ(t.alive_count(), 1u);
}

TEST(PeerTable, ZeroCapacityRefusesEveryone) {
    peer_table t = table_of('s', 0);
    EXPECT_TRUE(t.full());
    EXPECT_EQ(t.merge(entry('a', 1), 0).outcome, merge_outcome::table_full);
    EXPECT_EQ(t.merge(entry('s', 500), 0).outcome, merge_outcome::ignored);
}

TEST(PeerTable, RenameAndBumpSelfRaiseIncarnation) {
    peer_table t = table_of('s');
    auto const& renamed = t.rename_self("sam");
    EXPECT_EQ(renamed.name, "sam");
    EXPECT_EQ(renamed.inc, 101u);
    EXPECT_EQ(t.self().name, "sam");
    EXPECT_EQ(t.bump_self().inc, 102u);
    EXPECT_EQ(t.self().name, "sam");
}

TEST(PeerTable, RefuteRaisesSelfAboveOutrankingClaims) {
    peer_table t = table_of('s');  // self at inc 100
    EXPECT_FALSE(t.refute(entry('s', 99))) << "older news about us needs no answer";
    EXPECT_FALSE(t.refute(entry('s', 100))) << "our own entry as it is";
    EXPECT_FALSE(t.refute(entry('a', 500))) << "not about us";
    EXPECT_EQ(t.self().inc, 100u);
    EXPECT_TRUE(t.refute(tombstone('s', 100))) << "a late leave of ours at our incarnation";
    EXPECT_EQ(t.self().inc, 101u);
    EXPECT_EQ(t.self().state, peer_state::alive);
    EXPECT_TRUE(t.refute(entry('s', 500))) << "a clock that went backwards";
    EXPECT_EQ(t.self().inc, 501u);
}

// Found by the engine fuzzer (fuzz/engine.cpp): a peer's entry about us at the top incarnation
// made refute() wrap our incarnation around to 0, below every entry others keep of us.
TEST(PeerTable, IncarnationNeverWrapsAround) {
    constexpr auto top = std::numeric_limits<std::uint64_t>::max();
    peer_table t = table_of('s');
    EXPECT_TRUE(t.refute(tombstone('s', top - 1)));
    EXPECT_EQ(t.self().inc, top);
    EXPECT_FALSE(t.refute(tombstone('s', top))) << "nothing outranks it: no answer to send";
    EXPECT_EQ(t.self().inc, top);
    EXPECT_EQ(t.bump_self().inc, top);
    EXPECT_EQ(t.rename_self("sam").inc, top);

    peer_table u = table_of('s');
    EXPECT_TRUE(u.refute(entry('s', top)));
    EXPECT_EQ(u.self().inc, top);
}

TEST(PeerTable, ClearForgetsEveryoneButSelf) {
    peer_table t = table_of('s', 2);
    t.merge(entry('a', 1), 0);
    t.merge(entry('b', 1), 0);
    t.merge(tombstone('c', 1), 0);
    t.clear();
    EXPECT_EQ(t.alive_count(), 0u);
    EXPECT_FALSE(t.full());
    EXPECT_EQ(t.all_entries(), std::vector<peer_entry>{entry('s', 100)});
    EXPECT_EQ(t.merge(entry('a', 1), 0).outcome, merge_outcome::joined);
}

TEST(PeerTable, ForgetTombstoneDropsOnlyTombstones) {
    peer_table t = table_of('s');
    t.merge(entry('a', 1), 0);
    t.merge(tombstone('b', 2), 0);
    t.merge(tombstone('c', 3), 0);
    t.expire_tombstones(ten_minutes_ms, ten_minutes_ms);  // b and c expire
    t.merge(tombstone('d', 4), ten_minutes_ms);
    EXPECT_FALSE(t.forget_tombstone(node_id('a')));  // alive: stays
    EXPECT_TRUE(t.is_alive(node_id('a')));
    EXPECT_TRUE(t.forget_tombstone(node_id('d')));
    EXPECT_EQ(t.find(node_id('d')), nullptr);
    EXPECT_EQ(t.merge(entry('d', 4), ten_minutes_ms).outcome, merge_outcome::joined);
    EXPECT_TRUE(t.forget_tombstone(node_id('b')));  // its expired memory
    EXPECT_EQ(t.merge(entry('b', 2), ten_minutes_ms).outcome, merge_outcome::joined);
    EXPECT_EQ(t.merge(entry('c', 3), ten_minutes_ms).outcome, merge_outcome::ignored);
    EXPECT_FALSE(t.forget_tombstone(node_id('z')));
}

TEST(PeerTable, ClearForgetsExpiredTombstonesToo) {
    peer_table t = table_of('s');
    t.merge(tombstone('a', 3), 0);
    t.expire_tombstones(ten_minutes_ms, ten_minutes_ms);
    ASSERT_EQ(t.merge(entry('a', 3), ten_minutes_ms).outcome, merge_outcome::ignored);
    t.clear();
    EXPECT_EQ(t.merge(entry('a', 3), ten_minutes_ms).outcome, merge_outcome::joined);
}

TEST(PeerTable, ListingsAreOrderedAndComplete) {
    peer_table t = table_of('m');
    for (char c : {'z', 'b', 'x', 'a'}) t.merge(entry(c, 1), 0);
    t.merge(tombstone('c', 1), 0);
    t.merge(tombstone('x', 1), 0);
    EXPECT_EQ(t.alive_peers(),
              (std::vector<peer_entry>{entry('a', 1), entry('b', 1), entry('z', 1)}));
    EXPECT_EQ(t.all_entries(),
              (std::vector<peer_entry>{entry('m', 100), entry('a', 1), entry('b', 1),
                                       tombstone('c', 1), tombstone('x', 1), entry('z', 1)}));
    EXPECT_EQ(t.alive_count(), 3u);
}

TEST(PeerTable, ExpireTombstonesAfterTheirAge) {
    peer_table t = table_of('s');
    t.merge(entry('a', 1), 0);
    t.merge(tombstone('a', 1), 1000);
    t.merge(tombstone('b', 1), 5000);
    t.merge(entry('c', 1), 0);
    t.expire_tombstones(1000 + ten_minutes_ms - 1, ten_minutes_ms);
    EXPECT_NE(t.find(node_id('a')), nullptr);
    EXPECT_NE(t.find(node_id('b')), nullptr);
    t.expire_tombstones(1000 + ten_minutes_ms, ten_minutes_ms);
    EXPECT_EQ(t.find(node_id('a')), nullptr);
    EXPECT_NE(t.find(node_id('b')), nullptr);
    t.expire_tombstones(5000 + ten_minutes_ms, ten_minutes_ms);
    EXPECT_EQ(t.find(node_id('b')), nullptr);
    // Live peers and self never expire, however old.
    t.expire_tombstones(INT64_MAX / 2, ten_minutes_ms);
    EXPECT_TRUE(t.is_alive(node_id('c')));
    EXPECT_EQ(t.all_entries().size(), 2u);
    EXPECT_EQ(t.alive_count(), 1u);
}

TEST(PeerTable, ExpiredTombstoneGossipedBackIsNotTakenInAgain) {
    // Nodes expire a tombstone at slightly different times; the copy a slower node still
    // sends must not start another lifetime here (it would bounce around forever).
    peer_table t = table_of('s');
    t.merge(entry('a', 7), 0);
    t.merge(tombstone('a', 7), 0);
    t.expire_tombstones(ten_minutes_ms, ten_minutes_ms);
    ASSERT_EQ(t.find(node_id('a')), nullptr);
    EXPECT_EQ(t.merge(tombstone('a', 7), ten_minutes_ms + 1).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.find(node_id('a')), nullptr);
    EXPECT_EQ(t.merge(entry('a', 7), ten_minutes_ms + 1).outcome, merge_outcome::ignored)
        << "a stale alive of the departed incarnation";
    // A new incarnation (the peer came back) is welcome.
    EXPECT_EQ(t.merge(entry('a', 8), ten_minutes_ms + 2).outcome, merge_outcome::joined);
    // After another lifetime the memory of the old one is gone too.
    peer_table u = table_of('s');
    u.merge(tombstone('b', 3), 0);
    u.expire_tombstones(ten_minutes_ms, ten_minutes_ms);
    u.expire_tombstones(2 * ten_minutes_ms, ten_minutes_ms);
    u.merge(tombstone('b', 3), 2 * ten_minutes_ms);
    EXPECT_NE(u.find(node_id('b')), nullptr);
}

TEST(PeerTable, TombstoneAgeRestartsWhenANewerOneArrives) {
    peer_table t = table_of('s');
    t.merge(tombstone('a', 1), 0);
    t.merge(tombstone('a', 2), 500000);
    t.expire_tombstones(ten_minutes_ms, ten_minutes_ms);
    EXPECT_NE(t.find(node_id('a')), nullptr);
    t.expire_tombstones(500000 + ten_minutes_ms, ten_minutes_ms);
    EXPECT_EQ(t.find(node_id('a')), nullptr);
}

TEST(PeerTable, RevivedPeerIsNotExpiredAsATombstone) {
    peer_table t = table_of('s');
    t.merge(tombstone('a', 1), 0);
    t.merge(entry('a', 2), 10);
    t.expire_tombstones(INT64_MAX / 2, ten_minutes_ms);
    EXPECT_TRUE(t.is_alive(node_id('a')));
}

TEST(PeerTable, NewerThan) {
    peer_table t = table_of('s');
    t.merge(entry('a', 3), 0);
    t.merge(entry('b', 3), 0);
    t.merge(tombstone('c', 3), 0);
    t.merge(entry('d', 3), 0);
    t.merge(tombstone('e', 3), 0);

    // They know nothing: everything we have, self included.
    EXPECT_EQ(t.newer_than({}), t.all_entries());
    // They have exactly our table: nothing.
    EXPECT_TRUE(t.newer_than(t.all_entries()).empty());

    std::vector<peer_entry> const theirs = {
        entry('s', 99),     // older self
        entry('a', 2),      // older incarnation
        entry('b', 4),      // newer than ours: not sent back
        entry('c', 3),      // alive where we hold a tombstone of the same incarnation
        tombstone('d', 3),  // their tombstone beats our alive: not sent back
        entry('f', 1),      // one we lack entirely: irrelevant
    };                      // and they lack e
    EXPECT_EQ(t.newer_than(theirs),
              (std::vector<peer_entry>{entry('s', 100), entry('a', 3), tombstone('c', 3),
                                       tombstone('e', 3)}));
}

TEST(PeerTable, NewerThanIgnoresDetailsAtEqualRank) {
    peer_table t = table_of('s');
    t.merge(entry('a', 3), 0);
    auto other = entry('a', 3);
    other.name = "different";
    EXPECT_TRUE(t.newer_than({t.self(), other}).empty());
}

TEST(PeerTable, DigestMatchesTheProtocolDefinition) {
    // Self sorts first, in the middle and last among the other ids.
    for (char self : {'0', 'm', 'z'}) {
        SCOPED_TRACE(self);
        peer_table t = table_of(self);
        EXPECT_EQ(t.digest(), expected_digest({t.self()}));
        EXPECT_EQ(t.digest(), sha256_hex(node_id(self) + " 100 alive\n"));
        t.merge(entry('a', 1), 0);
        t.merge(entry('q', 12345678901234), 0);
        t.merge(tombstone('r', 2), 0);
        t.merge(entry('y', 1), 0);
        EXPECT_EQ(t.digest(), expected_digest(t.all_entries()));
        EXPECT_EQ(t.digest().size(), 64u);
        EXPECT_EQ(t.digest().find_first_not_of("0123456789abcdef"), std::string::npos);
    }
}

TEST(PeerTable, DigestCoversIncarnationAndStateButNotNameOrAddress) {
    peer_table t = table_of('s');
    t.merge(entry('a', 1), 0);
    std::string const d1 = t.digest();

    peer_table same = table_of('s');
    auto renamed = entry('a', 1);
    renamed.name = "other";
    renamed.addr = "10.1.1.1:1";
    same.merge(renamed, 0);
    EXPECT_EQ(same.digest(), d1);

    t.merge(entry('a', 2), 0);
    std::string const d2 = t.digest();
    EXPECT_NE(d2, d1);
    t.merge(tombstone('a', 2), 0);
    EXPECT_NE(t.digest(), d2);
    EXPECT_NE(t.digest(), d1);
    t.rename_self("x");
    EXPECT_NE(t.digest(), expected_digest({entry('s', 100), tombstone('a', 2)}));
}

std::string describe(std::vector<peer_entry> const& entries) {
    std::string out;
    for (auto const& e : entries)
        out += e.id.substr(0, 1) + "@" + std::to_string(e.inc) +
               (e.state == peer_state::alive ? "+ " : "- ");
    return out;
}

// All 7! orders of a set of conflicting updates (including ones about self and duplicates)
// leave the table in the same state.
TEST(PeerTableConvergence, MergeOrderDoesNotMatterAllPermutations) {
    std::vector<peer_entry> updates = {
        entry('a', 1),     tombstone('a', 1), entry('a', 2),     entry('b', 5),
        tombstone('b', 4), entry('s', 200),   tombstone('c', 1),
    };
    std::sort(updates.begin(), updates.end(),
              [](auto const& x, auto const& y) { return describe({x}) < describe({y}); });
    peer_table reference = table_of('s');
    for (auto const& u : updates) reference.merge(u, 0);
    EXPECT_EQ(describe(reference.all_entries()), "s@100+ a@2+ b@5+ c@1- ");
    int orders = 0;
    do {
        peer_table t = table_of('s');
        for (auto const& u : updates) t.merge(u, 0);
        ASSERT_EQ(t.digest(), reference.digest()) << "order: " << describe(updates);
        ASSERT_EQ(t.all_entries(), reference.all_entries()) << "order: " << describe(updates);
        ASSERT_EQ(t.alive_count(), reference.alive_count());
        ++orders;
    } while (std::next_permutation(
        updates.begin(), updates.end(),
        [](auto const& x, auto const& y) { return describe({x}) < describe({y}); }));
    EXPECT_EQ(orders, 5040);
}

// Many random updates over a few ids, applied in many random orders to pairs of tables.
TEST(PeerTableConvergence, MergeOrderDoesNotMatterRandomOrders) {
    std::mt19937 rng(20240601);
    std::vector<peer_entry> updates;
    for (int i = 0; i < 300; ++i) {
        char const id = "abcdefghs"[rng() % 9];  // 's' is self
        std::uint64_t const inc = 1 + rng() % 6;
        updates.push_back(rng() % 3 == 0 ? tombstone(id, inc) : entry(id, inc));
    }
    // What the merge rule says the result is: the highest-ranked entry per id.
    std::map<std::string, peer_entry> best;
    for (auto const& u : updates) {
        if (u.id == node_id('s')) continue;
        auto [it, inserted] = best.emplace(u.id, u);
        if (!inserted && outranks(u, it->second)) it->second = u;
    }
    std::vector<peer_entry> expected = {entry('s', 100)};
    for (auto const& [id, e] : best) expected.push_back(e);

    for (int round = 0; round < 100; ++round) {
        peer_table first = table_of('s');
        peer_table second = table_of('s');
        std::shuffle(updates.begin(), updates.end(), rng);
        for (auto const& u : updates) first.merge(u, 0);
        std::shuffle(updates.begin(), updates.end(), rng);
        for (auto const& u : updates) second.merge(u, 0);
        ASSERT_EQ(first.digest(), second.digest()) << "round " << round;
        ASSERT_EQ(first.all_entries(), expected) << "round " << round;
        ASSERT_EQ(second.all_entries(), expected) << "round " << round;
        ASSERT_EQ(first.digest(), expected_digest(expected));
    }
}

TEST(PeerTableConvergence, MergingIsIdempotent) {
    peer_table t = table_of('s');
    std::vector<peer_entry> const updates = {entry('a', 1), tombstone('b', 2), entry('c', 3)};
    for (auto const& u : updates) t.merge(u, 0);
    auto const before = t.all_entries();
    for (auto const& u : t.all_entries()) EXPECT_EQ(t.merge(u, 0).outcome, merge_outcome::ignored);
    EXPECT_EQ(t.all_entries(), before);
}

// ---- the concurrent-join scenario of PROTOCOL.md, message by message ----

struct network {
    std::map<char, peer_table> nodes;

    peer_table& at(char c) { return nodes.at(c); }

    void add(char c) { nodes.emplace(c, table_of(c)); }

    // A newcomer's join reaches its contact. Returns whom the contact introduces it to.
    std::vector<std::string> contact_accepts(char contact, char newcomer) {
        auto& t = at(contact);
        EXPECT_EQ(t.merge(at(newcomer).self(), 0).outcome, merge_outcome::joined);
        std::vector<std::string> others;
        for (auto const& p : t.alive_peers())
            if (p.id != node_id(newcomer)) others.push_back(p.id);
        return others;
    }
    // The contact's welcome (from + peers, as the contact knew them when it accepted).
    void welcomed(char newcomer, std::vector<peer_entry> const& welcome) {
        for (auto const& e : welcome) at(newcomer).merge(e, 0);
    }
    // The newcomer dials every live peer but its contact and says hello.
    void hellos(char newcomer, char contact) {
        auto& t = at(newcomer);
        for (auto const& p : t.alive_peers())
            if (p.id != node_id(contact)) table_for(p.id).merge(t.self(), 0);
    }
    // The contact's one-entry `peers` (full:false) introductions.
    void introduce(char newcomer, std::vector<std::string> const& to) {
        for (auto const& id : to) table_for(id).merge(at(newcomer).self(), 0);
    }
    // `from` sends its digest to `to`; if it differs, `to` answers with its full table and
    // `from` answers that with what it has newer (peers full:false).
    void anti_entropy(char from, char to) {
        auto& sender = at(from);
        auto& receiver = at(to);
        if (receiver.digest() == sender.digest()) return;
        auto const full = receiver.all_entries();
        for (auto const& e : full) sender.merge(e, 0);
        for (auto const& e : sender.newer_than(full)) receiver.merge(e, 0);
    }
    peer_table& table_for(std::string const& id) { return at(id.front()); }

    bool converged() {
        for (auto& [c, t] : nodes)
            if (t.digest() != nodes.begin()->second.digest()) return false;
        return true;
    }
};

// A and B form a network; N joins through A while M joins through B at the same moment.
network concurrent_join() {
    network net;
    for (char c : {'a', 'b', 'n', 'm'}) net.add(c);
    net.at('a').merge(net.at('b').self(), 0);
    net.at('b').merge(net.at('a').self(), 0);
    // Both contacts accept, welcome and pick whom to introduce the newcomer to before either
    // hears of the other newcomer; then all those messages are delivered.
    auto const a_introduces = net.contact_accepts('a', 'n');
    auto const b_introduces = net.contact_accepts('b', 'm');
    EXPECT_EQ(a_introduces, std::vector<std::string>{node_id('b')});
    EXPECT_EQ(b_introduces, std::vector<std::string>{node_id('a')});
    auto const welcome_n = net.at('a').all_entries();
    auto const welcome_m = net.at('b').all_entries();
    net.welcomed('n', welcome_n);
    net.welcomed('m', welcome_m);
    net.introduce('n', a_introduces);
    net.introduce('m', b_introduces);
    net.hellos('n', 'a');
    net.hellos('m', 'b');
    return net;
}

TEST(PeerTableConvergence, ConcurrentJoinDeltasAloneLeaveNewcomersApart) {
    network net = concurrent_join();
    // The old members know everyone, but neither newcomer has heard of the other yet:
    // this is what anti-entropy is for.
    EXPECT_EQ(net.at('a').alive_count(), 3u);
    EXPECT_EQ(net.at('b').alive_count(), 3u);
    EXPECT_FALSE(net.at('n').is_alive(node_id('m')));
    EXPECT_FALSE(net.at('m').is_alive(node_id('n')));
    EXPECT_FALSE(net.converged());
}

TEST(PeerTableConvergence, ConcurrentJoinConvergesAfterOneAntiEntropyRound) {
    // Each node gossips to one live peer; try both directions of the newcomer/member pairs,
    // so both the full table (member -> newcomer) and newer_than() (newcomer -> member) paths
    // must carry the news.
    for (bool newcomers_ask : {true, false}) {
        SCOPED_TRACE(newcomers_ask ? "newcomers send digests" : "members send digests");
        network net = concurrent_join();
        if (newcomers_ask) {
            net.anti_entropy('n', 'a');
            net.anti_entropy('m', 'b');
        } else {
            net.anti_entropy('a', 'n');
            net.anti_entropy('b', 'm');
        }
        net.anti_entropy('a', 'b');
        net.anti_entropy('b', 'a');
        EXPECT_TRUE(net.converged());
        for (auto& [c, t] : net.nodes) {
            EXPECT_EQ(t.alive_count(), 3u) << c;
            EXPECT_EQ(t.all_entries().size(), 4u) << c;
        }
    }
}

TEST(PeerTableConvergence, ConcurrentJoinThenLeaveAndRenameConverge) {
    network net = concurrent_join();
    net.anti_entropy('n', 'a');
    net.anti_entropy('m', 'b');
    ASSERT_TRUE(net.converged());
    // N renames and tells only A; M leaves and tells only B. Gossip spreads the rest.
    net.at('a').merge(net.at('n').rename_self("newname"), 0);
    auto leaving = net.at('m').self();
    leaving.state = peer_state::left;
    net.at('b').merge(leaving, 0);
    EXPECT_FALSE(net.converged());
    net.anti_entropy('a', 'b');
    net.anti_entropy('n', 'b');
    net.anti_entropy('b', 'a');
    EXPECT_FALSE(net.at('n').is_alive(node_id('m')));
    EXPECT_EQ(net.at('b').find(node_id('n'))->name, "newname");
    // M itself still believes it is alive; every other node agrees.
    for (char c : {'a', 'b', 'n'}) {
        EXPECT_EQ(net.at(c).alive_count(), 2u) << c;
        EXPECT_EQ(net.at(c).digest(), net.at('a').digest()) << c;
    }
}

}  // namespace
}  // namespace p2pchat
