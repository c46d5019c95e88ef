// History in one order, read from the store (issue #10, items 4 and 6; docs/CLIENT.md,
// docs/STORAGE.md): `p2pchatctl history` and its filters across a daemon restart, the same
// order on two nodes after they were apart, the seam between `tail -n`'s stored backlog and
// the live stream, and event numbers that never repeat across restarts. Real daemons, driven
// through p2pchatctl only.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/rpc/rpc.hpp"
#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

std::vector<boost::json::object> json_lines(std::string const& out) {
    std::vector<boost::json::object> v;
    std::size_t start = 0;
    while (start < out.size()) {
        auto const end = out.find('\n', start);
        if (auto o = parse_object(out.substr(start, end - start))) v.push_back(std::move(*o));
        start = end == std::string::npos ? out.size() : end + 1;
    }
    return v;
}

std::vector<std::string> texts(std::vector<boost::json::object> const& v) {
    std::vector<std::string> out;
    for (auto const& o : v)
        if (str(o, "type") == "message") out.push_back(str(o, "text"));
    return out;
}

// `history --json ARGS...`: the texts, or "<status>: <stderr>" when it failed.
std::vector<std::string> history(node const& n, std::vector<std::string> args = {}) {
    args.insert(args.begin(), {"history", "--json"});
    auto const r = n.ctl(args);
    if (r.status != 0) return {std::to_string(r.status) + ": " + r.err};
    return texts(json_lines(r.out));
}

using strings = std::vector<std::string>;

TEST(History, ReadsTheStoreAcrossARestartWithFilters) {
    node_home alice_home;
    std::optional<node> alice;
    alice.emplace(at(alice_home, "127.0.0.1").named("alice"));
    std::string bob_id;
    {
        node bob(on("127.0.0.2").named("bob").joining(alice->listen()));
        bob_id = bob.id();
        ASSERT_TRUE(wait_until([&] { return knows_alive(*alice, bob.id()); }, 10s));
        ASSERT_TRUE(send_kept(*alice, "Hello one"));
        ASSERT_EQ(bob.ctl({"send", "two from bob"}).status, 0);
        ASSERT_TRUE(wait_until([&] { return history(*alice).size() == 2; }, 10s));
        ASSERT_TRUE(send_kept(*alice, "third HELLO"));
    }  // bob is gone: only alice's store holds his message and name now
    ASSERT_EQ(alice->terminate(), std::optional<int>(0));
    alice.reset();
    alice.emplace(at(alice_home, "127.0.0.1").named("alice"));

    EXPECT_EQ(history(*alice), (strings{"Hello one", "two from bob", "third HELLO"}));
    EXPECT_EQ(history(*alice, {"-n", "2"}), (strings{"two from bob", "third HELLO"}));
    EXPECT_EQ(history(*alice, {"--grep", "hello"}), (strings{"Hello one", "third HELLO"}));
    EXPECT_EQ(history(*alice, {"--from", "bob"}), (strings{"two from bob"}));
    EXPECT_EQ(history(*alice, {"--from", bob_id.substr(0, 8)}), (strings{"two from bob"}));
    EXPECT_EQ(history(*alice, {"--from", alice->id(), "--grep", "HELLO", "-n", "1"}),
              (strings{"third HELLO"}));
    EXPECT_EQ(history(*alice, {"--since", "1 hour ago"}).size(), 3u);
    EXPECT_EQ(history(*alice, {"--until", "1 hour ago"}), strings{});
    EXPECT_EQ(history(*alice, {"--since", "tomorrow"}), strings{});

    // --json carries both times and the event number.
    auto const r = alice->ctl({"history", "--json", "-n", "1"});
    auto const lines = json_lines(r.out);
    ASSERT_EQ(lines.size(), 1u) << r.out << r.err;
    EXPECT_GT(num(lines[0], "sent_ms"), 0);
    EXPECT_GE(num(lines[0], "time_ms"), num(lines[0], "sent_ms") - 60'000);
    EXPECT_GT(num(lines[0], "seq"), 0);
    // Text output is the tail's.
    auto const human = alice->ctl({"history", "--from", "bob"});
    EXPECT_NE(human.out.find("bob: two from bob"), std::string::npos) << human.out;

    // Bad input: one line; usage status for what p2pchatctl checks, 1 (refused) for an
    // author the daemon finds nobody for.
    for (auto const& [bad, status] :
         std::vector<std::pair<std::vector<std::string>, int>>{{{"history", "-n", "0"}, 64},
                                                               {{"history", "-n", "x"}, 64},
                                                               {{"history", "--since", "soon"}, 64},
                                                               {{"history", "--until", "42"}, 64},
                                                               {{"history", "--grep="}, 64},
                                                               {{"history", "extra"}, 64},
                                                               {{"history", "--from", "nobody"}, 1},
                                                               {{"history", "--from", "ab"}, 1}}) {
        auto const b = alice->ctl(bad);
        EXPECT_EQ(b.status, status) << bad.back() << ": " << b.err;
        EXPECT_EQ(std::count(b.err.begin(), b.err.end(), '\n'), 1) << b.err;
        EXPECT_TRUE(b.out.empty()) << b.out;
    }
}

TEST(History, TwoNodesShowOneOrderAfterTheyWereApart) {
    node a(on("127.0.0.1").named("alice"));
    node b(on("127.0.0.2").named("bob").joining(a.listen()));
    ASSERT_TRUE(wait_until([&] { return knows_alive(a, b.id()) && knows_alive(b, a.id()); }, 10s));
    ASSERT_TRUE(send_kept(a, "before"));
    ASSERT_TRUE(wait_until([&] { return history(b).size() == 1; }, 10s));
    // Apart: each says things the other does not hear, with overlapping Lamport times.
    ASSERT_EQ(b.ctl({"leave"}).status, 0);
    ASSERT_TRUE(wait_until([&] { return !knows_alive(a, b.id()); }, 10s));
    for (int i = 1; i <= 4; ++i) {
        ASSERT_TRUE(send_kept(a, "a" + std::to_string(i)));
        ASSERT_TRUE(send_kept(b, "b" + std::to_string(i)));
    }
    ASSERT_EQ(b.ctl({"join", a.listen()}).status, 0);
    // Sync brings each the other's messages, in a different arrival order on each node.
    ASSERT_TRUE(wait_until([&] { return history(a).size() == 9 && history(b).size() == 9; }, 20s))
        << testing::PrintToString(history(a)) << testing::PrintToString(history(b))
        << logs_of({&a, &b});
    auto const on_a = json_lines(a.ctl({"history", "--json"}).out);
    auto const on_b = json_lines(b.ctl({"history", "--json"}).out);
    std::vector<std::string> ids_a, ids_b;
    for (auto const& m : on_a) ids_a.push_back(str(m, "id"));
    for (auto const& m : on_b) ids_b.push_back(str(m, "id"));
    EXPECT_EQ(ids_a, ids_b);
    // The order is (Lamport time, author id).
    std::vector<std::tuple<std::int64_t, std::string, std::int64_t>> keys;
    for (auto const& m : on_a) {
        auto const id = str(m, "id");
        keys.emplace_back(num(m, "lamport"), str(m, "from"),
                          std::stoll(id.substr(id.find(':') + 1)));
    }
    EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end())) << a.ctl({"history", "--json"}).out;
    // `tail -n` shows the same order.
    EXPECT_EQ(texts(json_lines(b.ctl({"tail", "-n", "all", "--no-follow", "--json"}).out)),
              history(a));
}

TEST(History, TailBacklogThenLiveHasNoSeam) {
    node a(on("127.0.0.1").named("alice"));
    std::string first_half, second_half;
    for (int i = 1; i <= 400; ++i)
        (i <= 200 ? first_half : second_half) += "m" + std::to_string(i) + "\n";
    // Messages go on being sent while tail reads its backlog and subscribes.
    child_process sender(ctl_argv(a.socket_path(), {"send"}), stdio_spec{-2, -2, -2});
    ASSERT_EQ(::write(sender.stdin_fd(), first_half.data(), first_half.size()),
              static_cast<ssize_t>(first_half.size()));
    ASSERT_TRUE(wait_until([&] { return history(a, {"-n", "all"}).size() >= 20; }, 10s));
    auto tail = a.tail({"-n", "1000"});
    auto const sent = sender.communicate(second_half, 30s);
    ASSERT_TRUE(sent.status == 0 || sent.status == rpc::exit_status::nobody) << sent.err;
    ASSERT_TRUE(tail.wait_for([](auto const& ev) { return count_messages(ev, "m400") == 1; }, 15s))
        << tail.stderr_text();
    auto const shown = texts(tail.events());
    std::vector<std::string> want;
    for (int i = 1; i <= 400; ++i) want.push_back("m" + std::to_string(i));
    EXPECT_EQ(shown, want) << "each message once, none skipped, in order";
}

TEST(History, TailSinceGoesOnExactlyAcrossADaemonRestart) {
    node_home h;
    std::optional<node> a;
    a.emplace(at(h, "127.0.0.1").named("alice"));
    ASSERT_TRUE(send_kept(*a, "one"));
    ASSERT_TRUE(send_kept(*a, "two"));
    auto const before = json_lines(a->ctl({"tail", "--since", "0", "--no-follow", "--json"}).out);
    ASSERT_EQ(texts(before), (strings{"one", "two"}));
    auto const seq_one = num(before[0], "seq"), seq_two = num(before[1], "seq");

    ASSERT_EQ(a->terminate(), std::optional<int>(0));
    a.reset();
    a.emplace(at(h, "127.0.0.1").named("alice"));
    ASSERT_TRUE(send_kept(*a, "three"));
    auto const after = json_lines(
        a->ctl({"tail", "--since", std::to_string(seq_one), "--no-follow", "--json"}).out);
    ASSERT_EQ(texts(after), (strings{"two", "three"}));
    EXPECT_EQ(num(after[0], "seq"), seq_two) << "the same number as before the restart";
    EXPECT_GT(num(after[1], "seq"), seq_two);

    // After a crash too: numbers never go back.
    auto const seq_three = num(after[1], "seq");
    a->crash();
    a.reset();
    a.emplace(at(h, "127.0.0.1").named("alice"));
    ASSERT_TRUE(send_kept(*a, "four"));
    auto const last = json_lines(
        a->ctl({"tail", "--since", std::to_string(seq_three), "--no-follow", "--json"}).out);
    ASSERT_EQ(texts(last), (strings{"four"}));
    EXPECT_GT(num(last[0], "seq"), seq_three);
    EXPECT_GE(num(a->status(), "event_seq"), num(last[0], "seq"));
}

// Whether a message event says `late`.
bool is_late(boost::json::object const& o) {
    auto const* late = o.if_contains("late");
    return late && late->is_bool() && late->as_bool();
}

// A message that came late (here, in the welcome of a node that joined after it was sent) is
// shown late again after that node restarts: in the replayed events, under the same number.
TEST(History, AMessageThatCameLateIsStillLateAfterARestart) {
    node a(on("127.0.0.1").named("alice"));
    ASSERT_TRUE(send_kept(a, "early"));
    node_home h;
    std::optional<node> b;
    b.emplace(at(h, "127.0.0.2").named("bob").joining(a.listen()));
    ASSERT_TRUE(wait_until([&] { return history(*b).size() == 1; }, 10s));
    // The message events of `tail --since 0` (peer events come with them).
    auto const tail_since_0 = [&] {
        std::vector<boost::json::object> messages;
        for (auto& o : json_lines(b->ctl({"tail", "--since", "0", "--no-follow", "--json"}).out))
            if (str(o, "type") == "message") messages.push_back(std::move(o));
        return messages;
    };
    auto const before = tail_since_0();
    ASSERT_EQ(texts(before), (strings{"early"}));
    ASSERT_TRUE(is_late(before[0])) << b->ctl({"tail", "--since", "0", "--no-follow"}).out;

    ASSERT_EQ(b->terminate(), std::optional<int>(0));
    b.reset();
    b.emplace(at(h, "127.0.0.2").named("bob"));
    auto const after = tail_since_0();
    ASSERT_EQ(texts(after), (strings{"early"}));
    EXPECT_TRUE(is_late(after[0]));
    EXPECT_EQ(num(after[0], "seq"), num(before[0], "seq"));
    // What a node sent itself, live, is not late.
    ASSERT_TRUE(send_kept(*b, "mine"));
    auto const mine = tail_since_0();
    ASSERT_EQ(texts(mine), (strings{"early", "mine"}));
    EXPECT_TRUE(is_late(mine[0]));
    EXPECT_FALSE(is_late(mine[1]));
    // In history order every message is in its place: `history` does not say late.
    auto const stored = json_lines(b->ctl({"history", "--json"}).out);
    ASSERT_EQ(texts(stored), (strings{"early", "mine"}));
    EXPECT_FALSE(is_late(stored[0]));
}

TEST(History, AFollowingTailResumesByNumberAfterARestart) {
    node_home h;
    std::optional<node> a;
    a.emplace(at(h, "127.0.0.1").named("alice"));
    ASSERT_TRUE(send_kept(*a, "one"));
    auto tail = tail_reader(h.socket, {"-n", "all"});
    ASSERT_TRUE(tail.wait_for([](auto const& ev) { return count_messages(ev, "one") == 1; }, 10s));
    ASSERT_EQ(a->terminate(), std::optional<int>(0));
    a.reset();
    a.emplace(at(h, "127.0.0.1").named("alice"));
    ASSERT_TRUE(wait_until([&] { return num(a->status(), "subscribers") == 1; }, 15s))
        << tail.stderr_text();
    ASSERT_TRUE(send_kept(*a, "two"));
    ASSERT_TRUE(tail.wait_for([](auto const& ev) { return count_messages(ev, "two") == 1; }, 10s))
        << tail.stderr_text();
    EXPECT_EQ(texts(tail.events()), (strings{"one", "two"})) << tail.stderr_text();
}

}  // namespace
}  // namespace p2pchat::test
