// The chat room (p2pchatctl chat) driven through a real terminal: tmux runs it in a pane,
// keys go in with send-keys and the screen comes back with capture-pane. Two real daemons on
// 127.0.0.1 (ports picked by the kernel) form the network.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/daemon.hpp"

namespace p2pchat::test {
namespace {

// Where tmux is installed; empty when it is not.
std::string tmux_path() {
    auto r = run_process({"/bin/sh", "-c", "command -v tmux"});
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.status == 0 ? r.out : std::string();
}

class chat_room_test : public ::testing::Test {
  protected:
    void SetUp() override {
        tmux_ = tmux_path();
        if (tmux_.empty()) GTEST_SKIP() << "tmux is not installed";
    }
    void TearDown() override {
        if (!tmux_.empty()) tmux({"kill-server"});
    }

    // tmux on this test's own server (bounded like every command here): its stdout, and its
    // exit status in *status.
    std::string tmux(std::vector<std::string> args, int* status = nullptr) {
        args.insert(args.begin(), {tmux_, "-S", (dir_.path() / "tmux.sock").string()});
        auto r = run_process(args);
        if (status) *status = r.status;
        return r.out;
    }
    std::string screen() { return tmux({"capture-pane", "-p", "-t", "room"}); }
    bool screen_has(std::string const& text) { return screen().find(text) != std::string::npos; }
    // The last non-empty row of the pane: where the prompt and the typed line live.
    std::string last_row() {
        std::string s = screen();
        while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
        return s.substr(s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
    }
    void keys(std::vector<std::string> k) {
        k.insert(k.begin(), {"send-keys", "-t", "room"});
        tmux(std::move(k));
    }

    temp_dir dir_;
    std::string tmux_;
};

TEST_F(chat_room_test, asks_name_keeps_typed_line_sends_and_quits) {
    // alice's node keeps the default name (the login name), so the room asks for one.
    node alice(on("127.0.0.1").unnamed());
    node bob(on("127.0.0.1").named("bob").joining(alice.listen()));
    // Bounded like every wait here; the output of a command, stdout and stderr, as a user sees it.
    auto out = [](process_result const& r) { return r.out + r.err; };
    ASSERT_TRUE(
        wait_until([&] { return out(alice.ctl({"peers"})).find("bob") != std::string::npos; }, 10s))
        << logs_of({&alice, &bob});

    tmux(
        {"new-session", "-d", "-s", "room", "-x", "100", "-y", "30",
         "env P2PCHAT_SOCKET=" + alice.socket_path() + " NO_COLOR=1 " + P2PCHATCTL_PATH + " chat"});

    ASSERT_TRUE(wait_until([&] { return screen_has("Screen name:"); }, 10s)) << screen();
    keys({"alice", "Enter"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice>"; }, 10s)) << screen();

    // A half-typed line survives an incoming message: the event prints above it.
    keys({"-l", "hel"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice> hel"; }, 10s)) << screen();
    bob.ctl({"send", "hi", "from", "bob"});
    ASSERT_TRUE(wait_until([&] { return screen_has("bob: hi from bob"); }, 10s)) << screen();
    EXPECT_EQ(last_row(), "alice> hel") << screen();

    // Backspace edits, Enter sends; bob's node receives it under the new name.
    keys({"BSpace"});
    keys({"-l", "llo world"});
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("alice (you): hello world"); }, 10s))
        << screen();
    auto const bob_history = [&] { return out(bob.ctl({"tail", "--no-follow", "-n", "all"})); };
    EXPECT_TRUE(wait_until(
        [&] { return bob_history().find("alice: hello world") != std::string::npos; }, 10s))
        << bob_history();

    // Room commands.
    keys({"-l", "/peers"});
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("STATE"); }, 10s)) << screen();
    keys({"-l", "/name al"});
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "al>"; }, 10s)) << screen();
    EXPECT_TRUE(
        wait_until([&] { return out(bob.ctl({"peers"})).find(" al ") != std::string::npos; }, 10s));

    keys({"-l", "/quit"});
    keys({"Enter"});
    int status = 0;
    EXPECT_TRUE(wait_until(
        [&] {
            tmux({"has-session", "-t", "room"}, &status);
            return status != 0;
        },
        10s))
        << "the room did not close on /quit: " << screen();
}

}  // namespace
}  // namespace p2pchat::test
