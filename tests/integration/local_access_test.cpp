// Who may use a node's control socket, and where the socket may live (docs/SECURITY.md,
// "Local users"): the daemon checks SO_PEERCRED on every connection, and neither program
// talks through a socket in a directory another user controls. Another user is played by
// uid 65534 (nobody) through setpriv(1), which needs root: the tests skip otherwise.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "tests/support/daemon.hpp"
#include "tests/support/sockets.hpp"

namespace p2pchat::test {
namespace {

namespace fs = std::filesystem;

constexpr char const* nobody = "65534";

std::vector<std::string> as_nobody(std::vector<std::string> argv) {
    std::vector<std::string> out{"/usr/bin/setpriv", std::string("--reuid=") + nobody,
                                 std::string("--regid=") + nobody, "--clear-groups"};
    out.insert(out.end(), argv.begin(), argv.end());
    return out;
}

TEST(LocalAccess, AnotherUserIsRefusedEvenWhenTheSocketFileLetsHimIn) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    node a(on("127.0.0.1"));
    // The file permissions are the first fence; open them wide, as a misconfigured
    // SocketMode= would, and the daemon's own check must still refuse.
    fs::permissions(fs::path(a.socket_path()).parent_path(), fs::perms(0755));
    fs::permissions(a.socket_path(), fs::perms(0666));
    auto const r = run_process(
        as_nobody({P2PCHATCTL_PATH, "--socket", a.socket_path(), "send", "from a stranger"}));
    EXPECT_EQ(r.status, 77) << r.out << r.err;
    EXPECT_NE(r.err.find("permission denied: uid 65534"), std::string::npos) << r.err;
    EXPECT_NE(a.log().find("refused a control client"), std::string::npos) << a.log();
    EXPECT_EQ(num(a.status(), "messages_sent"), 0);
    // Root (the test) is still served.
    EXPECT_EQ(a.ctl({"status"}).status, 0);
}

TEST(LocalAccess, TheSocketsGroupIsLetIn) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    node a(on("127.0.0.1"));
    fs::permissions(fs::path(a.socket_path()).parent_path(), fs::perms(0755));
    // The socket is 0660: give it to nobody's group, as SocketGroup=p2pchat does.
    ASSERT_EQ(::chown(a.socket_path().c_str(), static_cast<uid_t>(-1), 65534), 0);
    auto const r =
        run_process({"/usr/bin/setpriv", "--reuid=65533", "--regid=65533", "--groups=65534",
                     P2PCHATCTL_PATH, "--socket", a.socket_path(), "status"});
    EXPECT_EQ(r.status, 0) << r.out << r.err << a.log();
}

// The fallback socket directory of uid 65534, when it has no XDG_RUNTIME_DIR.
struct fallback_dir {
    fs::path path = fs::path("/tmp") / (std::string("p2pchat-") + nobody);
    fallback_dir() { fs::remove_all(path); }
    ~fallback_dir() { fs::remove_all(path); }
};

std::vector<std::string> nobody_ctl(std::vector<std::string> args) {
    std::vector<std::string> argv{
        "/usr/bin/env",      "-u",           "XDG_RUNTIME_DIR", "-u", "P2PCHAT_SOCKET",
        "HOME=/nonexistent", P2PCHATCTL_PATH};
    argv.insert(argv.end(), args.begin(), args.end());
    return as_nobody(argv);
}

// The daemon applies the same rule to where it listens.
void daemon_refuses_a_fallback_directory_another_user_owns() {
    fallback_dir dir;
    fs::create_directory(dir.path);  // root's, not nobody's
    temp_dir state;
    ASSERT_EQ(::chown(state.path().c_str(), 65534, 65534), 0);
    auto const r = run_process(as_nobody(
        {"/usr/bin/env", "-u", "XDG_RUNTIME_DIR", "-u", "P2PCHAT_SOCKET", P2PCHATD_PATH, "--listen",
         "127.0.0.1:0", "--state-dir", (state.path() / "s").string(), "--config", "/dev/null"}));
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_NE(r.err.find("belongs to uid 0"), std::string::npos) << r.err;
}

TEST(LocalAccess, TheFallbackSocketDirectoryMustBeOursAndClosed) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    fallback_dir dir;
    // Someone else created it first (root here): never talk through it.
    fs::create_directory(dir.path);
    fs::permissions(dir.path, fs::perms(0777));
    auto r = run_process(nobody_ctl({"status"}));
    EXPECT_EQ(r.status, 77) << r.err;
    EXPECT_NE(r.err.find("belongs to uid 0"), std::string::npos) << r.err;
    // Ours, but open to others: no either.
    ASSERT_EQ(::chown(dir.path.c_str(), 65534, 65534), 0);
    r = run_process(nobody_ctl({"status"}));
    EXPECT_EQ(r.status, 77) << r.err;
    EXPECT_NE(r.err.find("chmod 700"), std::string::npos) << r.err;
    // Ours and closed: the ordinary "no daemon" answer.
    fs::permissions(dir.path, fs::perms(0700));
    r = run_process(nobody_ctl({"status"}));
    EXPECT_EQ(r.status, 3) << r.err;
    // One test for both: they share uid 65534's one fallback directory, and ctest runs
    // tests in parallel.
    daemon_refuses_a_fallback_directory_another_user_owns();
}

}  // namespace
}  // namespace p2pchat::test
