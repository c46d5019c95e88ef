#include "tests/support/identities.hpp"

#include <sodium.h>

#include <map>
#include <stdexcept>

namespace p2pchat::test {

namespace {

std::map<char, test_identity>& registry() {
    static std::map<char, test_identity> identities;
    return identities;
}

crypto::signing_key const& key_of(std::string const& id) {
    for (auto const& [c, identity] : registry())
        if (identity.id == id) return identity.key;
    throw std::logic_error("no test identity has id " + id.substr(0, 8));
}

}  // namespace

test_identity const& identity_of(char c) {
    auto& identities = registry();
    if (auto it = identities.find(c); it != identities.end()) return it->second;
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    unsigned char seed[crypto_sign_SEEDBYTES];
    for (auto& b : seed) b = static_cast<unsigned char>(c);
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    test_identity identity;
    crypto_sign_seed_keypair(pk, identity.key.data(), seed);
    char hex[crypto_sign_PUBLICKEYBYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    identity.id = hex;
    return identities.emplace(c, std::move(identity)).first->second;
}

wire::peer_entry signed_entry(char c, std::string name, std::string addr, std::uint64_t inc,
                              wire::peer_state state) {
    wire::peer_entry e{id_of(c), std::move(name), std::move(addr), inc, state, {}};
    return sign(e);
}

wire::peer_entry& sign(wire::peer_entry& entry) {
    entry.sig = crypto::sign_entry(entry, key_of(entry.id));
    return entry;
}

wire::chat_msg chained_chat(char c, std::uint64_t seq, std::uint64_t lamport, std::string text,
                            std::string const& previous, std::string name, std::int64_t time_ms) {
    wire::chat_msg chat{id_of(c), seq, lamport, time_ms, std::move(name), std::move(text), {}};
    return rechain(chat, previous);
}

wire::chat_msg& rechain(wire::chat_msg& chat, std::string const& previous) {
    chat.chain = crypto::next_chain(previous, chat);
    return chat;
}

wire::seal_msg seal_of(wire::chat_msg const& tip) {
    return crypto::seal(tip.origin, tip.seq, tip.chain, key_of(tip.origin));
}

}  // namespace p2pchat::test
