#include "tests/support/sockets.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace p2pchat::test {

// ---------------------------------------------------------------- raw sockets

int tcp_connect(std::string const& host, std::uint16_t port, std::string const& source) {
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (!source.empty()) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        if (::inet_pton(AF_INET, source.c_str(), &local.sin_addr) != 1 ||
            ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
            ::close(fd);
            return -1;
        }
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1 ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int unix_connect(std::string const& path) {
    int const fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) {
        ::close(fd);
        return -1;
    }
    std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool write_all(int fd, std::string_view data, milliseconds timeout) {
    auto const deadline = steady::now() + timeout;
    while (!data.empty()) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
        ssize_t const n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool wait_closed(int fd, milliseconds timeout, std::string* received) {
    auto const deadline = steady::now() + timeout;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int const ms = remaining_ms(deadline);
        if (ms == 0 || ::poll(&p, 1, ms) <= 0) return false;
        ssize_t const n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return errno == ECONNRESET || errno == EPIPE;
        }
        if (received) received->append(buf, static_cast<std::size_t>(n));
    }
}

std::optional<std::string> read_line(int fd, std::string& buffer, milliseconds timeout) {
    auto const deadline = steady::now() + timeout;
    char buf[4096];
    for (;;) {
        if (auto nl = buffer.find('\n'); nl != std::string::npos) {
            std::string line = buffer.substr(0, nl);
            buffer.erase(0, nl + 1);
            return line;
        }
        pollfd p{fd, POLLIN, 0};
        int const ms = remaining_ms(deadline);
        if (ms == 0 || ::poll(&p, 1, ms) <= 0) return std::nullopt;
        ssize_t const n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return std::nullopt;
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return std::nullopt;
        }
        buffer.append(buf, static_cast<std::size_t>(n));
    }
}

std::string frame_header(std::uint32_t length) {
    std::string h(4, '\0');
    h[0] = static_cast<char>((length >> 24) & 0xff);
    h[1] = static_cast<char>((length >> 16) & 0xff);
    h[2] = static_cast<char>((length >> 8) & 0xff);
    h[3] = static_cast<char>(length & 0xff);
    return h;
}

std::string frame(std::string_view payload) {
    return frame_header(static_cast<std::uint32_t>(payload.size())) + std::string(payload);
}

}  // namespace p2pchat::test
