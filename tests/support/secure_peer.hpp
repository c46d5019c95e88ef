#pragma once
// A hand-driven peer for tests that speak the peer protocol themselves: a blocking TCP
// connection that runs the real handshake (common/crypto) as the initiator, with a fresh
// identity or a given one, and then sends whatever bytes a test wants sealed in records:
// whole frames, or broken ones, as a hostile member would.
#include <optional>
#include <string>
#include <string_view>

#include "common/crypto/secure_channel.hpp"
#include "tests/support/process.hpp"

namespace p2pchat::test {

crypto::identity_keys new_identity();
std::string node_id_of(crypto::identity_keys const& identity);

class secure_peer {
  public:
    // Connects and runs the handshake. ok() tells whether it succeeded; failure() says why.
    secure_peer(std::string const& host, std::uint16_t port,
                crypto::network_key network = crypto::open_network_key(),
                crypto::identity_keys identity = new_identity());
    ~secure_peer();
    secure_peer(secure_peer const&) = delete;
    secure_peer& operator=(secure_peer const&) = delete;

    bool ok() const { return keys_.has_value(); }
    std::string const& failure() const { return failure_; }
    int fd() const { return fd_; }
    // Our node id, as the handshake proved it to the other side.
    std::string const& id() const { return id_; }
    // The other side's node id.
    std::string const& peer_id() const { return peer_id_; }
    crypto::identity_keys const& identity() const { return identity_; }

    // Seals `bytes` (frames, or anything) into one record and writes it.
    bool send_record(std::string_view bytes, milliseconds timeout = 5s);
    // Writes raw bytes, outside any record.
    bool send_raw(std::string_view bytes, milliseconds timeout = 5s);
    // The next frame's payload the other side sends, within the timeout.
    std::optional<std::string> receive(milliseconds timeout);
    void close();

  private:
    int fd_ = -1;
    crypto::identity_keys identity_;
    std::string id_;
    std::string peer_id_;
    std::string failure_;
    std::optional<crypto::transport_keys> keys_;
    std::optional<crypto::record_decoder> decoder_;
};

}  // namespace p2pchat::test
