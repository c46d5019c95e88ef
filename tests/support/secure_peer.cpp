#include "tests/support/secure_peer.hpp"

#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/wire/frame_decoder.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {

namespace {

std::string hex(unsigned char const* data, std::size_t n) {
    std::string out(n * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), data, n);
    out.pop_back();
    return out;
}

// Reads exactly n bytes within the deadline.
bool read_exact(int fd, std::string& out, std::size_t n, steady::time_point deadline) {
    while (out.size() < n) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
        char buffer[4096];
        ssize_t const got = ::recv(fd, buffer, std::min(sizeof buffer, n - out.size()), 0);
        if (got <= 0) {
            if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            return false;
        }
        out.append(buffer, static_cast<std::size_t>(got));
    }
    return true;
}

std::optional<std::string> read_handshake_message(int fd, steady::time_point deadline) {
    std::string header;
    if (!read_exact(fd, header, 4, deadline)) return std::nullopt;
    auto const* h = reinterpret_cast<unsigned char const*>(header.data());
    std::size_t const length = (std::size_t{h[0]} << 24) | (std::size_t{h[1]} << 16) |
                               (std::size_t{h[2]} << 8) | std::size_t{h[3]};
    if (length == 0 || length > 1024) return std::nullopt;
    std::string body;
    if (!read_exact(fd, body, length, deadline)) return std::nullopt;
    return body;
}

}  // namespace

crypto::identity_keys new_identity() {
    if (sodium_init() < 0) std::abort();
    crypto::identity_keys k;
    crypto_sign_keypair(k.public_key.data(), k.secret_key.data());
    return k;
}

std::string node_id_of(crypto::identity_keys const& identity) {
    return hex(identity.public_key.data(), identity.public_key.size());
}

secure_peer::secure_peer(std::string const& host, std::uint16_t port, crypto::network_key network,
                         crypto::identity_keys identity)
    : fd_(tcp_connect(host, port)), identity_(identity), id_(node_id_of(identity_)) {
    if (fd_ < 0) {
        failure_ = "cannot connect";
        return;
    }
    auto const deadline = steady::now() + 10s;
    crypto::channel_handshake handshake(crypto::handshake::role::initiator, identity_, network);
    if (!write_all(fd_, wire::encode_frame(handshake.start()), 5s)) {
        failure_ = "cannot write message 0";
        return;
    }
    auto message = read_handshake_message(fd_, deadline);
    if (!message) {
        failure_ = "no message 1 (the responder closed or said nothing)";
        return;
    }
    crypto::handshake_failure why{};
    auto answer = handshake.receive(*message, why);
    if (!answer) {
        failure_ = std::string(crypto::to_string(why));
        return;
    }
    if (!write_all(fd_, wire::encode_frame(*answer), 5s)) {
        failure_ = "cannot write message 2";
        return;
    }
    peer_id_ = hex(handshake.peer_identity().data(), handshake.peer_identity().size());
    keys_ = handshake.keys();
    decoder_.emplace(keys_->receive);
}

secure_peer::~secure_peer() { close(); }

void secure_peer::close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bool secure_peer::send_record(std::string_view bytes, milliseconds timeout) {
    if (!keys_) return false;
    std::string record;
    if (!crypto::seal_record(keys_->send, bytes, record)) return false;
    return write_all(fd_, record, timeout);
}

bool secure_peer::send_raw(std::string_view bytes, milliseconds timeout) {
    return write_all(fd_, bytes, timeout);
}

std::optional<std::string> secure_peer::receive(milliseconds timeout) {
    if (!decoder_) return std::nullopt;
    auto const deadline = steady::now() + timeout;
    for (;;) {
        if (auto frame = decoder_->next()) return frame;
        if (decoder_->failure() != crypto::record_decoder::error::none) return std::nullopt;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return std::nullopt;
        char buffer[65536];
        ssize_t const got = ::recv(fd_, buffer, sizeof buffer, 0);
        if (got <= 0) return std::nullopt;
        decoder_->feed({buffer, static_cast<std::size_t>(got)});
    }
}

}  // namespace p2pchat::test
