// The chat room (p2pchatctl chat) driven through a real terminal: tmux runs it in a pane,
// keys go in with send-keys and the screen comes back with capture-pane. Two real daemons on
// 127.0.0.1 (ports picked by the kernel) form the network.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string shell_quote(std::string const& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a shell command and returns its stdout; exit status in *status.
std::string run(std::string const& cmd, int* status = nullptr) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int rc = ::pclose(p);
    if (status) *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return out;
}

// Polls until pred() holds or the deadline passes; the condition, not a sleep, is the sync.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (pred()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return pred();
}

// One p2pchatd in its own directory; killed (SIGTERM, then waited for) on destruction.
class daemon_process {
  public:
    daemon_process(fs::path const& dir, std::vector<std::string> extra) : dir_(dir) {
        fs::create_directories(dir / "state");
        socket_ = (dir / "ctl.sock").string();
        std::vector<std::string> args = {
            P2PCHATD_PATH, "--listen",    "127.0.0.1:0",           "--socket",
            socket_,       "--state-dir", (dir / "state").string()};
        args.insert(args.end(), extra.begin(), extra.end());
        pid_ = ::fork();
        if (pid_ == 0) {
            int log = ::open((dir / "daemon.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(log, STDERR_FILENO);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    ~daemon_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    std::string ctl(std::string const& args, int* status = nullptr) const {
        return run(
            "P2PCHAT_SOCKET=" + shell_quote(socket_) + " " + P2PCHATCTL_PATH + " " + args + " 2>&1",
            status);
    }
    bool ready() const {
        int status = -1;
        ctl("status", &status);
        return status == 0;
    }
    std::string listen() const {
        auto v = boost::json::parse(ctl("status --json"));
        return std::string(v.at("listen").as_string());
    }
    std::string const& socket() const { return socket_; }

  private:
    fs::path dir_;
    std::string socket_;
    pid_t pid_ = -1;
};

class chat_room_test : public ::testing::Test {
  protected:
    void SetUp() override {
        if (run("command -v tmux").empty()) GTEST_SKIP() << "tmux is not installed";
        char tmpl[] = "/tmp/p2pchat-chat-room-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        tmux_ = "tmux -S " + shell_quote((dir_ / "tmux.sock").string()) + " ";
    }
    void TearDown() override {
        if (!tmux_.empty()) run(tmux_ + "kill-server 2>/dev/null");
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }

    std::string screen() { return run(tmux_ + "capture-pane -p -t room"); }
    bool screen_has(std::string const& text) { return screen().find(text) != std::string::npos; }
    // The last non-empty row of the pane: where the prompt and the typed line live.
    std::string last_row() {
        std::string s = screen();
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
    }
    void keys(std::string const& k) { run(tmux_ + "send-keys -t room " + k); }

    fs::path dir_;
    std::string tmux_;
};

TEST_F(chat_room_test, asks_name_keeps_typed_line_sends_and_quits) {
    // alice's node keeps the default name (the login name), so the room asks for one.
    daemon_process alice(dir_ / "alice", {});
    ASSERT_TRUE(eventually([&] { return alice.ready(); })) << "alice's daemon did not start";
    daemon_process bob(dir_ / "bob", {"--name", "bob", "--join", alice.listen()});
    ASSERT_TRUE(eventually([&] { return bob.ready(); })) << "bob's daemon did not start";
    ASSERT_TRUE(eventually([&] { return alice.ctl("peers").find("bob") != std::string::npos; }));

    std::string cmd =
        "env P2PCHAT_SOCKET=" + alice.socket() + " NO_COLOR=1 " + P2PCHATCTL_PATH + " chat";
    run(tmux_ + "new-session -d -s room -x 100 -y 30 " + shell_quote(cmd));

    ASSERT_TRUE(eventually([&] { return screen_has("Screen name:"); })) << screen();
    keys("alice Enter");
    ASSERT_TRUE(eventually([&] { return last_row() == "alice>"; })) << screen();

    // A half-typed line survives an incoming message: the event prints above it.
    keys("-l 'hel'");
    ASSERT_TRUE(eventually([&] { return last_row() == "alice> hel"; })) << screen();
    bob.ctl("send hi from bob");
    ASSERT_TRUE(eventually([&] { return screen_has("bob: hi from bob"); })) << screen();
    EXPECT_EQ(last_row(), "alice> hel") << screen();

    // Backspace edits, Enter sends; bob's node receives it under the new name.
    keys("BSpace");
    keys("-l 'llo world'");
    keys("Enter");
    ASSERT_TRUE(eventually([&] { return screen_has("alice: hello world"); })) << screen();
    EXPECT_TRUE(eventually([&] {
        return bob.ctl("tail --no-follow -n all").find("alice: hello world") != std::string::npos;
    })) << bob.ctl("tail --no-follow -n all");

    // Room commands.
    keys("-l '/peers'");
    keys("Enter");
    ASSERT_TRUE(eventually([&] { return screen_has("STATE"); })) << screen();
    keys("-l '/name al'");
    keys("Enter");
    ASSERT_TRUE(eventually([&] { return last_row() == "al>"; })) << screen();
    EXPECT_TRUE(eventually([&] { return bob.ctl("peers").find(" al ") != std::string::npos; }));

    keys("-l '/quit'");
    keys("Enter");
    int status = 0;
    EXPECT_TRUE(eventually([&] {
        run(tmux_ + "has-session -t room 2>/dev/null", &status);
        return status != 0;
    })) << "the room did not close on /quit: "
        << screen();
}

}  // namespace
