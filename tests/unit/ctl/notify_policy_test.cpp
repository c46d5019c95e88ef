#include "ctl/notify_policy.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace p2pchat::ctl {
namespace {

namespace json = boost::json;

json::object msg(std::string const& from, std::string const& name, std::string const& text,
                 bool self = false) {
    json::object o{
        {"type", "message"}, {"from", from}, {"name", name}, {"text", text}, {"self", self}};
    return o;
}

TEST(NotifyPolicy, SenderAndTextWithMarkupEscaped) {
    notify_policy p({});
    name_book names;
    auto n = p.on_message(msg("b1", "bob", "a <b>bold</b> & move"), names, 1000);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->summary, "bob");
    EXPECT_EQ(n->body, "a &lt;b&gt;bold&lt;/b&gt; &amp; move");
    EXPECT_EQ(n->replaces, 0u);
    EXPECT_EQ(n->key, "b1");
}

TEST(NotifyPolicy, NothingForOwnMessagesOrOtherEvents) {
    notify_policy p({});
    name_book names;
    EXPECT_FALSE(p.on_message(msg("a1", "alice", "mine", true), names, 1000));
    EXPECT_FALSE(p.on_message(json::object{{"type", "peer_joined"}}, names, 1000));
}

TEST(NotifyPolicy, FastMessagesFromOneSenderReplaceItsNotification) {
    notify_policy p({.coalesce_ms = 10'000});
    name_book names;
    auto first = p.on_message(msg("b1", "bob", "one"), names, 1000);
    ASSERT_TRUE(first);
    p.posted(first->key, 42, 1000);
    auto second = p.on_message(msg("b1", "bob", "two"), names, 5000);
    ASSERT_TRUE(second);
    EXPECT_EQ(second->replaces, 42u);
    EXPECT_EQ(second->summary, "bob (2 messages)");
    EXPECT_EQ(second->body, "one\ntwo");
    // Another sender gets its own; after a pause bob gets a new one too.
    auto carol = p.on_message(msg("c1", "carol", "hi"), names, 6000);
    ASSERT_TRUE(carol);
    EXPECT_EQ(carol->replaces, 0u);
    auto later = p.on_message(msg("b1", "bob", "three"), names, 30'000);
    ASSERT_TRUE(later);
    EXPECT_EQ(later->replaces, 0u);
    EXPECT_EQ(later->summary, "bob");
}

TEST(NotifyPolicy, MentionsOnly) {
    notify_policy p({.mentions_only = true});
    p.set_self_name("alice");
    name_book names;
    EXPECT_FALSE(p.on_message(msg("b1", "bob", "hello all"), names, 1000));
    EXPECT_TRUE(p.on_message(msg("b1", "bob", "Alice: hello"), names, 1000));
}

TEST(NotifyPolicy, RateLimitedWithASummaryOfWhatWasHeldBack) {
    notify_policy p({.coalesce_ms = 0, .burst = 2, .window_ms = 10'000});
    name_book names;
    EXPECT_TRUE(p.on_message(msg("b1", "bob", "1"), names, 0));
    EXPECT_TRUE(p.on_message(msg("b1", "bob", "2"), names, 1));
    EXPECT_FALSE(p.on_message(msg("b1", "bob", "3"), names, 2));
    EXPECT_FALSE(p.on_message(msg("b1", "bob", "4"), names, 3));
    EXPECT_EQ(p.next_tick_in(3), 9997);
    EXPECT_FALSE(p.on_tick(5000));
    auto more = p.on_tick(10'000);
    ASSERT_TRUE(more);
    EXPECT_EQ(more->body, "2 more messages (p2pchatctl tail shows them)");
    EXPECT_EQ(p.next_tick_in(10'000), -1);
}

TEST(NotifyPolicy, SharedNamesAreQualifiedAndLongTextCut) {
    notify_policy p({});
    name_book names;
    names.learn("1111111199", "sam");
    names.learn("2222222299", "sam");
    auto n = p.on_message(msg("1111111199", "sam", std::string(500, 'x')), names, 0);
    ASSERT_TRUE(n);
    EXPECT_EQ(n->summary, "sam#11111111");
    EXPECT_LT(n->body.size(), 300u);
}

}  // namespace
}  // namespace p2pchat::ctl
