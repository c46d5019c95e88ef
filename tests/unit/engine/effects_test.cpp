// The engine's vocabulary: effects (what it asks its runtime to do), events (what it tells
// observers) and their names, which traces, logs and the control API show.
#include "common/engine/effects.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "common/engine/events.hpp"
#include "common/engine/membership.hpp"

namespace p2pchat::engine {
namespace {

TEST(Effects, EveryKindHasItsOwnShortName) {
    auto const msg = make_outgoing(wire::digest_msg{"00", 1});
    std::vector<std::pair<effect, std::string_view>> const all{
        {send_to_peer{"p", msg, false}, "send"},
        {reply_on{1, msg}, "reply"},
        {broadcast{msg, {}}, "broadcast"},
        {dial_peer{"p", {"127.0.0.1", 7447}}, "dial"},
        {redirect_link{"p", {"127.0.0.1", 7448}}, "redirect"},
        {hang_up{"p", true}, "hang_up"},
        {close_connection{1, false}, "close"},
        {arm_timer{timer_kind::gossip, {}}, "arm_timer"},
        {emit_event{peer_joined{}}, "event"},
        {store_message{wire::chat_msg{}, 0, false}, "store"},
        {store_seal{wire::seal_msg{}}, "store_seal"},
        {adopt_network_key{"k", "p"}, "adopt_key"},
        {log_line{severity::info, "x"}, "log"},
    };
    // One per alternative of the variant: a new kind of effect must get a name here too.
    ASSERT_EQ(all.size(), std::variant_size_v<effect>);
    std::set<std::string_view> names;
    for (auto const& [e, name] : all) {
        EXPECT_EQ(kind_name(e), name);
        names.insert(kind_name(e));
    }
    EXPECT_EQ(names.size(), all.size());
}

TEST(Effects, PeerStatusNames) {
    EXPECT_EQ(to_string(peer_status::self), "self");
    EXPECT_EQ(to_string(peer_status::alive), "alive");
    EXPECT_EQ(to_string(peer_status::connecting), "connecting");
    EXPECT_EQ(to_string(peer_status::left), "left");
}

TEST(Effects, LeaveReasonNames) {
    EXPECT_EQ(to_string(leave_reason::left), "left");
    EXPECT_EQ(to_string(leave_reason::unreachable), "unreachable");
}

TEST(Effects, NodeStateNames) {
    EXPECT_EQ(to_string(node_state::active), "active");
    EXPECT_EQ(to_string(node_state::left), "left");
    EXPECT_EQ(to_string(node_state::stopping), "stopping");
}

TEST(Effects, ListKeepsOrderAndHandsOverOnTake) {
    effects out;
    EXPECT_TRUE(out.empty());
    out.push(hang_up{"a", false});
    out.push(hang_up{"b", true});
    ASSERT_EQ(out.pending().size(), 2u);
    auto taken = out.take();
    EXPECT_TRUE(out.empty());
    ASSERT_EQ(taken.size(), 2u);
    EXPECT_EQ(std::get<hang_up>(taken[0]).peer, "a");
    EXPECT_EQ(std::get<hang_up>(taken[1]).peer, "b");
    EXPECT_TRUE(std::get<hang_up>(taken[1]).flush);
}

TEST(Effects, TakeReusesTheSpareListsStorage) {
    effects out;
    std::vector<effect> spare;
    spare.reserve(64);
    spare.push_back(hang_up{"stale", false});  // a drained list may still hold old effects
    auto const* storage = spare.data();
    out.push(hang_up{"a", false});
    auto taken = out.take(std::move(spare));
    ASSERT_EQ(taken.size(), 1u);
    EXPECT_EQ(std::get<hang_up>(taken[0]).peer, "a");
    // The next input writes into the spare's storage: no allocation per input.
    out.push(hang_up{"b", false});
    auto again = out.take(std::move(taken));
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(std::get<hang_up>(again[0]).peer, "b");
    EXPECT_EQ(again.data(), storage);
}

TEST(Effects, LogJoinsItsPartsIntoOneLine) {
    effects out;
    std::string const who = "alice";
    out.log(severity::notice, "joined through ", who, "; ", std::size_t{3}, " peers, inc ",
            std::uint64_t{17}, std::string_view(" ok"));
    ASSERT_EQ(out.pending().size(), 1u);
    auto const& line = std::get<log_line>(out.pending()[0]);
    EXPECT_EQ(line.level, severity::notice);
    EXPECT_EQ(line.text, "joined through alice; 3 peers, inc 17 ok");
}

TEST(Effects, OutgoingMessagesAreSharedNotCopied) {
    auto const msg = make_outgoing(wire::leave_msg{std::string(64, 'a'), 5, {}});
    broadcast b{msg, {}};
    send_to_peer s{"p", msg};
    EXPECT_EQ(b.message.get(), s.message.get());
    EXPECT_EQ(std::get<wire::leave_msg>(*b.message).inc, 5u);
}

TEST(Effects, PeerViewsCompareByValue) {
    peer_view a{"id", "n", "h:1", 3, peer_status::alive};
    peer_view b = a;
    EXPECT_EQ(a, b);
    b.status = peer_status::connecting;
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace p2pchat::engine
