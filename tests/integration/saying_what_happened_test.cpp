// Saying what happened (issue #11, item 4): a message nobody receives is reported and send
// exits 75; joining something that is not a p2pchat node says so within about a second,
// quoting what it sent; the daemon logs every failed join with its reason. The services
// that are not p2pchat are plain TCP listeners in this test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

std::size_t lines(std::string const& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// A TCP listener on 127.0.0.1 with a kernel-chosen port; closed on destruction.
class listener {
  public:
    listener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
            ::listen(fd_, 8) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw_errno("listener");
        port_ = ntohs(a.sin_port);
    }
    ~listener() {
        if (conn_ >= 0) ::close(conn_);
        ::close(fd_);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
    // Accepts one connection (waiting up to 10 s) and writes `banner` on it.
    bool accept_and_say(std::string const& banner) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 10'000) != 1) return false;
        conn_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        return conn_ >= 0 &&
               ::write(conn_, banner.data(), banner.size()) == static_cast<ssize_t>(banner.size());
    }

  private:
    int fd_ = -1, conn_ = -1;
    std::uint16_t port_ = 0;
};

TEST(SayingWhatHappened, SendWithNoPeersSaysSoAndExits75) {
    node a(on("127.0.0.1").named("alice"));
    auto const r = a.ctl({"send", "anyone?"});
    EXPECT_EQ(r.status, 75) << r.err;
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("nobody received it"), std::string::npos) << r.err;

    // From a pipe: said once, counted at the end, exit 75.
    auto const piped = a.ctl({"send"}, "one\ntwo\nthree\n");
    EXPECT_EQ(piped.status, 75) << piped.err;
    EXPECT_EQ(lines(piped.err), 2u) << piped.err;
    EXPECT_NE(piped.err.find("line 1: nobody received it"), std::string::npos) << piped.err;
    EXPECT_NE(piped.err.find("3 messages reached nobody"), std::string::npos) << piped.err;

    // With a peer it is quiet again; after leave it is not.
    node b(on("127.0.0.2").named("bob"));
    ASSERT_EQ(b.ctl({"join", a.listen()}).status, 0);
    auto const heard = b.ctl({"send", "hello"});
    EXPECT_EQ(heard.status, 0) << heard.err;
    EXPECT_EQ(heard.err, "");
    ASSERT_EQ(b.ctl({"leave"}).status, 0);
    EXPECT_EQ(b.ctl({"send", "still there?"}).status, 75);
}

TEST(SayingWhatHappened, JoiningAServiceThatTalksFirstQuotesIt) {
    node a(on("127.0.0.1").named("alice"));
    listener ssh;
    child_process join(ctl_argv(a.socket_path(), {"join", ssh.address()}), stdio_spec{-1, -2, -2});
    ASSERT_TRUE(ssh.accept_and_say("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"));
    auto const start = steady::now();
    auto const r = join.communicate({}, 10s);
    EXPECT_LT(steady::now() - start, 2s);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(ssh.address() + " is not a p2pchat node: it sent \"SSH-2.0-OpenSSH_9.2p1"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(wait_until(
        [&] {
            return a.log().find("join through " + ssh.address() + " failed: ") != std::string::npos;
        },
        5s))
        << a.log();
}

TEST(SayingWhatHappened, JoiningASilentServiceSaysSoWithinASecond) {
    node a(on("127.0.0.1").named("alice"));
    listener silent;  // the kernel accepts; nobody ever answers (an HTTP server waiting too)
    auto const start = steady::now();
    auto const r = a.ctl({"join", silent.address()});
    auto const took = steady::now() - start;
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("is not a p2pchat node: it accepted the connection but sent nothing"),
              std::string::npos)
        << r.err;
    EXPECT_LT(took, 3s) << "not the 10 s join timeout";
    EXPECT_NE(a.log().find("join through " + silent.address() + " failed"), std::string::npos)
        << a.log();
}

TEST(SayingWhatHappened, FailedStartupJoinsAreLoggedWithTheReason) {
    listener silent;
    node a(on("127.0.0.1").named("alice").joining(silent.address()));
    EXPECT_TRUE(wait_until(
        [&] {
            return a.log().find("join through " + silent.address() + " failed: " +
                                silent.address() + " is not a p2pchat node") != std::string::npos;
        },
        10s))
        << a.log();
}

}  // namespace
}  // namespace p2pchat::test
