#include "common/crypto/noise.hpp"

#include <sodium.h>

#include <cstring>

namespace p2pchat::crypto {

namespace {

using hash = std::array<unsigned char, crypto_hash_sha256_BYTES>;
static_assert(sizeof(hash) == key_bytes);

unsigned char const* bytes(std::string_view s) {
    return reinterpret_cast<unsigned char const*>(s.data());
}
std::string_view view(key const& k) { return {reinterpret_cast<char const*>(k.data()), k.size()}; }

void hmac(key const& k, std::string_view a, std::string_view b, key& out) {
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, k.data(), k.size());
    crypto_auth_hmacsha256_update(&state, bytes(a), a.size());
    crypto_auth_hmacsha256_update(&state, bytes(b), b.size());
    crypto_auth_hmacsha256_final(&state, out.data());
    sodium_memzero(&state, sizeof state);
}

// Noise's HKDF (section 4.3): two or three outputs chained from HMAC(ck, input).
void hkdf(key const& ck, std::string_view input, key& out1, key& out2, key* out3 = nullptr) {
    key temp;
    hmac(ck, input, {}, temp);
    hmac(temp, "\x01", {}, out1);
    hmac(temp, view(out1), "\x02", out2);
    if (out3) hmac(temp, view(out2), "\x03", *out3);
    sodium_memzero(temp.data(), temp.size());
}

void nonce_bytes(std::uint64_t n,
                 unsigned char (&out)[crypto_aead_chacha20poly1305_ietf_NPUBBYTES]) {
    // 32 bits of zeros, then the counter little-endian (section 12.3).
    std::memset(out, 0, sizeof out);
    for (int i = 0; i < 8; ++i) out[4 + i] = static_cast<unsigned char>(n >> (8 * i));
}

}  // namespace

keypair generate_keypair() {
    keypair k;
    crypto_box_keypair(k.public_key.data(), k.secret_key.data());
    return k;
}

keypair x25519_from_ed25519(std::array<unsigned char, 64> const& ed25519_secret_key) {
    keypair k;
    crypto_sign_ed25519_sk_to_curve25519(k.secret_key.data(), ed25519_secret_key.data());
    crypto_scalarmult_base(k.public_key.data(), k.secret_key.data());
    return k;
}

std::optional<key> x25519_public_from_ed25519(key const& ed25519_public_key) {
    key out;
    if (crypto_sign_ed25519_pk_to_curve25519(out.data(), ed25519_public_key.data()) != 0)
        return std::nullopt;
    return out;
}

// ---------------------------------------------------------------- cipher_state

bool cipher_state::encrypt(std::string_view ad, std::string_view plaintext, std::string& out) {
    if (!has_key_) {
        out.append(plaintext);
        return true;
    }
    if (nonce_ == UINT64_MAX) return false;  // reserved (section 5.1)
    unsigned char npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    nonce_bytes(nonce_, npub);
    std::size_t const at = out.size();
    out.resize(at + plaintext.size() + tag_bytes);
    unsigned long long written = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out.data() + at),
                                              &written, bytes(plaintext), plaintext.size(),
                                              bytes(ad), ad.size(), nullptr, npub, key_.data());
    out.resize(at + written);
    ++nonce_;
    return true;
}

bool cipher_state::encrypt_in_place(std::string& buffer, std::size_t from) {
    if (!has_key_ || nonce_ == UINT64_MAX) return false;
    unsigned char npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    nonce_bytes(nonce_, npub);
    std::size_t const size = buffer.size() - from;
    buffer.resize(buffer.size() + tag_bytes);
    auto* data = reinterpret_cast<unsigned char*>(buffer.data() + from);
    crypto_aead_chacha20poly1305_ietf_encrypt_detached(data, data + size, nullptr, data, size,
                                                       nullptr, 0, nullptr, npub, key_.data());
    ++nonce_;
    return true;
}

bool cipher_state::decrypt_in_place(std::string& buffer, std::size_t from, std::size_t size) {
    if (!has_key_ || nonce_ == UINT64_MAX || size < tag_bytes) return false;
    unsigned char npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    nonce_bytes(nonce_, npub);
    auto* data = reinterpret_cast<unsigned char*>(buffer.data() + from);
    if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(data, nullptr, data, size - tag_bytes,
                                                           data + size - tag_bytes, nullptr, 0,
                                                           npub, key_.data()) != 0)
        return false;
    ++nonce_;
    return true;
}

bool cipher_state::decrypt(std::string_view ad, std::string_view ciphertext, std::string& out) {
    if (!has_key_) {
        out.append(ciphertext);
        return true;
    }
    if (nonce_ == UINT64_MAX || ciphertext.size() < tag_bytes) return false;
    unsigned char npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
    nonce_bytes(nonce_, npub);
    std::size_t const at = out.size();
    out.resize(at + ciphertext.size() - tag_bytes);
    unsigned long long written = 0;
    if (crypto_aead_chacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(out.data() + at), &written, nullptr, bytes(ciphertext),
            ciphertext.size(), bytes(ad), ad.size(), npub, key_.data()) != 0) {
        out.resize(at);
        return false;
    }
    out.resize(at + written);
    ++nonce_;
    return true;
}

// ---------------------------------------------------------------- handshake

handshake::handshake(role r, keypair const& static_key, key const& psk, std::string_view prologue,
                     std::optional<keypair> ephemeral)
    : role_(r), s_(static_key), e_(ephemeral ? *ephemeral : generate_keypair()), psk_(psk) {
    // InitializeSymmetric: the name is longer than HASHLEN, so h = HASH(name).
    crypto_hash_sha256(h_.data(), bytes(protocol_name), protocol_name.size());
    ck_ = h_;
    mix_hash(prologue);
}

handshake::~handshake() {
    sodium_memzero(&s_, sizeof s_);
    sodium_memzero(&e_, sizeof e_);
    sodium_memzero(psk_.data(), psk_.size());
    sodium_memzero(ck_.data(), ck_.size());
}

bool handshake::is_my_turn() const {
    if (failed_ || finished()) return false;
    bool const initiator_turn = step_ != 1;
    return (role_ == role::initiator) == initiator_turn;
}

void handshake::mix_hash(std::string_view data) {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, h_.data(), h_.size());
    crypto_hash_sha256_update(&state, bytes(data), data.size());
    crypto_hash_sha256_final(&state, h_.data());
}

void handshake::mix_key(unsigned char const* input, std::size_t size) {
    key temp;
    hkdf(ck_, {reinterpret_cast<char const*>(input), size}, ck_, temp);
    cipher_.init(temp);
    sodium_memzero(temp.data(), temp.size());
}

void handshake::mix_key_and_hash(key const& input) {
    key temp_h, temp_k;
    hkdf(ck_, view(input), ck_, temp_h, &temp_k);
    mix_hash(view(temp_h));
    cipher_.init(temp_k);
    sodium_memzero(temp_k.data(), temp_k.size());
}

void handshake::encrypt_and_hash(std::string_view plaintext, std::string& out) {
    std::size_t const at = out.size();
    cipher_.encrypt(view(h_), plaintext, out);
    mix_hash(std::string_view(out).substr(at));
}

bool handshake::decrypt_and_hash(std::string_view ciphertext, std::string& out) {
    if (!cipher_.decrypt(view(h_), ciphertext, out)) return false;
    mix_hash(ciphertext);
    return true;
}

bool handshake::dh_into_key(key const& secret, key const& public_key) {
    key shared;
    // -1: the peer's key is of low order (the result would be all zeros): refuse it.
    if (crypto_scalarmult(shared.data(), secret.data(), public_key.data()) != 0) return false;
    mix_key(shared.data(), shared.size());
    sodium_memzero(shared.data(), shared.size());
    return true;
}

std::optional<std::string> handshake::write_message(std::string_view payload) {
    if (!is_my_turn()) return std::nullopt;
    std::string out;
    bool ok = true;
    switch (step_) {
        case 0:  // -> e
            out.append(view(e_.public_key));
            mix_hash(view(e_.public_key));
            mix_key(e_.public_key.data(), key_bytes);  // a psk handshake mixes e into the key
            break;
        case 1:  // <- e, ee, s, es
            out.append(view(e_.public_key));
            mix_hash(view(e_.public_key));
            mix_key(e_.public_key.data(), key_bytes);
            ok = dh_into_key(e_.secret_key, re_);
            encrypt_and_hash(view(s_.public_key), out);
            ok = ok && dh_into_key(s_.secret_key, re_);
            break;
        case 2:  // -> s, se, psk
            encrypt_and_hash(view(s_.public_key), out);
            ok = dh_into_key(s_.secret_key, re_);
            mix_key_and_hash(psk_);
            break;
        default:
            return std::nullopt;
    }
    if (!ok) {
        failed_ = true;
        return std::nullopt;
    }
    encrypt_and_hash(payload, out);
    ++step_;
    return out;
}

std::optional<std::string> handshake::read_message(std::string_view message) {
    if (failed_ || is_my_turn() || finished()) return std::nullopt;
    auto fail = [this]() -> std::optional<std::string> {
        failed_ = true;
        return std::nullopt;
    };
    auto take_key = [&](key& k) {
        std::memcpy(k.data(), message.data(), key_bytes);
        message.remove_prefix(key_bytes);
    };
    std::string scratch;
    switch (step_) {
        case 0:  // -> e
            if (message.size() < key_bytes + tag_bytes) return fail();
            take_key(re_);
            mix_hash(view(re_));
            mix_key(re_.data(), key_bytes);
            break;
        case 1:  // <- e, ee, s, es
            if (message.size() < 2 * key_bytes + 2 * tag_bytes) return fail();
            take_key(re_);
            mix_hash(view(re_));
            mix_key(re_.data(), key_bytes);
            if (!dh_into_key(e_.secret_key, re_)) return fail();
            if (!decrypt_and_hash(message.substr(0, key_bytes + tag_bytes), scratch)) return fail();
            std::memcpy(remote_static_.data(), scratch.data(), key_bytes);
            message.remove_prefix(key_bytes + tag_bytes);
            if (!dh_into_key(e_.secret_key, remote_static_)) return fail();
            break;
        case 2:  // -> s, se, psk
            if (message.size() < key_bytes + 2 * tag_bytes) return fail();
            if (!decrypt_and_hash(message.substr(0, key_bytes + tag_bytes), scratch)) return fail();
            std::memcpy(remote_static_.data(), scratch.data(), key_bytes);
            message.remove_prefix(key_bytes + tag_bytes);
            if (!dh_into_key(e_.secret_key, remote_static_)) return fail();
            mix_key_and_hash(psk_);
            break;
        default:
            return fail();
    }
    std::string payload;
    if (!decrypt_and_hash(message, payload)) return fail();
    ++step_;
    return payload;
}

transport_keys handshake::split() const {
    key k1, k2;
    hkdf(ck_, {}, k1, k2);
    transport_keys keys;
    keys.send.init(role_ == role::initiator ? k1 : k2);
    keys.receive.init(role_ == role::initiator ? k2 : k1);
    sodium_memzero(k1.data(), k1.size());
    sodium_memzero(k2.data(), k2.size());
    return keys;
}

}  // namespace p2pchat::crypto
