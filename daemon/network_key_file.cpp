#include "daemon/network_key_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "common/invite.hpp"

namespace p2pchat::daemon {

namespace {

crypto::network_key read_key_file(std::filesystem::path const& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0)
        throw std::runtime_error("cannot read network key " + file.string() + ": " +
                                 std::strerror(errno));
    // As OpenSSH does with private keys: a key others can read is not a secret any more.
    if ((st.st_mode & 077) != 0)
        throw std::runtime_error("network key " + file.string() +
                                 " is readable by others; chmod 600 it (and consider it leaked)");
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) throw std::runtime_error("cannot read network key " + file.string());
    auto key = parse_network_key(text.str());
    if (!key)
        throw std::runtime_error("network key " + file.string() +
                                 " does not hold a key (one line of 43 base64url characters)");
    return {*key, false};
}

}  // namespace

network_key_source load_network_key(options const& opts) {
    if (!opts.network_key_file.empty())
        return {read_key_file(opts.network_key_file), opts.network_key_file, true, false};
    if (char const* credentials = std::getenv("CREDENTIALS_DIRECTORY")) {
        auto const file = std::filesystem::path(credentials) / "network.key";
        if (std::filesystem::exists(file)) return {read_key_file(file), file, true, false};
    }
    auto const file = std::filesystem::path(opts.state_dir) / "network.key";
    if (std::filesystem::exists(file)) return {read_key_file(file), file, false, false};
    if (!opts.closed_network) return {crypto::open_network_key(), file, false, false};
    auto const key = crypto::generate_network_key();
    if (auto const error = store_network_key(file, key.secret); !error.empty())
        throw std::runtime_error(error);
    return {key, file, false, true};
}

std::string store_network_key(std::filesystem::path const& file, crypto::key const& key) {
    auto const tmp = std::filesystem::path(file).concat(".tmp");
    int const fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot write network key " + tmp.string() + ": " + std::strerror(errno);
    std::string const line = format_network_key(key) + "\n";
    bool const ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                    ::fsync(fd) == 0;
    int const saved = errno;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0)
        return "cannot write network key " + file.string() + ": " +
               std::strerror(ok ? errno : saved);
    return {};
}

}  // namespace p2pchat::daemon
