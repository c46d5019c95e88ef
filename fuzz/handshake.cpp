// Fuzzes crypto::channel_handshake, as responder and as initiator, against a counterparty the
// input controls. The counterparty is a real channel_handshake (so the fuzzer can reach every
// step), which may hold the wrong network key or claim an identity that is not its own; what
// the victim reads is the counterparty's genuine next message, or that message mutated,
// replaced by raw bytes, replayed from another step, or (a member of the network can do this)
// crafted and then given a valid mac1. libsodium draws from a generator seeded by the setup
// byte, so ephemeral keys and therefore genuine messages are the same every run of a setup.
//
// Invariants: no crash; the victim completes only when every message it read was the genuine
// one, the counterparty's identity is its own and its network key is the victim's (a responder
// checks the PSK in message 2; an initiator's message 0 must pass the responder's mac1); it
// then names the counterparty's identity, and reads nothing more. An honest exchange always
// completes with matching record keys; a dishonest one fails for the right reason.
//
// Input: u8 setup (bit 0: victim is the initiator; 1: the victim's network is open; 2: the
// counterparty holds another network key; 3: it claims another identity; 4: its message 0
// carries a mac1 under the victim's key anyway), then one op per message the victim reads:
// u8 kind and its operands (see mutate()). Past the end of the input every op is "genuine".
#include <sodium.h>

#include <optional>
#include <string>
#include <vector>

#include "common/crypto/secure_channel.hpp"
#include "fuzz/formats.hpp"
#include "fuzz/input.hpp"

namespace {

using namespace p2pchat;
using namespace p2pchat::crypto;

identity_keys identity(unsigned char seed_byte) {
    unsigned char seed[crypto_sign_SEEDBYTES];
    std::fill(std::begin(seed), std::end(seed), seed_byte);
    identity_keys k;
    crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed);
    return k;
}

network_key closed_key(unsigned char fill) {
    network_key k;
    k.secret.fill(fill);
    return k;
}

// mac1 as the responder checks it (secure_channel.cpp): BLAKE2b keyed by a hash of a label and
// the network key. Written out again here so that a change there shows up as a broken
// "insider" run instead of going unnoticed.
std::string with_mac1(std::string body, network_key const& network) {
    static constexpr std::string_view label = "p2pchat mac1 v1";
    key mac_key;
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, mac_key.size());
    crypto_generichash_update(&state, reinterpret_cast<unsigned char const*>(label.data()),
                              label.size());
    crypto_generichash_update(&state, network.secret.data(), network.secret.size());
    crypto_generichash_final(&state, mac_key.data(), mac_key.size());
    unsigned char mac[mac_bytes];
    crypto_generichash(mac, sizeof mac, reinterpret_cast<unsigned char const*>(body.data()),
                       body.size(), mac_key.data(), mac_key.size());
    body.append(reinterpret_cast<char const*>(mac), sizeof mac);
    return body;
}

std::string flip(std::string s, fuzz::reader& in) {
    std::size_t const at = in.u16();
    auto const mask = static_cast<char>(in.u8() | 1);
    if (!s.empty()) s[at % s.size()] ^= mask;
    return s;
}

using namespace fuzz::handshake_format;

std::string mutate(fuzz::reader& in, std::string const& message, network_key const& victim_net,
                   std::vector<std::string> const& earlier) {
    switch (static_cast<op>(in.u8() % op_count)) {
        case genuine:
            return message;
        case flipped:
            return flip(message, in);
        case truncated:
            return message.substr(0, in.u16() % (message.size() + 1));
        case extended:
            return message + in.blob();
        case replaced:
            return in.blob();
        case crafted:
            return with_mac1(in.blob(), victim_net);
        case reflipped: {
            std::string body =
                message.substr(0, message.size() - std::min(message.size(), mac_bytes));
            return with_mac1(flip(std::move(body), in), victim_net);
        }
        case replayed:
            return earlier.empty() ? message : earlier[in.u8() % earlier.size()];
        case op_count:
            break;
    }
    return message;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    fuzz::use_deterministic_randomness();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    fuzz::reader in(data, size);
    std::uint8_t const setup = in.u8();
    // The same ephemeral keys on every run of one setup, and others for another: a genuine
    // message of one setup, spliced in by the fuzzer, is then no valid message in another.
    fuzz::reseed_randomness(setup);
    bool const initiates = setup & victim_initiates;
    bool const open = setup & open_network;
    bool const wrong = setup & wrong_key;
    bool const lies = setup & false_identity;
    bool const insider = setup & insider_mac;

    static identity_keys const victim_id = identity(1), peer_id = identity(2), other = identity(3);
    network_key const victim_net = open ? open_network_key() : closed_key(0x11);
    network_key const peer_net = !wrong ? victim_net : open ? closed_key(0x11) : closed_key(0x22);
    identity_keys peer_claims = peer_id;
    if (lies) peer_claims.public_key = other.public_key;

    auto const victim_role = initiates ? handshake::role::initiator : handshake::role::responder;
    auto const peer_role = initiates ? handshake::role::responder : handshake::role::initiator;
    channel_handshake victim(victim_role, victim_id, victim_net);
    channel_handshake peer(peer_role, peer_claims, peer_net);

    std::vector<std::string> seen;  // every genuine message of either side, for replays
    std::optional<handshake_failure> peer_failure;
    std::string pending;  // the counterparty's next genuine message ("" when none)
    auto peer_reads = [&](std::string const& message) {
        handshake_failure f{};
        auto answer = peer.receive(message, f);
        pending = answer ? *answer : std::string();
        if (!answer) peer_failure = f;
    };
    if (initiates) {
        std::string const first = victim.start();
        FUZZ_CHECK(!first.empty());
        seen.push_back(first);
        peer_reads(first);
    } else {
        pending = peer.start();
        FUZZ_CHECK(!pending.empty());
        if (insider) pending = with_mac1(pending.substr(0, pending.size() - mac_bytes), victim_net);
    }

    bool all_genuine = true;
    std::optional<handshake_failure> victim_failure;
    while (!victim.done() && !victim_failure) {
        if (!pending.empty()) seen.push_back(pending);
        std::string const message = mutate(in, pending, victim_net, seen);
        if (message != pending) all_genuine = false;
        handshake_failure f{};
        auto answer = victim.receive(message, f);
        if (!answer) {
            victim_failure = f;
            break;
        }
        if (!answer->empty()) {
            seen.push_back(*answer);
            peer_reads(*answer);
        } else {
            pending.clear();
        }
    }
    // A finished handshake reads nothing more.
    for (int extra = 0; extra < 2 && victim.done() && !in.done(); ++extra) {
        handshake_failure f{};
        FUZZ_CHECK(!victim.receive(in.blob(), f) && f == handshake_failure::malformed);
        FUZZ_CHECK(victim.done());
    }

    if (victim.done()) {
        FUZZ_CHECK(all_genuine && !lies);
        FUZZ_CHECK(victim.peer_identity() == peer_id.public_key);
        // A responder has checked the PSK in message 2. An initiator finishes before the PSK
        // is proven to it (message 2 is its own), but its message 0 passed the peer's mac1.
        FUZZ_CHECK(!wrong);
    }
    if (all_genuine) {
        if (!wrong && !lies) {
            FUZZ_CHECK(victim.done() && peer.done());
            FUZZ_CHECK(peer.peer_identity() == victim_id.public_key);
            auto mine = victim.keys(), theirs = peer.keys();
            std::string sealed, opened;
            FUZZ_CHECK(mine.send.encrypt({}, "ping", sealed));
            FUZZ_CHECK(theirs.receive.decrypt({}, sealed, opened) && opened == "ping");
        } else if (lies) {
            // An initiator victim reads the claim in message 1; a responder in message 2,
            // unless the wrong network key stopped it first.
            FUZZ_CHECK(victim_failure);
            if (!wrong) FUZZ_CHECK(*victim_failure == handshake_failure::bad_identity);
        } else if (initiates) {
            // Wrong key: the responder refuses message 0's mac1, and the victim hears nothing.
            FUZZ_CHECK(peer_failure == handshake_failure::not_a_member && victim_failure);
        } else {
            FUZZ_CHECK(victim_failure == (insider ? handshake_failure::bad_handshake
                                                  : handshake_failure::not_a_member));
        }
    }
    return 0;
}
