#pragma once
// p2pchat's secure channel (docs/PROTOCOL.md, "Handshake" and "Records"): the Noise handshake
// that opens every peer connection, with the network key as its PSK and the node's Ed25519
// identity as its static key, and the records that carry frames afterwards. Pure: bytes in,
// bytes out; the daemon's connection layer does the I/O.
//
//   message 0, initiator -> responder:  Noise(-> e) || mac1
//   message 1, responder -> initiator:  Noise(<- e, ee, s, es; payload: responder's Ed25519 key)
//   message 2, initiator -> responder:  Noise(-> s, se, psk; payload: initiator's Ed25519 key)
//
// mac1 (16 bytes, keyed BLAKE2b over message 0, keyed by the network key) lets a responder
// drop a stranger's first message before any Diffie-Hellman work, as WireGuard's MAC1 does;
// the PSK in message 2 is what proves the initiator holds the network key. Each side checks
// that the Ed25519 key in the payload is the one its Noise static key derives from, so the
// node id (the Ed25519 key) is proven by the handshake and by nothing else.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "common/crypto/noise.hpp"
#include "common/wire/frame_decoder.hpp"

namespace p2pchat::crypto {

inline constexpr std::size_t mac_bytes = 16;
inline constexpr std::string_view prologue = "p2pchat/1";

// The network's shared secret. A network with none uses open_network_key(): its links are
// encrypted and authenticated all the same, but anyone who can reach a node may join.
struct network_key {
    key secret{};
    bool open = false;
};
network_key open_network_key();
network_key generate_network_key();

// A node's long-term identity: the Ed25519 key pair kept in its state directory.
struct identity_keys {
    std::array<unsigned char, 64> secret_key{};
    key public_key{};
};

enum class handshake_failure {
    malformed,      // too short, or a message where none was expected
    not_a_member,   // message 0's mac1 is wrong: no network key (or another network's)
    bad_handshake,  // a Noise check failed: tampered, truncated, or the wrong network key
    bad_identity,   // the Ed25519 key does not match the static key it claims
};
std::string_view to_string(handshake_failure f);

class channel_handshake {
  public:
    using role = handshake::role;
    channel_handshake(role r, identity_keys const& me, network_key const& network);

    // The initiator's first message.
    std::string start();
    // Takes the peer's next message. Returns what to send back (empty when nothing), or the
    // reason the handshake is dead.
    std::optional<std::string> receive(std::string_view message, handshake_failure& failure);

    bool done() const { return noise_.finished() && verified_; }
    // After done(): the peer's node id (its Ed25519 key) and the keys of the records.
    key const& peer_identity() const { return peer_identity_; }
    transport_keys keys() const { return noise_.split(); }

  private:
    bool take_identity(std::string const& payload);

    role role_;
    identity_keys const& me_;
    key mac1_key_{};
    handshake noise_;
    key peer_identity_{};
    bool verified_ = false;
};

// The largest record: one whole frame at the frame limit with its length header, sealed.
inline constexpr std::size_t max_record_plaintext =
    wire::default_frame_limit + wire::frame_header_size;
inline constexpr std::size_t max_record_bytes = max_record_plaintext + tag_bytes;

// Seals `plaintext` (at most max_record_plaintext bytes) into one record appended to `out`.
// Frames normally go through seal_records(); this is for bytes that are not whole frames.
bool seal_record(cipher_state& cipher, std::string_view plaintext, std::string& out);

// Seals frames (each already with its 4-byte length header) into records appended to `out`:
// a 4-byte big-endian length and the ciphertext of as many whole frames as fit in one record.
// False when the cipher is spent (the connection must end).
template <class FrameRange>
bool seal_records(cipher_state& cipher, FrameRange const& frames, std::string& out);

// Splits received bytes into records, opens each where it lies (no copy) and cuts the frames
// it carries: the frame_decoder of an encrypted connection. A record carries whole frames; one
// that ends inside a frame is malformed.
class record_decoder {
  public:
    enum class error { none, bad_record, not_authentic, bad_frame };

    explicit record_decoder(cipher_state receive) : cipher_(receive) {}

    void feed(std::string_view bytes);
    // The next frame's payload, or nullopt when more bytes are needed or the stream is
    // broken (error() says why; the connection must be closed).
    std::optional<std::string> next();
    error failure() const { return error_; }
    // Bytes held: of records still coming, and of an opened record's frames not taken yet.
    std::size_t buffered() const { return buffer_.size() - consumed_; }
    // What the buffer holds on to: its capacity, which growth by doubling can make twice
    // what it buffers. A memory budget counts this.
    std::size_t memory() const { return buffer_.capacity(); }

  private:
    bool open_next_record();

    cipher_state cipher_;
    std::string buffer_;
    std::size_t consumed_ = 0;    // buffer_[consumed_..] is not taken yet
    std::size_t record_end_ = 0;  // while > consumed_: frames of an opened record end here
    error error_ = error::none;
};

// ---------------------------------------------------------------- implementation

namespace detail {
bool seal_one(cipher_state& cipher, std::string& out, std::size_t record_start);
}

template <class FrameRange>
bool seal_records(cipher_state& cipher, FrameRange const& frames, std::string& out) {
    std::size_t total = 0;
    for (auto const& frame : frames) total += std::string_view(*frame).size();
    out.reserve(out.size() + total + (total / max_record_plaintext + 1) * 20);
    std::size_t record_start = std::string::npos;
    std::size_t plaintext = 0;
    for (auto const& frame : frames) {
        std::string_view const bytes = *frame;
        if (record_start != std::string::npos && plaintext + bytes.size() > max_record_plaintext) {
            if (!detail::seal_one(cipher, out, record_start)) return false;
            record_start = std::string::npos;
        }
        if (record_start == std::string::npos) {
            record_start = out.size();
            out.append(wire::frame_header_size, '\0');
            plaintext = 0;
        }
        out.append(bytes);
        plaintext += bytes.size();
    }
    return record_start == std::string::npos || detail::seal_one(cipher, out, record_start);
}

}  // namespace p2pchat::crypto
