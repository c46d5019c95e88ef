#include "common/invite.hpp"

#include <tuple>

#include "common/crypto/base64url.hpp"

namespace p2pchat {

namespace {

std::string_view trim(std::string_view s) {
    auto const blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string format_network_key(crypto::key const& key) { return crypto::secret_to_base64url(key); }

std::optional<crypto::key> parse_network_key(std::string_view text) {
    return crypto::secret_from_base64url<std::tuple_size_v<crypto::key>>(trim(text));
}

std::string format_invite(invite const& i) {
    return std::string(invite_prefix) + format_network_key(i.key) + "@" + to_string(i.contact);
}

std::optional<invite> parse_invite(std::string_view text) {
    text = trim(text);
    if (!looks_like_invite(text)) return std::nullopt;
    text.remove_prefix(invite_prefix.size());
    auto const at = text.find('@');
    if (at == std::string_view::npos) return std::nullopt;
    auto key = parse_network_key(text.substr(0, at));
    auto contact = parse_address(text.substr(at + 1));
    if (!key || !contact || contact->port == 0) return std::nullopt;
    return invite{*key, *contact};
}

}  // namespace p2pchat
