#include "daemon/identity.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace p2pchat::daemon {

namespace {

std::string to_hex(unsigned char const* data, std::size_t n) {
    std::string hex(n * 2 + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), data, n);
    hex.pop_back();
    return hex;
}

[[noreturn]] void fail(std::string const& what, std::filesystem::path const& path) {
    throw std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

node_identity load_or_create_identity(std::filesystem::path const& state_dir) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec)
        throw std::runtime_error("cannot create state directory " + state_dir.string() + ": " +
                                 ec.message());
    auto const path = state_dir / "identity";
    node_identity identity;
    unsigned char public_key[crypto_sign_PUBLICKEYBYTES];

    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t const n = ::read(fd, identity.secret_key.data(), identity.secret_key.size());
        ::close(fd);
        if (n != static_cast<ssize_t>(identity.secret_key.size()))
            throw std::runtime_error(
                "identity file " + path.string() +
                " is damaged (expected 64 bytes); move it away to create a new identity");
        crypto_sign_ed25519_sk_to_pk(public_key, identity.secret_key.data());
    } else {
        if (errno != ENOENT) fail("cannot read", path);
        crypto_sign_keypair(public_key, identity.secret_key.data());
        // Write to a temporary file and rename, so a crash never leaves a half-written key.
        auto const tmp = state_dir / "identity.tmp";
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) fail("cannot create", tmp);
        bool const ok = ::write(fd, identity.secret_key.data(), identity.secret_key.size()) ==
                            static_cast<ssize_t>(identity.secret_key.size()) &&
                        ::fsync(fd) == 0;
        ::close(fd);
        if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot write", path);
    }
    identity.id = to_hex(public_key, sizeof public_key);
    return identity;
}

}  // namespace p2pchat::daemon
