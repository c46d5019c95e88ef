#pragma once
// Network keys and invites as people copy them around (docs/SECURITY.md):
//   network key   43 characters of unpadded base64url (32 bytes), one line in its file
//   invite        p2pchat:<network key>@<host>:<port>
// An invite is everything a node needs to join a closed network: its key and a member to
// ask. Pure: parsing and formatting only.
#include <optional>
#include <string>
#include <string_view>

#include "common/address.hpp"
#include "common/crypto/secure_channel.hpp"

namespace p2pchat {

inline constexpr std::string_view invite_prefix = "p2pchat:";

std::string format_network_key(crypto::key const& key);
// Surrounding blanks and a final newline are allowed; nothing else.
std::optional<crypto::key> parse_network_key(std::string_view text);

struct invite {
    crypto::key key{};
    address contact;
};

std::string format_invite(invite const& i);
std::optional<invite> parse_invite(std::string_view text);
// Starts like an invite (then it is parsed as one, and its errors reported as an invite's).
inline bool looks_like_invite(std::string_view text) { return text.starts_with(invite_prefix); }

}  // namespace p2pchat
