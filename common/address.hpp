#pragma once
// Host and port as users and the wire write them: "host", "host:port", "[v6]:port".
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace p2pchat {

inline constexpr std::uint16_t default_port = 7447;

struct address {
    std::string host;  // without brackets
    std::uint16_t port = default_port;

    friend bool operator==(address const&, address const&) = default;
};

// The longest host a DNS name can be (RFC 1035), and so the longest address text:
// "[" host "]:" port.
inline constexpr std::size_t max_host_bytes = 253;
inline constexpr std::size_t max_address_bytes = max_host_bytes + 2 + 1 + 5;

// Parses "host", "host:port", "[v6]", "[v6]:port" (a bare v6 literal has no port).
// Returns nullopt for an empty host or one over max_host_bytes, a bad port (0 is allowed) or
// unbalanced brackets.
std::optional<address> parse_address(std::string_view text,
                                     std::uint16_t default_port_ = default_port);

// "host:port", or "[host]:port" when host contains ':'.
std::string to_string(address const& a);

// True for 0.0.0.0, ::, and the empty host: a listener on every interface.
bool is_unspecified_host(std::string_view host);

}  // namespace p2pchat
