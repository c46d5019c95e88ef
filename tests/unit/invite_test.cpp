#include "common/invite.hpp"

#include <gtest/gtest.h>

namespace p2pchat {
namespace {

crypto::key sample_key() {
    crypto::key k;
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<unsigned char>(i * 7 + 1);
    return k;
}

TEST(NetworkKeyText, RoundTripsAsFortyThreeUrlSafeCharacters) {
    auto const text = format_network_key(sample_key());
    EXPECT_EQ(text.size(), 43u);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    EXPECT_EQ(parse_network_key(text), sample_key());
    EXPECT_EQ(parse_network_key("  " + text + "\n"), sample_key()) << "a key file's newline";
}

TEST(NetworkKeyText, AnythingElseIsRefused) {
    auto const text = format_network_key(sample_key());
    EXPECT_FALSE(parse_network_key(""));
    EXPECT_FALSE(parse_network_key(text.substr(1)));
    EXPECT_FALSE(parse_network_key(text + "A"));
    EXPECT_FALSE(parse_network_key(text.substr(0, 42) + "!"));
    EXPECT_FALSE(parse_network_key(text.substr(0, 20) + " " + text.substr(21)));
    EXPECT_FALSE(parse_network_key(std::string(64, 'a'))) << "hex is not the format";
}

TEST(Invite, RoundTrips) {
    invite const i{sample_key(), {"192.168.1.5", 7447}};
    auto const text = format_invite(i);
    EXPECT_TRUE(text.starts_with("p2pchat:"));
    EXPECT_TRUE(text.ends_with("@192.168.1.5:7447"));
    auto const parsed = parse_invite(text);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->key, i.key);
    EXPECT_EQ(parsed->contact, i.contact);
    auto const v6 = parse_invite(format_invite({sample_key(), {"fe80::1", 9000}}));
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->contact.host, "fe80::1");
    EXPECT_EQ(v6->contact.port, 9000);
}

TEST(Invite, DefaultPortAndBrokenInvites) {
    auto const key = format_network_key(sample_key());
    auto const no_port = parse_invite("p2pchat:" + key + "@host.example");
    ASSERT_TRUE(no_port);
    EXPECT_EQ(no_port->contact.port, default_port);
    EXPECT_FALSE(parse_invite("p2pchat:" + key));
    EXPECT_FALSE(parse_invite("p2pchat:" + key + "@"));
    EXPECT_FALSE(parse_invite("p2pchat:" + key + "@host:0"));
    EXPECT_FALSE(parse_invite("p2pchat:" + key + "@host:70000"));
    EXPECT_FALSE(parse_invite("p2pchat:short@host"));
    EXPECT_FALSE(parse_invite("127.0.0.1:7447"));
    EXPECT_TRUE(looks_like_invite("p2pchat:anything"));
    EXPECT_FALSE(looks_like_invite("127.0.0.1"));
}

}  // namespace
}  // namespace p2pchat
