#include "common/crypto/noise.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <string>

namespace p2pchat::crypto {
namespace {

key filled(unsigned char byte) {
    key k;
    k.fill(byte);
    return k;
}

keypair keypair_of(key const& secret) {
    keypair k;
    k.secret_key = secret;
    crypto_scalarmult_base(k.public_key.data(), secret.data());
    return k;
}

std::string hex(std::string_view s) {
    std::string out(s.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), reinterpret_cast<unsigned char const*>(s.data()),
                   s.size());
    out.pop_back();
    return out;
}
std::string hex(key const& k) { return hex({reinterpret_cast<char const*>(k.data()), k.size()}); }

struct pair_of_parties {
    handshake initiator;
    handshake responder;
};

// Both sides on fixed keys, as noise_reference.py runs them.
struct fixed_run {
    keypair init_static = keypair_of(filled(1));
    keypair init_ephemeral = keypair_of(filled(2));
    keypair resp_static = keypair_of(filled(3));
    keypair resp_ephemeral = keypair_of(filled(4));
    key psk = filled(5);
    std::string prologue = "hi";
    handshake initiator{handshake::role::initiator, init_static, psk, prologue, init_ephemeral};
    handshake responder{handshake::role::responder, resp_static, psk, prologue, resp_ephemeral};
};

// Runs the three messages; returns them, or nullopt when a read failed.
std::optional<std::vector<std::string>> run(handshake& initiator, handshake& responder,
                                            std::vector<std::string> const& payloads = {"a", "b",
                                                                                        "c"}) {
    std::vector<std::string> wire;
    for (int i = 0; i < 3; ++i) {
        auto& writer = i % 2 == 0 ? initiator : responder;
        auto& reader = i % 2 == 0 ? responder : initiator;
        auto message = writer.write_message(payloads[static_cast<std::size_t>(i)]);
        if (!message) return std::nullopt;
        auto payload = reader.read_message(*message);
        if (!payload) return std::nullopt;
        EXPECT_EQ(*payload, payloads[static_cast<std::size_t>(i)]);
        wire.push_back(*message);
    }
    return wire;
}

TEST(NoiseHandshake, BothSidesFinishWithEachOthersStaticKeyAndTheSameHash) {
    fixed_run f;
    ASSERT_TRUE(run(f.initiator, f.responder));
    EXPECT_TRUE(f.initiator.finished());
    EXPECT_TRUE(f.responder.finished());
    EXPECT_EQ(f.initiator.remote_static(), f.resp_static.public_key);
    EXPECT_EQ(f.responder.remote_static(), f.init_static.public_key);
    EXPECT_EQ(f.initiator.handshake_hash(), f.responder.handshake_hash());
}

TEST(NoiseHandshake, TransportKeysMatchAcrossTheTwoSides) {
    fixed_run f;
    ASSERT_TRUE(run(f.initiator, f.responder));
    auto a = f.initiator.split();
    auto b = f.responder.split();
    std::string c1, c2, p1, p2;
    ASSERT_TRUE(a.send.encrypt({}, "to the responder", c1));
    ASSERT_TRUE(b.send.encrypt({}, "to the initiator", c2));
    EXPECT_NE(c1.find("responder"), 0u);
    ASSERT_TRUE(b.receive.decrypt({}, c1, p1));
    ASSERT_TRUE(a.receive.decrypt({}, c2, p2));
    EXPECT_EQ(p1, "to the responder");
    EXPECT_EQ(p2, "to the initiator");
}

// The interoperability check: dissononce (an independent implementation of the Noise
// framework, Debian's python3-dissononce) puts the very same bytes on the wire.
TEST(NoiseHandshake, SameBytesAsAnIndependentImplementation) {
    fixed_run f;
    auto wire = run(f.initiator, f.responder, {"a", "b", "c"});
    ASSERT_TRUE(wire);
    auto a = f.initiator.split();
    auto b = f.responder.split();
    std::string to_responder, to_initiator;
    a.send.encrypt({}, "xx", to_responder);
    b.send.encrypt({}, "yy", to_initiator);

    std::string const input =
        R"({"init_static":")" + hex(f.init_static.secret_key) + R"(","init_ephemeral":")" +
        hex(f.init_ephemeral.secret_key) + R"(","resp_static":")" + hex(f.resp_static.secret_key) +
        R"(","resp_ephemeral":")" + hex(f.resp_ephemeral.secret_key) + R"(","psk":")" + hex(f.psk) +
        R"(","prologue":"6869","payloads":["61","62","63"],"transport":["7878","7979"]})";
    std::string const command = "printf '%s' '" + input +
                                "' | /usr/bin/python3 " P2PCHAT_SOURCE_DIR
                                "/tests/unit/crypto/noise_reference.py";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    while (auto n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
    ASSERT_EQ(::pclose(pipe), 0) << "the reference implementation failed (is python3-dissononce "
                                    "installed? .ci/deps installs it): "
                                 << output;
    auto const reference = boost::json::parse(output).as_object();
    auto const& messages = reference.at("messages").as_array();
    ASSERT_EQ(messages.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i)
        EXPECT_EQ(hex((*wire)[i]), messages[i].as_string()) << "handshake message " << i;
    EXPECT_EQ(hex(f.initiator.handshake_hash()), reference.at("handshake_hash").as_string());
    EXPECT_EQ(hex(to_responder), reference.at("initiator_to_responder").as_string());
    EXPECT_EQ(hex(to_initiator), reference.at("responder_to_initiator").as_string());
}

TEST(NoiseHandshake, WrongNetworkKeyFailsAtTheLastMessage) {
    auto const init_static = generate_keypair();
    auto const resp_static = generate_keypair();
    handshake initiator(handshake::role::initiator, init_static, filled(7), "p");
    handshake responder(handshake::role::responder, resp_static, filled(8), "p");
    auto m0 = initiator.write_message("");
    ASSERT_TRUE(responder.read_message(*m0));
    auto m1 = responder.write_message("");
    ASSERT_TRUE(initiator.read_message(*m1));
    auto m2 = initiator.write_message("");
    EXPECT_FALSE(responder.read_message(*m2));
    EXPECT_TRUE(responder.failed());
    EXPECT_FALSE(responder.finished());
}

TEST(NoiseHandshake, DifferentProloguesNeverAgree) {
    handshake initiator(handshake::role::initiator, generate_keypair(), filled(7), "v1");
    handshake responder(handshake::role::responder, generate_keypair(), filled(7), "v2");
    EXPECT_FALSE(run(initiator, responder));
}

TEST(NoiseHandshake, EveryFlippedBitOfEveryMessageIsRefused) {
    fixed_run reference;
    auto const wire = run(reference.initiator, reference.responder);
    ASSERT_TRUE(wire);
    for (std::size_t m = 0; m < 3; ++m) {
        for (std::size_t byte = 0; byte < (*wire)[m].size(); ++byte) {
            fixed_run f;
            // Replay the messages before m as they were, then m with one bit flipped.
            for (std::size_t i = 0; i < m; ++i) {
                auto& writer = i % 2 == 0 ? f.initiator : f.responder;
                auto& reader = i % 2 == 0 ? f.responder : f.initiator;
                (void)writer.write_message(std::string(1, static_cast<char>('a' + i)));
                ASSERT_TRUE(reader.read_message((*wire)[i]));
            }
            auto& reader = m % 2 == 0 ? f.responder : f.initiator;
            std::string tampered = (*wire)[m];
            tampered[byte] = static_cast<char>(tampered[byte] ^ 0x01);
            // A flipped bit in message 0's ephemeral key changes the key, not a tag, so it
            // is caught one message later: by then the two sides disagree on everything.
            auto const read = reader.read_message(tampered);
            if (m == 0 && byte < key_bytes) {
                if (!read) continue;
                auto& writer = f.responder;
                auto answer = writer.write_message("b");
                if (!answer) continue;
                EXPECT_FALSE(f.initiator.read_message(*answer)) << "byte " << byte;
            } else {
                EXPECT_FALSE(read) << "message " << m << " byte " << byte;
            }
        }
    }
}

TEST(NoiseHandshake, TruncatedMessagesAreRefused) {
    fixed_run reference;
    auto const wire = run(reference.initiator, reference.responder);
    ASSERT_TRUE(wire);
    for (std::size_t m = 0; m < 3; ++m) {
        for (std::size_t keep : {std::size_t{0}, std::size_t{1}, (*wire)[m].size() - 1}) {
            fixed_run f;
            for (std::size_t i = 0; i < m; ++i) {
                auto& writer = i % 2 == 0 ? f.initiator : f.responder;
                auto& reader = i % 2 == 0 ? f.responder : f.initiator;
                (void)writer.write_message(std::string(1, static_cast<char>('a' + i)));
                ASSERT_TRUE(reader.read_message((*wire)[i]));
            }
            auto& reader = m % 2 == 0 ? f.responder : f.initiator;
            EXPECT_FALSE(reader.read_message((*wire)[m].substr(0, keep)))
                << "message " << m << " cut to " << keep;
        }
    }
}

TEST(NoiseHandshake, ALowOrderEphemeralKeyIsRefused) {
    // An initiator that sends the all-zero point as its ephemeral key, with a valid tag.
    keypair zero_point;
    zero_point.secret_key = filled(9);
    handshake initiator(handshake::role::initiator, generate_keypair(), filled(7), "", zero_point);
    handshake responder(handshake::role::responder, generate_keypair(), filled(7), "");
    auto m0 = initiator.write_message("");
    ASSERT_TRUE(m0);
    ASSERT_TRUE(responder.read_message(*m0)) << "message 0 carries no DH";
    EXPECT_FALSE(responder.write_message("")) << "ee with a low-order point";
    EXPECT_TRUE(responder.failed());
}

TEST(NoiseHandshake, TurnsAreEnforced) {
    fixed_run f;
    EXPECT_FALSE(f.responder.write_message("out of turn"));
    EXPECT_FALSE(f.initiator.read_message(std::string(100, 'x')));
    ASSERT_TRUE(run(f.initiator, f.responder));
    EXPECT_FALSE(f.initiator.write_message("after the end"));
}

TEST(NoiseTransport, ReplayedReorderedAndTamperedMessagesAreRefused) {
    fixed_run f;
    ASSERT_TRUE(run(f.initiator, f.responder));
    auto a = f.initiator.split();
    auto b = f.responder.split();
    std::string first, second;
    a.send.encrypt({}, "first", first);
    a.send.encrypt({}, "second", second);
    std::string out;
    EXPECT_FALSE(b.receive.decrypt({}, second, out)) << "second before first";
    ASSERT_TRUE(b.receive.decrypt({}, first, out));
    EXPECT_FALSE(b.receive.decrypt({}, first, out)) << "replayed";
    std::string tampered = second;
    tampered[0] = static_cast<char>(tampered[0] ^ 0x80);
    EXPECT_FALSE(b.receive.decrypt({}, tampered, out));
    EXPECT_FALSE(b.receive.decrypt({}, second.substr(0, second.size() - 1), out)) << "truncated";
    out.clear();
    ASSERT_TRUE(b.receive.decrypt({}, second, out));
    EXPECT_EQ(out, "second");
}

TEST(NoiseKeys, AnEd25519IdentityGivesTheMatchingX25519Pair) {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    std::array<unsigned char, 64> sk;
    crypto_sign_keypair(pk, sk.data());
    auto const x = x25519_from_ed25519(sk);
    key ed_public;
    std::copy(std::begin(pk), std::end(pk), ed_public.begin());
    auto const derived = x25519_public_from_ed25519(ed_public);
    ASSERT_TRUE(derived);
    EXPECT_EQ(*derived, x.public_key);
    EXPECT_FALSE(x25519_public_from_ed25519(filled(0xff))) << "not a curve point";
}

}  // namespace
}  // namespace p2pchat::crypto
