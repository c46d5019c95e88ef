// Bad input, each case on its own: hostile or broken bytes on the peer port and on the control
// socket, bad command lines and stdin to p2pchatctl, unreachable or full peers, a second daemon
// on a taken socket or port, and no daemon at all. After each, the daemon still serves.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>

#include "tests/support/daemon.hpp"
#include "tests/support/secure_peer.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

namespace json = boost::json;

// Closes a raw socket at the end of the scope.
struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

std::size_t line_count(std::string const& s) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

// The daemon still answers p2pchatctl and still delivers a message to itself.
void expect_still_serving(node const& n) {
    auto const st = n.ctl({"status"});
    EXPECT_EQ(st.status, 0) << st.err << n.log();
    // Accepted: 0 with peers, 75 (nobody received it) for a node alone.
    auto const sent = n.ctl({"send", "still here"});
    EXPECT_TRUE(sent.status == 0 || sent.status == 75) << sent.err << n.log();
}

// Sends bytes on the peer port, as a member would after its handshake (sealed in a record);
// the daemon must close the connection and count the frame.
void expect_malformed_frame_rejected(std::string const& bytes) {
    node a(on("127.0.0.1"));
    auto const before = num(a.status(), "malformed_frames");
    ASSERT_GE(before, 0) << "status --json lacks malformed_frames";
    secure_peer peer(a.host(), a.port());
    ASSERT_TRUE(peer.ok()) << peer.failure() << a.log();
    ASSERT_TRUE(peer.send_record(bytes));
    EXPECT_TRUE(wait_closed(peer.fd(), 10s)) << "connection not closed\n" << a.log();
    EXPECT_TRUE(wait_until([&] { return num(a.status(), "malformed_frames") == before + 1; }, 10s))
        << "malformed_frames " << num(a.status(), "malformed_frames") << "\n"
        << a.log();
    expect_still_serving(a);
}

// Sends bytes on the peer port before any handshake; the daemon must close the connection
// and count it as refused.
void expect_connection_refused(std::string const& bytes) {
    node a(on("127.0.0.1"));
    auto const before = num(a.status(), "rejected_connections");
    fd_guard conn{tcp_connect(a.host(), a.port())};
    ASSERT_GE(conn.fd, 0);
    ASSERT_TRUE(write_all(conn.fd, bytes, 5s));
    EXPECT_TRUE(wait_closed(conn.fd, 10s)) << "connection not closed\n" << a.log();
    EXPECT_TRUE(
        wait_until([&] { return num(a.status(), "rejected_connections") == before + 1; }, 10s))
        << a.log();
    EXPECT_EQ(num(a.status(), "malformed_frames"), 0);
    expect_still_serving(a);
}

TEST(BadPeerInput, APlainFrameInsteadOfAHandshakeIsRefused) {
    // The seed's plain JSON frame, or anything else that is not a handshake.
    expect_connection_refused(frame(R"({"v":1,"type":"hello"})"));
}

TEST(BadPeerInput, GarbageInsteadOfAHandshakeIsRefused) {
    expect_connection_refused("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
}

TEST(BadPeerInput, AnOversizedHandshakeMessageIsRefused) {
    expect_connection_refused(frame_header(0x7fffffff));
}

TEST(BadPeerInput, AHandshakeClaimingSomeoneElsesIdIsRefused) {
    node a(on("127.0.0.1"));
    auto liar = new_identity();
    liar.public_key = new_identity().public_key;
    secure_peer peer(a.host(), a.port(), crypto::open_network_key(), liar);
    // The initiator finishes its side; the responder refuses message 2 and closes.
    EXPECT_TRUE(wait_closed(peer.fd(), 10s)) << a.log();
    EXPECT_TRUE(wait_until([&] { return num(a.status(), "rejected_connections") == 1; }, 10s))
        << a.log();
    EXPECT_NE(a.log().find("identity does not match"), std::string::npos) << a.log();
    expect_still_serving(a);
}

TEST(BadPeerInput, ATamperedRecordClosesAndCounts) {
    node a(on("127.0.0.1"));
    secure_peer peer(a.host(), a.port());
    ASSERT_TRUE(peer.ok()) << peer.failure();
    // A record sealed for another connection is as good as a tampered one here: its tag
    // does not verify under this connection's key.
    secure_peer other(a.host(), a.port());
    ASSERT_TRUE(other.ok());
    std::string const hello = frame(R"({"v":1,"type":"ping"})");
    crypto::cipher_state wrong;
    wrong.init(crypto::key{});
    std::string forged;
    ASSERT_TRUE(crypto::seal_record(wrong, hello, forged));
    ASSERT_TRUE(peer.send_raw(forged));
    EXPECT_TRUE(wait_closed(peer.fd(), 10s)) << a.log();
    EXPECT_TRUE(wait_until([&] { return num(a.status(), "malformed_frames") == 1; }, 10s))
        << a.log();
    EXPECT_NE(a.log().find("not authentic"), std::string::npos) << a.log();
    expect_still_serving(a);
}

TEST(BadPeerInput, GarbageJsonFrameClosesAndCounts) {
    expect_malformed_frame_rejected(frame("this is {not json"));
}

TEST(BadPeerInput, OversizedLengthHeaderClosesAndCounts) {
    expect_malformed_frame_rejected(frame_header(0x7fffffff) + "{\"v\":1,");
}

TEST(BadPeerInput, ZeroLengthFrameClosesAndCounts) {
    expect_malformed_frame_rejected(frame_header(0));
}

TEST(BadPeerInput, InvalidUtf8FrameClosesAndCounts) {
    // Well-formed JSON apart from one byte that is not UTF-8: the wire is UTF-8 or nothing.
    expect_malformed_frame_rejected(
        frame("{\"v\":1,\"type\":\"chat\",\"origin\":\"" + std::string(64, 'a') +
              "\",\"seq\":1,\"lamport\":1,\"time\":0,\"name\":\"x\",\"text\":\"\xff\"}"));
}

TEST(BadPeerInput, KnownTypeWithMissingFieldsClosesAndCounts) {
    expect_malformed_frame_rejected(frame(R"({"v":1,"type":"chat","text":"no origin"})"));
}

TEST(BadPeerInput, ARecordSentSlowerThanThirtySecondsIsCutOff) {
    // Slowloris: a member that starts a record and never finishes it holds a buffer until
    // the partial-record deadline (30 s) closes the connection.
    node a(on("127.0.0.1"));
    secure_peer peer(a.host(), a.port());
    ASSERT_TRUE(peer.ok()) << peer.failure();
    ASSERT_TRUE(peer.send_raw(frame_header(1000) + std::string(10, 'x')));
    auto const started = steady::now();
    EXPECT_TRUE(wait_closed(peer.fd(), 40s)) << a.log();
    EXPECT_GE(steady::now() - started, 25s) << "closed before the deadline";
    EXPECT_NE(a.log().find("took over 30 s"), std::string::npos) << a.log();
    expect_still_serving(a);
}

// ---------------------------------------------------------------- control socket

std::optional<json::object> rpc(int fd, std::string& buffer, std::string const& line) {
    if (!write_all(fd, line + "\n", 5s)) return std::nullopt;
    auto reply = read_line(fd, buffer, 10s);
    return reply ? parse_object(*reply) : std::nullopt;
}

std::int64_t error_code(json::object const& reply) {
    auto const* e = reply.if_contains("error");
    return e && e->is_object() ? num(e->as_object(), "code") : 0;
}

// The connection answers a valid request after a bad one.
void expect_usable(int fd, std::string& buffer) {
    auto r = rpc(fd, buffer, R"({"jsonrpc":"2.0","id":99,"method":"status"})");
    ASSERT_TRUE(r) << "no reply to status after a bad line";
    EXPECT_EQ(num(*r, "id"), 99);
    EXPECT_TRUE(r->contains("result")) << json::serialize(*r);
}

TEST(BadControlInput, GarbageIsParseErrorAndConnectionStays) {
    node a(on("127.0.0.1"));
    fd_guard c{unix_connect(a.socket_path())};
    ASSERT_GE(c.fd, 0);
    std::string buf;
    auto r = rpc(c.fd, buf, "this is garbage {");
    ASSERT_TRUE(r);
    EXPECT_EQ(error_code(*r), -32700) << json::serialize(*r);
    EXPECT_TRUE(r->at("id").is_null());
    expect_usable(c.fd, buf);
}

TEST(BadControlInput, InvalidUtf8IsParseErrorAndConnectionStays) {
    node a(on("127.0.0.1"));
    fd_guard c{unix_connect(a.socket_path())};
    ASSERT_GE(c.fd, 0);
    std::string buf;
    auto r = rpc(c.fd, buf, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"st\xff\xfe\"}");
    ASSERT_TRUE(r);
    EXPECT_EQ(error_code(*r), -32700) << json::serialize(*r);
    expect_usable(c.fd, buf);
}

TEST(BadControlInput, UnknownMethodAndConnectionStays) {
    node a(on("127.0.0.1"));
    fd_guard c{unix_connect(a.socket_path())};
    ASSERT_GE(c.fd, 0);
    std::string buf;
    auto r = rpc(c.fd, buf, R"({"jsonrpc":"2.0","id":7,"method":"frobnicate"})");
    ASSERT_TRUE(r);
    EXPECT_EQ(error_code(*r), -32601) << json::serialize(*r);
    EXPECT_EQ(num(*r, "id"), 7);
    expect_usable(c.fd, buf);
}

TEST(BadControlInput, TooLongLineIsInvalidRequestAndCloses) {
    node a(on("127.0.0.1"));
    fd_guard c{unix_connect(a.socket_path())};
    ASSERT_GE(c.fd, 0);
    // The daemon may close as soon as the limit is passed, so the tail of the write may fail.
    std::string const line(1024 * 1024 + 64, 'x');
    (void)write_all(c.fd, line + "\n", 10s);
    std::string received;
    EXPECT_TRUE(wait_closed(c.fd, 10s, &received)) << "connection not closed";
    ASSERT_EQ(line_count(received), 1u) << received;
    auto r = parse_object(received.substr(0, received.find('\n')));
    ASSERT_TRUE(r) << received;
    EXPECT_EQ(error_code(*r), -32600) << received;
    // Other clients are unaffected.
    expect_still_serving(a);
}

// ---------------------------------------------------------------- p2pchatctl input

TEST(BadCliInput, SendEmptyTextFailsWithOneLine) {
    node a(on("127.0.0.1"));
    auto const r = a.ctl({"send", ""});
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("p2pchatctl: ", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(num(a.status(), "messages_sent"), 0);
    expect_still_serving(a);
}

TEST(BadCliInput, InvalidUtf8LineOnStdinIsSkippedOthersDelivered) {
    node a(on("127.0.0.1").named("alice"));
    node b(on("127.0.0.2").named("bob"));
    ASSERT_EQ(b.ctl({"join", a.listen()}).status, 0);
    ASSERT_TRUE(wait_until([&] { return a.peer_ids().size() == 2; }, 10s));
    auto tail_b = b.tail({"-n", "0"});
    auto const r = a.ctl({"send"}, "one\nbad \xff\xfe line\ntwo\n");
    EXPECT_EQ(r.status, 65) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find('2'), std::string::npos) << "names the line: " << r.err;
    ASSERT_EQ(a.ctl({"send", "marker"}).status, 0);
    ASSERT_TRUE(tail_b.wait_for([](auto& ev) { return count_messages(ev, "marker") == 1; }, 10s))
        << logs_of({&a, &b});
    std::vector<std::string> texts;
    for (auto const& m : tail_b.messages()) texts.push_back(str(m, "text"));
    EXPECT_EQ(texts, (std::vector<std::string>{"one", "two", "marker"}));
}

TEST(BadCliInput, JoinNobodyListeningFails) {
    node a(on("127.0.0.1"));
    auto const r = a.ctl({"join", "127.0.0.1:1"});
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("127.0.0.1:1"), std::string::npos) << r.err;
    EXPECT_EQ(a.peer_ids().size(), 1u);
    expect_still_serving(a);
}

TEST(BadCliInput, FullTableRefusesJoin) {
    node a(on("127.0.0.1").max(1));
    node b(on("127.0.0.2"));
    node c(on("127.0.0.3"));
    auto const rb = b.ctl({"join", a.listen()});
    ASSERT_EQ(rb.status, 0) << rb.err;
    auto const rc = c.ctl({"join", a.listen()});
    EXPECT_EQ(rc.status, 1) << rc.err;
    EXPECT_EQ(line_count(rc.err), 1u) << rc.err;
    EXPECT_NE(rc.err.find("full"), std::string::npos) << rc.err;
    EXPECT_EQ(c.peer_ids(), std::vector<std::string>{c.id()});
    std::vector<std::string> ab{a.id(), b.id()};
    std::sort(ab.begin(), ab.end());
    EXPECT_EQ(a.peer_ids(), ab);
    expect_still_serving(a);
}

TEST(BadDaemonStart, SecondDaemonOnSameSocketExitsOne) {
    node a(on("127.0.0.1"));
    node second(on("127.0.0.2").socket(a.socket_path()).no_wait());
    auto const status = second.wait_exit(10s);
    ASSERT_TRUE(status) << "second daemon kept running\n" << second.log();
    EXPECT_EQ(*status, 1);
    auto const log = second.log();
    EXPECT_NE(log.find(a.socket_path()), std::string::npos) << "names the socket: " << log;
    EXPECT_LE(line_count(log), 2u) << log;
    expect_still_serving(a);
    EXPECT_EQ(str(a.status(), "id"), a.id()) << "the socket still leads to the first daemon";
}

TEST(BadDaemonStart, SecondDaemonOnSameListenPortExitsOne) {
    node a(on("127.0.0.1"));
    node second(on("127.0.0.1").listening(a.listen()).no_wait());
    auto const status = second.wait_exit(10s);
    ASSERT_TRUE(status) << "second daemon kept running\n" << second.log();
    EXPECT_EQ(*status, 1);
    EXPECT_NE(second.log().find(std::to_string(a.port())), std::string::npos) << second.log();
    expect_still_serving(a);
}

TEST(NoDaemon, StatusExitsThreeOthersSixtyNine) {
    temp_dir dir;
    auto const sock = (dir.path() / "nobody.sock").string();
    auto const st = run_process(ctl_argv(sock, {"status"}));
    EXPECT_EQ(st.status, 3) << st.err;
    for (auto const& args : std::vector<std::vector<std::string>>{{"send", "hi"},
                                                                  {"peers"},
                                                                  {"peers", "--json"},
                                                                  {"tail"},
                                                                  {"rename", "x"},
                                                                  {"join", "127.0.0.1:7447"},
                                                                  {"leave"},
                                                                  {"status", "--json"}}) {
        auto const r = run_process(ctl_argv(sock, args));
        int const expected = args[0] == "status" ? 3 : 69;
        EXPECT_EQ(r.status, expected) << args[0] << ": " << r.err;
        if (args[0] != "status") {
            EXPECT_EQ(line_count(r.err), 1u) << args[0] << ": " << r.err;
        }
    }
}

}  // namespace
}  // namespace p2pchat::test
