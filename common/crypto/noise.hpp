#pragma once
// The Noise protocol framework (revision 34), the one handshake p2pchat uses:
// Noise_XXpsk3_25519_ChaChaPoly_SHA256, built from libsodium's X25519, ChaCha20-Poly1305 (IETF)
// and SHA-256/HMAC-SHA-256. Pure: no I/O; the daemon's connection layer drives it
// (docs/PROTOCOL.md, "Handshake").
//
//   -> e
//   <- e, ee, s, es
//   -> s, se, psk
//
// Byte strings are std::string, as frames are everywhere else. Not thread-safe.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace p2pchat::crypto {

inline constexpr std::size_t key_bytes = 32;
inline constexpr std::size_t tag_bytes = 16;
using key = std::array<unsigned char, key_bytes>;

struct keypair {
    key public_key{};
    key secret_key{};
};

// A fresh X25519 key pair from the system's CSPRNG.
keypair generate_keypair();
// The X25519 key pair that belongs to an Ed25519 one (libsodium's conversion): a node's
// static Noise key is its identity key, so the handshake proves who it is.
keypair x25519_from_ed25519(std::array<unsigned char, 64> const& ed25519_secret_key);
// The X25519 public key of an Ed25519 public key; nullopt when it is not a valid point.
std::optional<key> x25519_public_from_ed25519(key const& ed25519_public_key);

// One direction of a Noise transport (or the handshake's current key): ChaCha20-Poly1305
// with a 64-bit counter nonce, so a replayed, reordered, dropped or altered message fails.
class cipher_state {
  public:
    void init(key const& k) {
        key_ = k;
        has_key_ = true;
        nonce_ = 0;
    }
    bool has_key() const { return has_key_; }
    std::uint64_t nonce() const { return nonce_; }

    // Appends plaintext + 16-byte tag (or the plaintext itself before a key is set). False
    // once the nonce space is spent (2^64 - 1 messages): the connection must end.
    bool encrypt(std::string_view ad, std::string_view plaintext, std::string& out);
    // Encrypts buffer[from..] where it lies and appends the tag: no copy of a large record.
    bool encrypt_in_place(std::string& buffer, std::size_t from);
    // Opens buffer[from, from + size) where it lies: the plaintext is then its first
    // size - 16 bytes. False when not authentic, as decrypt().
    bool decrypt_in_place(std::string& buffer, std::size_t from, std::size_t size);
    // Appends the plaintext. False when the message is not authentic (or too short): the
    // counter does not move, and the connection must end.
    bool decrypt(std::string_view ad, std::string_view ciphertext, std::string& out);

  private:
    key key_{};
    bool has_key_ = false;
    std::uint64_t nonce_ = 0;
};

struct transport_keys {
    cipher_state send;
    cipher_state receive;
};

class handshake {
  public:
    enum class role { initiator, responder };
    static constexpr std::string_view protocol_name = "Noise_XXpsk3_25519_ChaChaPoly_SHA256";

    // `ephemeral` is for tests with fixed vectors; by default a fresh key pair is drawn.
    handshake(role r, keypair const& static_key, key const& psk, std::string_view prologue,
              std::optional<keypair> ephemeral = std::nullopt);
    ~handshake();
    handshake(handshake const&) = delete;
    handshake& operator=(handshake const&) = delete;

    // Whose turn it is: the initiator writes messages 0 and 2, the responder message 1.
    bool is_my_turn() const;
    bool finished() const { return step_ == 3; }
    bool failed() const { return failed_; }
    int step() const { return step_; }

    // The next handshake message with `payload` inside (encrypted from message 1 on), or
    // nullopt when it is not our turn or the peer's ephemeral key is unusable (low order).
    std::optional<std::string> write_message(std::string_view payload);
    // Reads the peer's next message; its payload, or nullopt when it is malformed or not
    // authentic (wrong network key, tampered, truncated): the handshake is then dead.
    std::optional<std::string> read_message(std::string_view message);

    // After finished(): the peer's static key (authenticated) and the two transport keys.
    key const& remote_static() const { return remote_static_; }
    key const& handshake_hash() const { return h_; }
    transport_keys split() const;

  private:
    void mix_hash(std::string_view data);
    void mix_key(unsigned char const* input, std::size_t size);
    void mix_key_and_hash(key const& input);
    void encrypt_and_hash(std::string_view plaintext, std::string& out);
    bool decrypt_and_hash(std::string_view ciphertext, std::string& out);
    bool dh_into_key(key const& secret, key const& public_key);

    role role_;
    keypair s_;
    keypair e_;
    key psk_;
    key re_{};
    key remote_static_{};
    key ck_{};
    key h_{};
    cipher_state cipher_;
    int step_ = 0;
    bool failed_ = false;
};

}  // namespace p2pchat::crypto
