#pragma once
// Node identities for tests that build protocol state by hand: real Ed25519 keys (the engine
// checks the signatures of what is relayed), derived from one character so that a test can
// name its nodes 'a', 'b', 'c' and get the same keys every run.
#include <string>

#include "common/crypto/signatures.hpp"
#include "common/wire/messages.hpp"
#include "tests/support/wire_printers.hpp"

namespace p2pchat::test {

struct test_identity {
    std::string id;  // 64 hex digits: the public key
    crypto::signing_key key{};
};

// The identity named by `c` (the same for the same character, in every test).
test_identity const& identity_of(char c);
inline std::string const& id_of(char c) { return identity_of(c).id; }

// An entry for `c`, signed by `c`.
wire::peer_entry signed_entry(char c, std::string name, std::string addr, std::uint64_t inc,
                              wire::peer_state state = wire::peer_state::alive);
// Re-signs an entry (after a test changed it) with the key of the node it names, which must
// be one of identity_of()'s.
wire::peer_entry& sign(wire::peer_entry& entry);
// A chat message from `c`, chained after `previous` (its author's previous message's chain;
// empty for the first message of a run).
wire::chat_msg chained_chat(char c, std::uint64_t seq, std::uint64_t lamport, std::string text,
                            std::string const& previous = {}, std::string name = "n",
                            std::int64_t time_ms = 0);
// Recomputes a message's chain (after a test changed it).
wire::chat_msg& rechain(wire::chat_msg& chat, std::string const& previous = {});
// The author's seal of its chain up to `tip`.
wire::seal_msg seal_of(wire::chat_msg const& tip);

}  // namespace p2pchat::test
