#include "common/crypto/secure_channel.hpp"

#include <sodium.h>

#include <cstring>

namespace p2pchat::crypto {

namespace {

unsigned char const* bytes(std::string_view s) {
    return reinterpret_cast<unsigned char const*>(s.data());
}

// mac1's key: a hash of a label and the network key, so the PSK itself never keys a MAC.
key mac1_key_of(network_key const& network) {
    static constexpr std::string_view label = "p2pchat mac1 v1";
    key out;
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, out.size());
    crypto_generichash_update(&state, bytes(label), label.size());
    crypto_generichash_update(&state, network.secret.data(), network.secret.size());
    crypto_generichash_final(&state, out.data(), out.size());
    return out;
}

std::array<unsigned char, mac_bytes> mac1_of(key const& mac_key, std::string_view message) {
    std::array<unsigned char, mac_bytes> mac;
    crypto_generichash(mac.data(), mac.size(), bytes(message), message.size(), mac_key.data(),
                       mac_key.size());
    return mac;
}

keypair static_of(identity_keys const& me) { return x25519_from_ed25519(me.secret_key); }

}  // namespace

network_key open_network_key() {
    // Public by design: it only keeps the framing of open and closed networks the same.
    static constexpr std::string_view label = "p2pchat open network v1";
    network_key k;
    crypto_hash_sha256(k.secret.data(), bytes(label), label.size());
    k.open = true;
    return k;
}

network_key generate_network_key() {
    network_key k;
    randombytes_buf(k.secret.data(), k.secret.size());
    return k;
}

std::string_view to_string(handshake_failure f) {
    switch (f) {
        case handshake_failure::malformed:
            return "malformed handshake";
        case handshake_failure::not_a_member:
            return "not a member of this network (wrong or missing network key)";
        case handshake_failure::bad_handshake:
            return "handshake failed (tampered, or another network's key)";
        case handshake_failure::bad_identity:
            return "the node's identity does not match its handshake key";
    }
    return "handshake failed";
}

channel_handshake::channel_handshake(role r, identity_keys const& me, network_key const& network)
    : role_(r),
      me_(me),
      mac1_key_(mac1_key_of(network)),
      noise_(r, static_of(me), network.secret, prologue) {}

std::string channel_handshake::start() {
    auto message = noise_.write_message({});
    if (!message) return {};
    auto const mac = mac1_of(mac1_key_, *message);
    message->append(reinterpret_cast<char const*>(mac.data()), mac.size());
    return *message;
}

bool channel_handshake::take_identity(std::string const& payload) {
    if (payload.size() != key_bytes) return false;
    std::memcpy(peer_identity_.data(), payload.data(), key_bytes);
    auto const derived = x25519_public_from_ed25519(peer_identity_);
    return derived && sodium_memcmp(derived->data(), noise_.remote_static().data(), key_bytes) == 0;
}

std::optional<std::string> channel_handshake::receive(std::string_view message,
                                                      handshake_failure& failure) {
    std::string_view const own_identity(reinterpret_cast<char const*>(me_.public_key.data()),
                                        me_.public_key.size());
    switch (noise_.step()) {
        case 0: {  // the responder reads message 0
            if (role_ != role::responder || message.size() < mac_bytes) {
                failure = handshake_failure::malformed;
                return std::nullopt;
            }
            std::string_view const body = message.substr(0, message.size() - mac_bytes);
            auto const expected = mac1_of(mac1_key_, body);
            if (sodium_memcmp(expected.data(), message.data() + body.size(), mac_bytes) != 0) {
                failure = handshake_failure::not_a_member;  // before any DH work
                return std::nullopt;
            }
            if (!noise_.read_message(body)) {
                failure = handshake_failure::bad_handshake;
                return std::nullopt;
            }
            auto answer = noise_.write_message(own_identity);
            if (!answer) failure = handshake_failure::bad_handshake;
            return answer;
        }
        case 1: {  // the initiator reads message 1
            auto payload = noise_.read_message(message);
            if (!payload) {
                failure = handshake_failure::bad_handshake;
                return std::nullopt;
            }
            if (!take_identity(*payload)) {
                failure = handshake_failure::bad_identity;
                return std::nullopt;
            }
            auto answer = noise_.write_message(own_identity);
            if (!answer) {
                failure = handshake_failure::bad_handshake;
                return std::nullopt;
            }
            verified_ = true;
            return answer;
        }
        case 2: {  // the responder reads message 2
            auto payload = noise_.read_message(message);
            if (!payload) {
                failure = handshake_failure::bad_handshake;
                return std::nullopt;
            }
            if (!take_identity(*payload)) {
                failure = handshake_failure::bad_identity;
                return std::nullopt;
            }
            verified_ = true;
            return std::string();
        }
        default:
            failure = handshake_failure::malformed;
            return std::nullopt;
    }
}

namespace detail {

bool seal_one(cipher_state& cipher, std::string& out, std::size_t record_start) {
    std::size_t const body = record_start + wire::frame_header_size;
    if (!cipher.encrypt_in_place(out, body)) return false;
    std::size_t const length = out.size() - body;
    for (int i = 0; i < 4; ++i)
        out[record_start + static_cast<std::size_t>(i)] =
            static_cast<char>((length >> (8 * (3 - i))) & 0xff);
    return true;
}

}  // namespace detail

bool seal_record(cipher_state& cipher, std::string_view plaintext, std::string& out) {
    if (plaintext.size() > max_record_plaintext) return false;
    std::size_t const start = out.size();
    out.append(wire::frame_header_size, '\0');
    out.append(plaintext);
    return detail::seal_one(cipher, out, start);
}

namespace {

std::size_t read_length(std::string const& buffer, std::size_t at) {
    auto const* p = reinterpret_cast<unsigned char const*>(buffer.data() + at);
    return (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) | (std::size_t{p[2]} << 8) |
           std::size_t{p[3]};
}

// What a connection keeps of its receive buffer once drained: the big ones (a welcome) go
// back, since a node keeps two connections per peer (bench B5).
constexpr std::size_t retained_bytes = 16 * 1024;

}  // namespace

void record_decoder::feed(std::string_view bytes) {
    // Compact before growing, but never while an opened record's frames are still in place.
    if (record_end_ <= consumed_ && consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
        record_end_ = 0;
    }
    buffer_.append(bytes);
}

bool record_decoder::open_next_record() {
    if (buffer_.size() - consumed_ < wire::frame_header_size) return false;
    std::size_t const length = read_length(buffer_, consumed_);
    if (length <= tag_bytes || length > max_record_bytes) {
        error_ = error::bad_record;
        return false;
    }
    if (buffer_.size() - consumed_ < wire::frame_header_size + length) return false;
    std::size_t const body = consumed_ + wire::frame_header_size;
    if (!cipher_.decrypt_in_place(buffer_, body, length)) {
        error_ = error::not_authentic;
        return false;
    }
    consumed_ = body;
    record_end_ = body + length - tag_bytes;
    return true;
}

std::optional<std::string> record_decoder::next() {
    while (error_ == error::none) {
        if (consumed_ < record_end_) {
            // A frame of the opened record: it must lie wholly inside it.
            if (record_end_ - consumed_ < wire::frame_header_size) break;
            std::size_t const length = read_length(buffer_, consumed_);
            if (length == 0 || length > wire::default_frame_limit ||
                record_end_ - consumed_ - wire::frame_header_size < length)
                break;
            std::string frame = buffer_.substr(consumed_ + wire::frame_header_size, length);
            consumed_ += wire::frame_header_size + length;
            if (consumed_ == record_end_) consumed_ += tag_bytes;  // the record is done
            return frame;
        }
        if (consumed_ == buffer_.size() && buffer_.capacity() > retained_bytes) {
            std::string().swap(buffer_);
            consumed_ = record_end_ = 0;
        }
        if (!open_next_record()) return std::nullopt;
    }
    if (error_ == error::none) error_ = error::bad_frame;
    return std::nullopt;
}

}  // namespace p2pchat::crypto
