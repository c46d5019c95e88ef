#include "common/address.hpp"

#include <charconv>

namespace p2pchat {

namespace {

std::optional<std::uint16_t> parse_port(std::string_view s) {
    unsigned value = 0;
    auto const [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    // Port 0 is allowed: for --listen it asks the kernel for a free port.
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || value > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<address> parse_address(std::string_view text, std::uint16_t default_port_) {
    // Peers relay each other's addresses: a long one would swell every list that carries it.
    if (text.size() > max_address_bytes) return std::nullopt;
    address out{.host = {}, .port = default_port_};
    if (text.starts_with('[')) {
        auto const close = text.find(']');
        if (close == std::string_view::npos || close == 1) return std::nullopt;
        out.host = std::string(text.substr(1, close - 1));
        if (out.host.find('[') != std::string::npos) return std::nullopt;
        auto rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            auto port = parse_port(rest.substr(1));
            if (!port) return std::nullopt;
            out.port = *port;
        }
        return out;
    }
    // Brackets only ever enclose a whole IPv6 host; a stray one is a typo, not a host name.
    if (text.find_first_of("[]") != std::string_view::npos) return std::nullopt;
    auto const colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
        out.host = std::string(text);  // bare IPv6 literal, no port
        return out;
    }
    out.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
        auto port = parse_port(text.substr(colon + 1));
        if (!port) return std::nullopt;
        out.port = *port;
    }
    if (out.host.empty() || out.host.size() > max_host_bytes) return std::nullopt;
    return out;
}

std::string to_string(address const& a) {
    if (a.host.find(':') != std::string::npos) return "[" + a.host + "]:" + std::to_string(a.port);
    return a.host + ":" + std::to_string(a.port);
}

bool is_unspecified_host(std::string_view host) {
    return host.empty() || host == "0.0.0.0" || host == "::";
}

}  // namespace p2pchat
