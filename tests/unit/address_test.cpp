#include "common/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace p2pchat {
namespace {

void expect_parsed(std::string_view text, std::string const& host, std::uint16_t port) {
    auto a = parse_address(text);
    ASSERT_TRUE(a) << "rejected: " << text;
    EXPECT_EQ(a->host, host) << text;
    EXPECT_EQ(a->port, port) << text;
}

TEST(Address, HostAndPort) {
    expect_parsed("127.0.0.1:7448", "127.0.0.1", 7448);
    expect_parsed("example.org:1", "example.org", 1);
    expect_parsed("localhost:65535", "localhost", 65535);
    expect_parsed("0.0.0.0:0000080", "0.0.0.0", 80);
}

TEST(Address, AHostIsAtMostADnsNameLong) {
    std::string const longest(max_host_bytes, 'h');
    ASSERT_TRUE(parse_address(longest + ":65535"));
    EXPECT_EQ(parse_address(longest + ":65535")->host, longest);
    EXPECT_FALSE(parse_address(longest + "h"));
    EXPECT_FALSE(parse_address(longest + "h:1"));
    EXPECT_FALSE(parse_address("[" + std::string(max_address_bytes, 'a') + "]:1"));
}

TEST(Address, PortZeroIsAllowed) {
    // --listen HOST:0 asks the kernel for a free port.
    expect_parsed("127.0.0.1:0", "127.0.0.1", 0);
    expect_parsed("[::1]:0", "::1", 0);
}

TEST(Address, PortDefaultsTo7447) {
    EXPECT_EQ(default_port, 7447);
    expect_parsed("example.org", "example.org", 7447);
    expect_parsed("10.1.2.3", "10.1.2.3", 7447);
    auto a = parse_address("h", 9999);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->port, 9999);
}

TEST(Address, BracketedIpv6) {
    expect_parsed("[::1]:7448", "::1", 7448);
    expect_parsed("[::1]", "::1", 7447);
    expect_parsed("[fe80::1%eth0]:9", "fe80::1%eth0", 9);
    expect_parsed("[::]:1", "::", 1);
}

TEST(Address, BareIpv6HasNoPort) {
    expect_parsed("::1", "::1", 7447);
    expect_parsed("::", "::", 7447);
    expect_parsed("2001:db8::7447", "2001:db8::7447", 7447);
}

TEST(Address, Rejected) {
    for (std::string_view bad :
         {"",          ":",           ":7447",    "host:",    "host:65536", "host:99999999999",
          "host:-1",   "host:+80",    "host: 80", "host:80 ", "host:8o",    "host:0x50",
          "[",         "[]",          "[]:1",     "[::1",     "[::1]:",     "[::1]x",
          "[::1]7447", "[::1]:65536", "::1]",     "::1]:80",  "host]:80",   "ho[st:80",
          "[[::1]:80", "[::1]]:80"}) {
        EXPECT_FALSE(parse_address(bad)) << "accepted: \"" << bad << "\"";
    }
}

TEST(Address, ToString) {
    EXPECT_EQ(to_string(address{"127.0.0.1", 7447}), "127.0.0.1:7447");
    EXPECT_EQ(to_string(address{"::1", 9}), "[::1]:9");
    EXPECT_EQ(to_string(address{"example.org", 65535}), "example.org:65535");
}

TEST(Address, RoundTrip) {
    for (std::string_view text :
         {"127.0.0.1:7447", "[::1]:9", "example.org:1", "[2001:db8::1]:65535", "[::]:7447"}) {
        auto a = parse_address(text);
        ASSERT_TRUE(a) << text;
        EXPECT_EQ(to_string(*a), text);
        EXPECT_EQ(parse_address(to_string(*a)), a);
    }
}

TEST(Address, UnspecifiedHost) {
    EXPECT_TRUE(is_unspecified_host("0.0.0.0"));
    EXPECT_TRUE(is_unspecified_host("::"));
    EXPECT_TRUE(is_unspecified_host(""));
    EXPECT_FALSE(is_unspecified_host("127.0.0.1"));
    EXPECT_FALSE(is_unspecified_host("::1"));
    EXPECT_FALSE(is_unspecified_host("localhost"));
    EXPECT_FALSE(is_unspecified_host("0.0.0.1"));
}

}  // namespace
}  // namespace p2pchat
