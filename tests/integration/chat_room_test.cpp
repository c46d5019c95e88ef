// The chat room (p2pchatctl chat) driven through a real terminal: tmux runs it in a pane,
// keys go in with send-keys (and pastes with paste-buffer), the screen comes back with
// capture-pane. Real daemons on 127.0.0.x (ports picked by the kernel) form the network.
// Narrow panes make lines wrap; wide characters sit at the wrap point; panes are resized.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
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

std::string output(process_result const& r) { return r.out + r.err; }

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
    // Starts `p2pchatctl chat` against n in a pane `width` columns wide. The input history
    // lives in this test's directory; `env` adds variables (NO_COLOR=1 unless given).
    void open_room(node const& n, int width = 100, std::string env = "NO_COLOR=1") {
        tmux({"new-session", "-d", "-s", "room", "-x", std::to_string(width), "-y", "20",
              "env XDG_STATE_HOME=" + (dir_.path() / "state").string() + " P2PCHAT_SOCKET=" +
                  n.socket_path() + " " + env + " " + P2PCHATCTL_PATH + " chat"});
    }
    std::string screen(bool escapes = false) {
        std::vector<std::string> args{"capture-pane", "-p", "-t", "room"};
        if (escapes) args.push_back("-e");
        return tmux(args);
    }
    bool screen_has(std::string const& text) { return screen().find(text) != std::string::npos; }
    // The screen's non-empty rows, trailing blanks removed.
    std::vector<std::string> rows() {
        std::vector<std::string> out;
        std::string s = screen();
        std::size_t start = 0;
        while (start < s.size()) {
            std::size_t nl = s.find('\n', start);
            if (nl == std::string::npos) nl = s.size();
            std::string row = s.substr(start, nl - start);
            while (!row.empty() && row.back() == ' ') row.pop_back();
            if (!row.empty()) out.push_back(row);
            start = nl + 1;
        }
        return out;
    }
    // The last non-empty row: where the prompt and the typed line end.
    std::string last_row() {
        auto r = rows();
        return r.empty() ? std::string() : r.back();
    }
    std::string cursor() {
        return tmux({"display", "-p", "-t", "room", "#{cursor_x},#{cursor_y}"});
    }
    void keys(std::vector<std::string> k) {
        k.insert(k.begin(), {"send-keys", "-t", "room"});
        tmux(std::move(k));
    }
    void type(std::string const& text) { keys({"-l", text}); }
    bool closed() {
        int status = 0;
        tmux({"has-session", "-t", "room"}, &status);
        return status != 0;
    }
    // The messages n has, as `tail -n all --no-follow` prints them.
    static std::string history_of(node const& n) {
        return output(n.ctl({"tail", "--no-follow", "-n", "all"}));
    }
    static bool wait_peers(node const& n, std::size_t count) {
        return wait_until([&] { return n.peers().size() == count; }, 10s);
    }

    temp_dir dir_;
    std::string tmux_;
};

TEST_F(chat_room_test, asks_name_keeps_typed_line_sends_and_quits) {
    // alice's node keeps the default name (the login name), so the room asks for one.
    node alice(on("127.0.0.1").unnamed());
    node bob(on("127.0.0.1").named("bob").joining(alice.listen()));
    ASSERT_TRUE(wait_peers(alice, 2)) << logs_of({&alice, &bob});
    open_room(alice);

    ASSERT_TRUE(wait_until([&] { return screen_has("Screen name:"); }, 10s)) << screen();
    keys({"alice", "Enter"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice>"; }, 10s)) << screen();

    // A half-typed line survives an incoming message: the event prints above it.
    type("hel");
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice> hel"; }, 10s)) << screen();
    bob.ctl({"send", "hi", "from", "bob"});
    ASSERT_TRUE(wait_until([&] { return screen_has("bob: hi from bob"); }, 10s)) << screen();
    EXPECT_EQ(last_row(), "alice> hel") << screen();

    // Backspace edits, Enter sends; our own message is marked, bob sees it under our name.
    keys({"BSpace"});
    type("llo world");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("alice (you): hello world"); }, 10s))
        << screen();
    EXPECT_TRUE(wait_until(
        [&] { return history_of(bob).find("alice: hello world") != std::string::npos; }, 10s))
        << history_of(bob);

    // Room commands.
    type("/peers");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("STATE"); }, 10s)) << screen();
    type("/name al");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "al>"; }, 10s)) << screen();
    EXPECT_TRUE(wait_until(
        [&] { return output(bob.ctl({"peers"})).find(" al ") != std::string::npos; }, 10s));

    type("/quit");
    keys({"Enter"});
    EXPECT_TRUE(wait_until([&] { return closed(); }, 10s))
        << "the room did not close on /quit: " << screen();
}

TEST_F(chat_room_test, edits_wrapped_lines_with_wide_characters_on_a_narrow_terminal) {
    node alice(on("127.0.0.1").named("al"));
    node bob(on("127.0.0.1").named("bob").joining(alice.listen()));
    ASSERT_TRUE(wait_peers(alice, 2)) << logs_of({&alice, &bob});
    open_room(alice, 12);
    ASSERT_TRUE(wait_until([&] { return last_row() == "al>"; }, 10s)) << screen();

    // "al> " + 7 columns leaves one column: the wide 猫 wraps whole to the next row.
    type(
        "abcdefg\xe7\x8c\xab"
        "xyz");
    ASSERT_TRUE(wait_until(
        [&] {
            return last_row() ==
                   "\xe7\x8c\xab"
                   "xyz";
        },
        10s))
        << screen();
    auto r = rows();
    ASSERT_GE(r.size(), 2u);
    EXPECT_EQ(r[r.size() - 2], "al> abcdefg") << screen();
    EXPECT_EQ(cursor().substr(0, 2), "5,") << screen();

    // Left over the wrap point, edit there, Backspace across rows: no stale rows remain.
    keys({"Left", "Left", "Left", "Left"});  // before 猫
    keys({"BSpace", "BSpace"});              // removes g and f
    type("F");
    // "al> abcdeF" and 猫 fill the 12 columns exactly; "xyz" is alone on the next row.
    auto const two_rows = [&] {
        auto const now = rows();
        return now.size() >= 2 && now.back() == "xyz" &&
               now[now.size() - 2] == "al> abcdeF\xe7\x8c\xab";
    };
    ASSERT_TRUE(wait_until(two_rows, 10s)) << screen();
    keys({"C-u"});  // kills to the start: the rest stays, on one row
    ASSERT_TRUE(wait_until(
        [&] {
            return last_row() ==
                   "al> \xe7\x8c\xab"
                   "xyz";
        },
        10s))
        << screen();
    keys({"End"});
    type(" done");
    keys({"Home"});
    keys({"C-Right"});
    type("!");
    keys({"Enter"});
    EXPECT_TRUE(wait_until(
        [&] {
            return history_of(bob).find(
                       "al: \xe7\x8c\xab"
                       "xyz! done") != std::string::npos;
        },
        10s))
        << history_of(bob) << screen();
    EXPECT_EQ(last_row(), "al>") << screen();

    // A resize repaints: the typed line is whole at the new width, with nothing stale.
    type("0123456789abcdefghij");  // 24 columns with the prompt: two full rows
    ASSERT_TRUE(wait_until([&] { return last_row() == "89abcdefghij"; }, 10s)) << screen();
    EXPECT_EQ(cursor(), "0," + std::to_string(rows().size()) + "\n") << "on the next row";
    tmux({"resize-window", "-t", "room", "-x", "30", "-y", "20"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "al> 0123456789abcdefghij"; }, 10s))
        << screen();
    auto const after = rows();
    EXPECT_EQ(std::count(after.begin(), after.end(), "al> 0123456789abcdefghij"), 1) << screen();
    tmux({"resize-window", "-t", "room", "-x", "10", "-y", "20"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "ghij"; }, 10s)) << screen();
    EXPECT_EQ(rows()[rows().size() - 3], "al> 012345") << screen();

    // Ctrl-L clears the screen and draws the line at the top.
    keys({"C-l"});
    // The whole cleared screen, not only its size: under load, tmux's repaint of the resize
    // can show three rows of something else for a moment.
    ASSERT_TRUE(wait_until(
        [&] {
            auto const now = rows();
            return now.size() == 3 && now.front() == "al> 012345";
        },
        10s))
        << screen();
}

TEST_F(chat_room_test, history_completion_and_room_commands) {
    node alice(on("127.0.0.1").named("alice"));
    node bob(on("127.0.0.2").named("bob").joining(alice.listen()));
    node carol(on("127.0.0.3").named("carol"));
    ASSERT_TRUE(wait_peers(alice, 2)) << logs_of({&alice, &bob});
    open_room(alice);
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice>"; }, 10s)) << screen();

    // Tab completes a name (with ": " at the start of the line) and a command.
    type("bo");
    keys({"Tab"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice> bob:"; }, 10s)) << screen();
    type("lunch?");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("alice (you): bob: lunch?"); }, 10s))
        << screen();

    // /me, and a mention of our name: highlighted and the bell rings.
    type("/me waves");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("* alice waves"); }, 10s)) << screen();
    bob.ctl({"send", "sure Alice, at noon"});
    ASSERT_TRUE(wait_until([&] { return screen_has("bob: sure Alice, at noon"); }, 10s))
        << screen();
    EXPECT_TRUE(wait_until(
        [&] {
            return tmux({"display", "-p", "-t", "room", "#{window_bell_flag}"}) == "1\n";
        },
        5s))
        << "no bell";

    // /join ADDRESS brings carol in; a malformed one is refused in the room.
    type("/join 127.0.0.3:abc");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("not HOST[:PORT]"); }, 10s)) << screen();
    type("/join " + carol.listen());
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("* joined: 2 peers"); }, 10s)) << screen();

    // /history N shows the last N events.
    type("/history 2");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("* end of history"); }, 10s)) << screen();

    // Up recalls what was typed, also in the next session (the history file).
    type("/quit");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return closed(); }, 10s)) << screen();
    open_room(alice);
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice>"; }, 10s)) << screen();
    keys({"Up"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice> /quit"; }, 10s)) << screen();
    keys({"Up", "Up", "Up", "Up"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice> /me waves"; }, 10s)) << screen();
    keys({"Down"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice> /join 127.0.0.3:abc"; }, 10s))
        << screen();
    auto const file = dir_.path() / "state" / "p2pchat" / "chat_history";
    EXPECT_TRUE(std::filesystem::exists(file));
    EXPECT_EQ(std::filesystem::status(file).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(chat_room_test, a_paste_of_many_lines_asks_first) {
    node alice(on("127.0.0.1").named("alice"));
    node bob(on("127.0.0.2").named("bob").joining(alice.listen()));
    ASSERT_TRUE(wait_peers(alice, 2)) << logs_of({&alice, &bob});
    open_room(alice);
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice>"; }, 10s)) << screen();

    std::string many;
    for (int i = 1; i <= 6; ++i) many += "pasted line " + std::to_string(i) + "\n";
    tmux({"set-buffer", "-b", "clip", many});
    tmux({"paste-buffer", "-p", "-b", "clip", "-t", "room"});  // bracketed, as terminals paste
    ASSERT_TRUE(wait_until([&] { return screen_has("you pasted 6 lines"); }, 10s)) << screen();
    keys({"n"});
    ASSERT_TRUE(wait_until([&] { return screen_has("dropped the 6 pasted lines"); }, 10s))
        << screen();
    EXPECT_EQ(history_of(bob).find("pasted line"), std::string::npos);

    tmux({"paste-buffer", "-p", "-b", "clip", "-t", "room"});
    ASSERT_TRUE(wait_until([&] { return screen_has("you pasted 6 lines"); }, 10s)) << screen();
    keys({"y"});
    EXPECT_TRUE(wait_until(
        [&] { return history_of(bob).find("alice: pasted line 6") != std::string::npos; }, 10s))
        << history_of(bob);

    // Two lines are sent as typed; a line without a newline waits on the input line.
    tmux({"set-buffer", "-b", "few", "short one\nshort two\nunfinished"});
    tmux({"paste-buffer", "-p", "-b", "few", "-t", "room"});
    ASSERT_TRUE(wait_until([&] { return last_row() == "alice> unfinished"; }, 10s)) << screen();
    EXPECT_TRUE(wait_until(
        [&] { return history_of(bob).find("alice: short two") != std::string::npos; }, 10s));
}

TEST_F(chat_room_test, a_dumb_terminal_gets_no_escape_sequences) {
    node alice(on("127.0.0.1").named("alice"));
    open_room(alice, 100, "TERM=dumb");
    ASSERT_TRUE(wait_until([&] { return screen_has("chat room of alice"); }, 10s)) << screen();
    type("plain line");
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("alice (you): plain line"); }, 10s)) << screen();
    EXPECT_EQ(screen(true).find('\033'), std::string::npos) << screen(true);
}

TEST_F(chat_room_test, survives_a_daemon_restart_without_repeats) {
    auto const sock = (dir_.path() / "alice.sock").string();
    auto const state = (dir_.path() / "alice-state").string();
    node bob(on("127.0.0.2").named("bob"));
    std::optional<node> alice;
    alice.emplace(on("127.0.0.1").named("alice").socket(sock).state(state).joining(bob.listen()));
    ASSERT_TRUE(wait_peers(*alice, 2)) << alice->log();
    ASSERT_EQ(bob.ctl({"send", "said before"}).status, 0);
    open_room(*alice);
    ASSERT_TRUE(wait_until([&] { return screen_has("bob: said before"); }, 10s)) << screen();
    type("half typed");

    ASSERT_EQ(alice->terminate(), std::optional<int>(0));
    ASSERT_TRUE(wait_until([&] { return screen_has("p2pchatd went away; reconnecting"); }, 10s))
        << screen();
    EXPECT_EQ(last_row(), "alice> half typed") << "the line being typed survives";
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("the line was not sent"); }, 10s)) << screen();
    EXPECT_EQ(last_row(), "alice> half typed") << "and comes back to be sent later";

    alice.reset();
    alice.emplace(on("127.0.0.1").named("alice").socket(sock).state(state).joining(bob.listen()));
    ASSERT_TRUE(wait_until([&] { return screen_has("* reconnected to p2pchatd"); }, 15s))
        << screen();
    keys({"Enter"});
    ASSERT_TRUE(wait_until([&] { return screen_has("alice (you): half typed"); }, 10s)) << screen();
    ASSERT_EQ(bob.ctl({"send", "said after"}).status, 0);
    ASSERT_TRUE(wait_until([&] { return screen_has("bob: said after"); }, 10s)) << screen();
    auto const all = rows();
    EXPECT_EQ(std::count_if(all.begin(), all.end(),
                            [](auto const& r) { return r.find("bob: said before") != r.npos; }),
              1)
        << screen();
    EXPECT_EQ(std::count_if(all.begin(), all.end(),
                            [](auto const& r) { return r.find("bob: said after") != r.npos; }),
              1)
        << screen();
}

TEST_F(chat_room_test, send_on_a_terminal_says_it_reads_lines) {
    node alice(on("127.0.0.1").named("alice"));
    node bob(on("127.0.0.2").named("bob").joining(alice.listen()));
    ASSERT_TRUE(wait_peers(alice, 2)) << logs_of({&alice, &bob});
    tmux({"new-session", "-d", "-s", "room", "-x", "100", "-y", "20",
          "env P2PCHAT_SOCKET=" + alice.socket_path() + " " + P2PCHATCTL_PATH + " send"});
    ASSERT_TRUE(
        wait_until([&] { return screen_has("sending each line you type; Ctrl-D ends"); }, 10s))
        << screen();
    type("typed at a terminal");
    keys({"Enter"});
    keys({"C-d"});
    EXPECT_TRUE(wait_until([&] { return closed(); }, 10s)) << screen();
    EXPECT_TRUE(wait_until(
        [&] { return history_of(bob).find("alice: typed at a terminal") != std::string::npos; },
        10s));
}

TEST_F(chat_room_test, tail_colours_names_only_on_a_terminal_that_is_not_dumb) {
    node alice(on("127.0.0.1").named("alice"));
    (void)alice.ctl({"send", "colourful"});
    for (std::string term : {"xterm-256color", "dumb"}) {
        tmux({"new-session", "-d", "-s", "room", "-x", "100", "-y", "20",
              "env -u NO_COLOR TERM=" + term + " P2PCHAT_SOCKET=" + alice.socket_path() + " " +
                  P2PCHATCTL_PATH + " tail"});
        ASSERT_TRUE(wait_until([&] { return screen_has("alice (you): colourful"); }, 10s))
            << screen();
        bool const escapes = screen(true).find("\033[") != std::string::npos;
        EXPECT_EQ(escapes, term != "dumb") << term << ": " << screen(true);
        tmux({"kill-session", "-t", "room"});
    }
}

}  // namespace
}  // namespace p2pchat::test
