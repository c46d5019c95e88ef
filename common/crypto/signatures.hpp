#pragma once
// Owner signatures on the state nodes relay for each other (docs/PROTOCOL.md, "Signatures"):
// a peer entry is signed by the node it describes, chat messages by their author, each with
// the Ed25519 identity key whose public half is the node id. A relayed entry or message is
// believed only when its signature verifies; one that arrives from its owner over a link
// the handshake authenticated as the owner needs no check, but carries its proof on for
// those it is relayed to.
//
// An author does not sign each message (an Ed25519 signature costs tens of microseconds, a
// stream of messages far less each): its messages form a hash chain, each carrying
// H(chain of the previous one || the message), and after a burst the author signs the tip of
// the chain in a seal. A relayed message is proven by its successors' chain links up to a
// seal.
//
// Signatures travel as 86 characters of unpadded base64url, chains as 43. What is signed or
// hashed is a fixed binary layout (never the JSON, which a relay may re-encode), with a label
// per kind, integers big-endian; the signer's id is the key, so it is not repeated inside:
//   entry  "p2pchat/entry/1" u16 |name| name u16 |addr| addr u64 inc u8 state
//   chain  BLAKE2b-256("p2pchat/chat/1" previous-chain(32) u64 seq u64 lamport i64 time
//                      u16 |name| name u32 |text| text)
//   seal   "p2pchat/seal/1" u64 seq chain(32)
#include <array>
#include <string>
#include <string_view>

#include "common/wire/messages.hpp"

namespace p2pchat::crypto {

using signing_key = std::array<unsigned char, 64>;  // libsodium's Ed25519 secret key

inline constexpr std::size_t signature_text_size = 86;

// The signature text of `entry` (as it is, state included) under `key`.
std::string sign_entry(wire::peer_entry const& entry, signing_key const& key);
// True when entry.sig is entry.id's signature of the entry in state `as`.
bool verifies(wire::peer_entry const& entry, wire::peer_state as);
inline bool verifies(wire::peer_entry const& entry) { return verifies(entry, entry.state); }

// The chain value of `chat` after `previous` (an empty string: the first of a run).
std::string next_chain(std::string_view previous, wire::chat_msg const& chat);
// True when `chat` follows `previous` in its author's chain: chat.chain == next_chain(...).
bool follows(std::string_view previous, wire::chat_msg const& chat);

wire::seal_msg seal(std::string origin, std::uint64_t seq, std::string chain,
                    signing_key const& key);
bool verifies(wire::seal_msg const& seal);

// Looks like a signature: 86 base64url characters that decode to 64 bytes.
bool is_signature_text(std::string_view text);
// Looks like a chain value: 43 base64url characters that decode to 32 bytes.
bool is_chain_text(std::string_view text);

}  // namespace p2pchat::crypto
