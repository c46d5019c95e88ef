// The physical limit for B3 (docs/BENCHMARKS.md): one process writes the same chat frames a
// node would send (4-byte length + the JSON a chat frame holds) to N loopback TCP sockets,
// and a reader thread drains the other ends. No JSON work, no event loop, no per-message
// bookkeeping: what loopback TCP and the kernel allow on this machine.
//
// Usage: p2pchat_raw_fanout MESSAGES SOCKETS. Prints one JSON object with the figures.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

[[noreturn]] void die(char const* what) {
    std::perror(what);
    std::exit(1);
}

std::string chat_frame(std::size_t seq) {
    std::string const origin(64, 'a');
    std::string payload = R"({"v":1,"type":"chat","origin":")" + origin + R"(","seq":)" +
                          std::to_string(seq) + R"(,"lamport":)" + std::to_string(seq) +
                          R"(,"time":1764111111123,"name":"n0","text":")" + std::to_string(seq) +
                          R"("})";
    std::string frame(4, '\0');
    auto const n = static_cast<std::uint32_t>(payload.size());
    frame[0] = static_cast<char>(n >> 24);
    frame[1] = static_cast<char>(n >> 16);
    frame[2] = static_cast<char>(n >> 8);
    frame[3] = static_cast<char>(n);
    return frame + payload;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: p2pchat_raw_fanout MESSAGES SOCKETS\n");
        return 64;
    }
    std::size_t const messages = std::strtoul(argv[1], nullptr, 10);
    std::size_t const fanout = std::strtoul(argv[2], nullptr, 10);

    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener, 64) != 0 ||
        ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        die("listen");
    std::vector<int> out, in;
    for (std::size_t i = 0; i < fanout; ++i) {
        int s = ::socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || ::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            die("connect");
        int one = 1;
        ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // as the daemon does
        out.push_back(s);
        int a = ::accept(listener, nullptr, nullptr);
        if (a < 0) die("accept");
        in.push_back(a);
    }

    // The frames are built before the clock starts: the daemon serializes once per message
    // too, and that cost is the daemon's, not the wire's.
    std::vector<std::string> frames;
    frames.reserve(messages);
    std::size_t total_bytes = 0;
    for (std::size_t i = 1; i <= messages; ++i) {
        frames.push_back(chat_frame(i));
        total_bytes += frames.back().size();
    }

    auto const start = std::chrono::steady_clock::now();
    std::atomic<bool> failed{false};
    std::thread reader([&] {
        std::vector<pollfd> fds;
        for (int s : in) fds.push_back({s, POLLIN, 0});
        std::vector<std::size_t> got(in.size(), 0);
        std::size_t done = 0;
        std::vector<char> buf(256 * 1024);
        while (done < in.size()) {
            if (::poll(fds.data(), fds.size(), -1) < 0) continue;
            for (std::size_t i = 0; i < fds.size(); ++i) {
                if (!(fds[i].revents & POLLIN)) continue;
                ssize_t n = ::read(in[i], buf.data(), buf.size());
                if (n <= 0) {
                    failed = true;
                    return;
                }
                got[i] += static_cast<std::size_t>(n);
                if (got[i] == total_bytes) {
                    fds[i].fd = -1;
                    ++done;
                }
            }
        }
    });

    // Gather up to 64 frames per write, as the daemon's link writer does; every socket gets
    // the same buffers (shared, serialized once).
    constexpr std::size_t per_write = 64;
    std::vector<std::size_t> next(fanout, 0);     // next frame index per socket
    std::vector<std::size_t> partial(fanout, 0);  // bytes of frames[next] already written
    std::size_t finished = 0;
    for (int s : out) ::fcntl(s, F_SETFL, O_NONBLOCK);
    std::vector<pollfd> fds;
    for (int s : out) fds.push_back({s, POLLOUT, 0});
    while (finished < fanout) {
        if (::poll(fds.data(), fds.size(), -1) < 0) continue;
        for (std::size_t i = 0; i < fanout; ++i) {
            if (!(fds[i].revents & POLLOUT)) continue;
            iovec iov[per_write];
            std::size_t k = 0;
            for (; k < per_write && next[i] + k < messages; ++k) {
                auto const& f = frames[next[i] + k];
                std::size_t skip = k == 0 ? partial[i] : 0;
                iov[k] = {const_cast<char*>(f.data()) + skip, f.size() - skip};
            }
            ssize_t n = ::writev(out[i], iov, static_cast<int>(k));
            if (n < 0) continue;
            auto left = static_cast<std::size_t>(n);
            while (left > 0) {
                std::size_t rest = frames[next[i]].size() - partial[i];
                if (left >= rest) {
                    left -= rest;
                    partial[i] = 0;
                    ++next[i];
                } else {
                    partial[i] += left;
                    left = 0;
                }
            }
            if (next[i] == messages) {
                fds[i].fd = -1;
                ++finished;
            }
        }
    }
    reader.join();
    double const seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (failed) die("read");
    std::printf(
        "{\"messages\":%zu,\"sockets\":%zu,\"seconds\":%.6f,\"delivered_per_s\":%.1f,"
        "\"frame_bytes\":%zu}\n",
        messages, fanout, seconds, static_cast<double>(messages * fanout) / seconds,
        total_bytes / (messages ? messages : 1));
    return 0;
}
