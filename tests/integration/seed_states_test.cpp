// The seed's state changes (DESIGN.md section 1), each driven through p2pchatctl against real
// daemons on loopback addresses: initial state, join (by command and at start-up), send,
// rename, leave, and a daemon stopped by SIGTERM.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <csignal>
#include <memory>

#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

namespace json = boost::json;

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

std::string joined(std::vector<std::string> const& v) {
    std::string s;
    for (auto const& x : v) s += x.substr(0, 8) + " ";
    return s;
}

// The peer entry with this id in a `peers --json` list, if present.
std::optional<json::object> entry(json::array const& peers, std::string const& id) {
    for (auto const& p : peers)
        if (p.is_object() && str(p.as_object(), "id") == id) return p.as_object();
    return std::nullopt;
}

TEST(SeedStates, LoneNodeListsOnlyItself) {
    node a(on("127.0.0.1").named("alice"));
    auto const peers = a.peers();
    ASSERT_EQ(peers.size(), 1u) << json::serialize(peers);
    auto const& self = peers.at(0).as_object();
    EXPECT_EQ(str(self, "id"), a.id());
    EXPECT_EQ(str(self, "name"), "alice");
    EXPECT_EQ(str(self, "state"), "self");
    EXPECT_EQ(str(self, "address"), a.listen());
    EXPECT_TRUE(self.at("self").as_bool());
    EXPECT_EQ(num(a.status(), "peers"), 0);
}

// A, then B joins A through `p2pchatctl join`, then C joins with --join at start-up.
class three_nodes : public ::testing::Test {
  protected:
    void SetUp() override {
        a = std::make_unique<node>(on("127.0.0.1").named("alice"));
        b = std::make_unique<node>(on("127.0.0.2").named("bob"));
        auto const joined_b = b->ctl({"join", a->listen()});
        ASSERT_EQ(joined_b.status, 0) << joined_b.err << logs();
        // "joined: N peers" (the CLI may say "1 peer"): one line naming the count.
        EXPECT_EQ(joined_b.out.rfind("joined: 1 peer", 0), 0u) << joined_b.out;
        EXPECT_EQ(std::count(joined_b.out.begin(), joined_b.out.end(), '\n'), 1) << joined_b.out;
        c = std::make_unique<node>(on("127.0.0.3").named("carol").joining(b->listen()));
        all = sorted({a->id(), b->id(), c->id()});
        for (node* n : {a.get(), b.get(), c.get()})
            ASSERT_TRUE(wait_until([&] { return n->peer_ids() == all; }, 10s))
                << n->name() << " lists " << joined(n->peer_ids()) << "\n"
                << logs();
    }

    std::string logs() const {
        std::vector<node const*> v;
        for (auto const* n : {a.get(), b.get(), c.get()})
            if (n) v.push_back(n);
        return logs_of(v);
    }

    std::unique_ptr<node> a, b, c;
    std::vector<std::string> all;
};

TEST_F(three_nodes, EveryTableHasAllThreeAlive) {
    // Every entry carries the name and address its owner advertises, and every link comes up.
    for (node* n : {a.get(), b.get(), c.get()}) {
        ASSERT_TRUE(wait_until(
            [&] {
                auto const peers = n->peers();
                return std::all_of(peers.begin(), peers.end(), [](auto const& p) {
                    auto const s = str(p.as_object(), "state");
                    return s == "alive" || s == "self";
                });
            },
            10s))
            << n->name() << ": " << json::serialize(n->peers()) << logs();
        auto const peers = n->peers();
        for (node* m : {a.get(), b.get(), c.get()}) {
            auto e = entry(peers, m->id());
            ASSERT_TRUE(e) << n->name() << " lacks " << m->name();
            EXPECT_EQ(str(*e, "name"), m->name()) << "in the table of " << n->name();
            EXPECT_EQ(str(*e, "address"), m->listen()) << "in the table of " << n->name();
        }
        EXPECT_EQ(str(peers.at(0).as_object(), "id"), n->id()) << "self comes first";
        EXPECT_EQ(num(n->status(), "peers"), 2);
    }
}

TEST_F(three_nodes, SendArrivesExactlyOnceWithNameAndText) {
    auto tail_a = a->tail();
    auto tail_c = c->tail();
    auto const sent = b->ctl({"send", "hi"});
    ASSERT_EQ(sent.status, 0) << sent.err;
    EXPECT_EQ(sent.out, "") << "send is quiet on success";
    EXPECT_EQ(sent.err, "");
    // A later message from the same sender on the same links: once it is in, any duplicate of
    // "hi" would have been delivered before it.
    ASSERT_EQ(b->ctl({"send", "marker"}).status, 0);
    for (auto* t : {&tail_a, &tail_c}) {
        ASSERT_TRUE(t->wait_for([](auto& ev) { return count_messages(ev, "marker") == 1; }, 10s))
            << t->stderr_text() << logs();
        EXPECT_EQ(count_messages(t->events(), "hi"), 1u);
        EXPECT_TRUE(t->bad_lines().empty()) << t->bad_lines().front();
        auto const msgs = t->messages();
        auto hi =
            std::find_if(msgs.begin(), msgs.end(), [](auto& m) { return str(m, "text") == "hi"; });
        ASSERT_NE(hi, msgs.end());
        EXPECT_EQ(str(*hi, "name"), "bob");
        EXPECT_EQ(str(*hi, "from"), b->id());
        EXPECT_EQ(str(*hi, "id").rfind(b->id() + ":", 0), 0u) << str(*hi, "id");
        EXPECT_FALSE(hi->at("self").as_bool());
        EXPECT_EQ(count_messages(t->events(), "marker"), 1u);
    }
}

TEST_F(three_nodes, RenameShowsInPeersAndAsEvent) {
    auto tail_a = a->tail();
    auto const r = c->ctl({"rename", "caroline"});
    ASSERT_EQ(r.status, 0) << r.err;
    for (node* n : {a.get(), b.get(), c.get()})
        ASSERT_TRUE(wait_until(
            [&] {
                auto e = entry(n->peers(), c->id());
                return e && str(*e, "name") == "caroline";
            },
            10s))
            << n->name() << ": " << json::serialize(n->peers()) << logs();
    ASSERT_TRUE(tail_a.wait_for(
        [&](auto& ev) {
            return std::any_of(ev.begin(), ev.end(),
                               [&](auto& e) { return str(e, "type") == "peer_renamed"; });
        },
        10s))
        << tail_a.stderr_text() << logs();
    auto const renamed = tail_a.of_type("peer_renamed");
    ASSERT_EQ(renamed.size(), 1u);
    auto const& peer = renamed[0].at("peer").as_object();
    EXPECT_EQ(str(peer, "id"), c->id());
    EXPECT_EQ(str(peer, "name"), "caroline");
    EXPECT_EQ(str(renamed[0], "old_name"), "carol");
}

TEST_F(three_nodes, LeaveRemovesItEverywhere) {
    auto tail_a = a->tail();
    auto tail_c = c->tail();
    auto const r = b->ctl({"leave"});
    ASSERT_EQ(r.status, 0) << r.err;
    auto const rest = sorted({a->id(), c->id()});
    for (node* n : {a.get(), c.get()})
        ASSERT_TRUE(wait_until([&] { return n->peer_ids() == rest; }, 10s))
            << n->name() << " lists " << joined(n->peer_ids()) << logs();
    EXPECT_EQ(b->peer_ids(), std::vector<std::string>{b->id()}) << "the leaver is alone";
    EXPECT_TRUE(b->running()) << "leave keeps the daemon up";
    for (auto* t : {&tail_a, &tail_c}) {
        ASSERT_TRUE(t->wait_for(
            [](auto& ev) {
                return std::any_of(ev.begin(), ev.end(),
                                   [](auto& e) { return str(e, "type") == "peer_left"; });
            },
            10s))
            << t->stderr_text() << logs();
        auto const left = t->of_type("peer_left");
        ASSERT_EQ(left.size(), 1u);
        EXPECT_EQ(str(left[0].at("peer").as_object(), "id"), b->id());
        EXPECT_EQ(str(left[0], "reason"), "left");
    }
}

TEST_F(three_nodes, SigtermExitsZeroAndOthersSeeItLeave) {
    auto tail_a = a->tail();
    auto const status = c->terminate(10s);
    ASSERT_TRUE(status.has_value()) << "p2pchatd did not exit after SIGTERM\n" << logs();
    EXPECT_EQ(*status, 0) << c->log();
    auto const rest = sorted({a->id(), b->id()});
    for (node* n : {a.get(), b.get()})
        ASSERT_TRUE(wait_until([&] { return n->peer_ids() == rest; }, 10s))
            << n->name() << " lists " << joined(n->peer_ids()) << logs();
    ASSERT_TRUE(tail_a.wait_for(
        [&](auto& ev) {
            return std::any_of(ev.begin(), ev.end(), [&](auto& e) {
                return str(e, "type") == "peer_left" &&
                       str(e.at("peer").as_object(), "id") == c->id();
            });
        },
        10s))
        << logs();
    // It said goodbye, so it is a departure, not a failure detected later.
    EXPECT_EQ(str(tail_a.of_type("peer_left").at(0), "reason"), "left");
}

}  // namespace
}  // namespace p2pchat::test
