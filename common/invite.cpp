#include "common/invite.hpp"

#include <sodium.h>

namespace p2pchat {

namespace {

constexpr int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;

std::string_view trim(std::string_view s) {
    auto const blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && blank(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string format_network_key(crypto::key const& key) {
    std::string out(sodium_base64_encoded_len(key.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), key.data(), key.size(), variant);
    out.resize(out.size() - 1);  // the terminating NUL
    return out;
}

std::optional<crypto::key> parse_network_key(std::string_view text) {
    text = trim(text);
    if (text.size() != 43) return std::nullopt;
    crypto::key key;
    std::size_t length = 0;
    char const* end = nullptr;
    if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &length, &end,
                          variant) != 0 ||
        length != key.size() || end != text.data() + text.size())
        return std::nullopt;
    return key;
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
