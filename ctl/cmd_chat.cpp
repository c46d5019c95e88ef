// p2pchatctl chat: the seed's terminal chat room. Events are printed above the line being
// typed: erase the prompt and line, print the event, draw them again. On a terminal the input
// is raw (line_editor: the keys of irssi and bash, history, Tab, bracketed paste); otherwise,
// and on a dumb terminal, stdin is read line by line (scripts, tests).
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <clocale>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>

#include "common/paths.hpp"
#include "common/rpc/rpc.hpp"
#include "common/text.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"
#include "ctl/line_editor.hpp"
#include "ctl/output.hpp"
#include "ctl/resume.hpp"
#include "ctl/terminal.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {

volatile std::sig_atomic_t stop_signal = 0;
volatile std::sig_atomic_t resized = 0;
extern "C" void on_stop_signal(int sig) { stop_signal = sig; }
extern "C" void on_resize(int) { resized = 1; }

constexpr std::string_view room_help =
    "* /name NEW         change your screen name (also /nick)\n"
    "* /me ACTION        say what you do: * alice waves\n"
    "* /peers            list the peers\n"
    "* /join ADDRESS     join a network through one of its nodes (HOST[:PORT])\n"
    "* /leave            leave the network (this node stays up, alone)\n"
    "* /history [N]      show the last N events (default 20)\n"
    "* /quit             leave the chat room (also Ctrl-C, or Ctrl-D on an empty line)\n"
    "* //text            send a message that starts with /\n"
    "* Keys: Left/Right, Ctrl-Left/Right (words), Home/End, Up/Down (input history),\n"
    "*   Tab (names), Ctrl-W/U/K (delete word/to start/to end), Ctrl-Y, Ctrl-L (redraw)";

constexpr std::string_view room_commands[] = {"/name",  "/nick",    "/me",   "/peers", "/join",
                                              "/leave", "/history", "/help", "/quit"};

// A paste of this many lines or more asks before sending (irssi asks from 5; "more than a
// few" here is more than 3).
constexpr std::size_t paste_confirm_lines = 4;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The input history lives in the user's own state directory, also for root (the daemon's
// /var/lib/p2pchat belongs to the service): $XDG_STATE_HOME/p2pchat/chat_history, else
// ~/.local/state/p2pchat/chat_history. Mode 0600: it holds what the user typed.
std::string history_path() {
    char const* state = std::getenv("XDG_STATE_HOME");
    std::string dir;
    if (state && *state == '/') {
        dir = state;
    } else {
        char const* home = std::getenv("HOME");
        if (!home || !*home) return {};
        dir = std::string(home) + "/.local/state";
    }
    return dir + "/p2pchat/chat_history";
}

std::vector<std::string> load_history(std::string const& path) {
    std::vector<std::string> lines;
    if (path.empty()) return lines;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && is_valid_utf8(line)) lines.push_back(std::move(line));
    if (lines.size() > 2 * line_editor::max_history) {
        // Appending keeps the file growing; cut it back now and then.
        lines.erase(lines.begin(),
                    lines.end() - static_cast<std::ptrdiff_t>(line_editor::max_history));
        std::string text;
        for (auto const& l : lines) text += l + "\n";
        int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
        if (fd >= 0) {
            (void)write_all(fd, text);
            ::close(fd);
        }
    }
    return lines;
}

// Best effort: a history that cannot be written never stops the room.
void append_history(std::string const& path, std::string const& line) {
    if (path.empty()) return;
    auto const slash = path.rfind('/');
    std::string const dir = path.substr(0, slash);
    std::string const parent = dir.substr(0, dir.rfind('/'));
    ::mkdir(parent.c_str(), 0700);
    ::mkdir(dir.c_str(), 0700);
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return;
    (void)write_all(fd, line + "\n");
    ::close(fd);
}

// Widths come from wcwidth(3), which needs a UTF-8 LC_CTYPE; fall back to C.UTF-8.
void use_utf8_ctype() {
    std::setlocale(LC_CTYPE, "");
    if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
}

// One chat room session over one daemon connection. Owns the terminal state; requests are
// asynchronous (ids remembered in pending_) so the room never freezes waiting for a reply.
class chat_room {
  public:
    chat_room(context const& ctx, rpc_client client, bool interactive)
        : ctx_(ctx), conn_(std::move(client)), interactive_(interactive), style_{colour_wanted()} {}

    int run(json::object const& status) {
        std::string name(string_field(status, "name"));
        self_id_ = std::string(string_field(status, "id"));
        (void)resume_.reconnected(status);
        if (interactive_) {
            if (!raw_.enable(STDIN_FILENO)) interactive_ = false;
        }
        if (interactive_) {
            (void)out("\033[?2004h");  // bracketed paste: a paste arrives marked as one
            history_file_ = history_path();
            editor_.set_history(load_history(history_file_));
        }
        if (interactive_ && name == default_screen_name()) {
            if (auto f = ask_screen_name(name); f) return finish(*f);
        }
        set_name(name);
        if (auto f = show_line("* chat room of " + terminal_safe(name) + ": /help for commands"); f)
            return finish(*f);
        if (interactive_) draw();
        pending_[client().request("peers")] = {pending_kind::peers_quiet};
        pending_[client().request("subscribe", {{"backlog", 10}})] = {pending_kind::subscribe};
        return finish(loop());
    }

  private:
    enum class pending_kind { subscribe, send, rename, peers, peers_quiet, leave, join, history };
    struct pending_call {
        pending_kind kind;
        std::int64_t arg = 0;
    };

    int finish(failure const& f) {
        if (interactive_) (void)out(editor_.erase() + "\033[?2004l");
        raw_.restore();
        return report(f);
    }

    int columns() const { return terminal_columns(STDOUT_FILENO); }
    rpc_client& client() { return *conn_; }

    // The daemon went away: say so, keep the room (and what is being typed), try again.
    std::optional<failure> go_offline() {
        std::size_t unsure = 0;
        for (auto const& [id, call] : pending_) unsure += call.kind == pending_kind::send;
        pending_.clear();
        conn_.reset();
        subscribed_ = false;
        backoff_ms_ = 100;
        retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms_);
        if (quitting_) return failure{0, ""};
        std::string line = "* p2pchatd went away; reconnecting (/quit to leave)";
        if (unsure > 0)
            line += "\n* " + std::to_string(unsure) + " message" + (unsure == 1 ? "" : "s") +
                    " may not have been sent";
        return show_line(line);
    }

    // One attempt to reconnect; on success subscribes where the room left off.
    std::optional<failure> try_reconnect() {
        auto client = rpc_client::connect(ctx_.socket_path, rpc::exit_status::unavailable);
        if (client) {
            auto st = client->call("status", {}, 5000);
            if (st && st->is_object()) {
                conn_.emplace(std::move(*client));
                auto const& status = st->as_object();
                set_name(std::string(string_field(status, "name")));
                pending_[this->client().request("peers")] = {pending_kind::peers_quiet};
                pending_[this->client().request("subscribe", resume_.reconnected(status))] = {
                    pending_kind::subscribe};
                resuming_ = true;
                return std::nullopt;
            }
        } else if (client.error().status != rpc::exit_status::unavailable) {
            return client.error();
        }
        backoff_ms_ = std::min(backoff_ms_ * 2, 2000);
        retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(backoff_ms_);
        return std::nullopt;
    }

    void set_name(std::string const& name) {
        name_ = name;
        style_.mention = name_;
        editor_.set_prompt(terminal_safe(name) + "> ");
    }

    result<void> out(std::string_view text) {
        switch (write_all(STDOUT_FILENO, text)) {
            case write_status::ok:
                return {};
            case write_status::closed:
                return failure{0, ""};
            case write_status::failed:
                return failure{rpc::exit_status::io_error, "cannot write to standard output"};
        }
        return {};
    }

    // Clears the screen, prints the recent lines that fit and draws the prompt below them.
    std::optional<failure> repaint() {
        editor_.forget_screen();
        std::size_t const rows = static_cast<std::size_t>(terminal_rows(STDOUT_FILENO));
        std::size_t const keep = std::min(recent_.size(), rows > 1 ? rows - 1 : 0);
        std::string s = "\033[H\033[2J";
        for (std::size_t i = recent_.size() - keep; i < recent_.size(); ++i) s += recent_[i] + "\n";
        s += editor_.draw(columns());
        if (auto r = out(s); !r) return r.error();
        return std::nullopt;
    }

    void remember(std::string const& text) {
        std::size_t start = 0;
        for (;;) {
            std::size_t const nl = text.find('\n', start);
            std::string line = text.substr(start, nl - start);
            if (!line.empty() && line.back() == '\a') line.pop_back();  // ring once, not again
            recent_.push_back(std::move(line));
            if (nl == text.npos) break;
            start = nl + 1;
        }
        while (recent_.size() > max_recent_lines) recent_.pop_front();
    }

    // Prints whole lines above the prompt and draws what the user was typing again.
    std::optional<failure> show_line(std::string const& line) {
        if (interactive_) remember(line);
        std::string s;
        if (interactive_) s = editor_.erase();
        s += line;
        s += '\n';
        if (interactive_ && drawn_) s += editor_.draw(columns());
        if (auto r = out(s); !r) return r.error();
        return std::nullopt;
    }

    std::optional<failure> draw() {
        drawn_ = true;
        if (auto r = out(editor_.draw(columns())); !r) return r.error();
        return std::nullopt;
    }

    // The first-use question, asked before subscribing so no event interrupts it.
    std::optional<failure> ask_screen_name(std::string& name) {
        editor_.set_prompt("Screen name: ");
        (void)out(editor_.draw(columns()));
        for (;;) {
            unsigned char c;
            ssize_t n = ::read(STDIN_FILENO, &c, 1);
            if (n < 0 && errno == EINTR) {
                if (stop_signal) return failure{0, ""};
                continue;
            }
            if (n <= 0) return failure{0, ""};
            switch (editor_.feed(c)) {
                case line_editor::outcome::none:
                case line_editor::outcome::paste:
                    break;
                case line_editor::outcome::redraw:
                case line_editor::outcome::clear_screen:
                    (void)out(editor_.draw(columns()));
                    break;
                case line_editor::outcome::quit:
                    return failure{0, ""};
                case line_editor::outcome::submit: {
                    std::string answer(trim(editor_.take_line(false)));
                    (void)out(editor_.erase() + "Screen name: " + terminal_safe(answer) + "\n");
                    if (answer.empty()) return std::nullopt;  // keep the login name
                    std::string problem;
                    if (auto p = screen_name_problem(answer)) {
                        problem = *p;
                    } else if (auto r = client().call("rename", {{"name", answer}}); r) {
                        name = answer;
                        return std::nullopt;
                    } else {
                        problem = r.error().message;
                    }
                    (void)out("* " + terminal_safe(problem) + "\n" + editor_.draw(columns()));
                    break;
                }
            }
        }
    }

    failure loop() {
        std::string input;  // line mode: bytes read but not yet split into lines
        bool input_eof = false;
        for (;;) {
            if (stop_signal) return failure{0, ""};
            if (resized) {
                resized = 0;
                // Terminals differ in how they reflow wrapped rows on a resize (tmux moves
                // text but not the cursor when the window grows), so nothing drawn can be
                // trusted: repaint the screen with the recent lines, as full-screen clients do.
                if (interactive_ && drawn_)
                    if (auto f = repaint(); f) return *f;
            }
            if (!conn_ && std::chrono::steady_clock::now() >= retry_at_)
                if (auto f = try_reconnect(); f) return *f;
            while (conn_) {
                auto m = client().next_message();
                if (!m && is_connection_lost(m.error())) {
                    if (auto f = go_offline(); f) return *f;
                    break;
                }
                if (!m) return m.error();
                if (!*m) break;
                if (auto f = on_message(**m); f) return *f;
            }
            if (quitting_ && (!conn_ || (pending_.empty() && !client().wants_write())))
                return failure{0, ""};

            // Input waits for the subscription, so the backlog comes before anything we do;
            // while the daemon is away the line can still be edited.
            bool want_input = (subscribed_ || !conn_) && !input_eof && !quitting_;
            int timeout = -1;
            if (!conn_) {
                auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    retry_at_ - std::chrono::steady_clock::now());
                timeout = static_cast<int>(std::max<std::int64_t>(0, left.count()));
            }
            pollfd fds[2] = {{want_input ? STDIN_FILENO : -1, POLLIN, 0},
                             {conn_ ? client().fd() : -1,
                              static_cast<short>(conn_ ? client().poll_events() : 0), 0}};
            if (::poll(fds, 2, timeout) < 0) {
                if (errno == EINTR) continue;
                return connection_lost();
            }
            std::optional<failure> lost;
            if (conn_ && (fds[1].revents & POLLOUT))
                if (auto w = client().on_writable(); !w) lost = w.error();
            if (conn_ && !lost && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
                if (auto r = client().on_readable(); !r) lost = r.error();
            if (lost) {
                if (!is_connection_lost(*lost)) return *lost;
                if (auto f = go_offline(); f) return *f;
                continue;
            }
            if (fds[0].revents == 0) continue;

            char buf[4096];
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) {
                // End of input: finish what was typed, wait for the replies, then go.
                input_eof = true;
                if (!interactive_ && !input.empty())
                    if (auto f = on_line(std::exchange(input, {})); f) return *f;
                quitting_ = true;
                continue;
            }
            if (!interactive_) {
                input.append(buf, static_cast<std::size_t>(n));
                std::size_t nl;
                while (!quitting_ && (nl = input.find('\n')) != input.npos) {
                    std::string line = input.substr(0, nl);
                    input.erase(0, nl + 1);
                    if (line.ends_with('\r')) line.pop_back();
                    if (auto f = on_line(std::move(line)); f) return *f;
                }
                continue;
            }
            std::string_view chunk(buf, static_cast<std::size_t>(n));
            // Without bracketed paste, several lines in one read are a paste all the same:
            // nobody types two Enters within one read.
            if (!confirming_ && chunk.find('\033') == chunk.npos &&
                std::count_if(chunk.begin(), chunk.end(),
                              [](char c) { return c == '\r' || c == '\n'; }) >= 2) {
                if (auto f = on_paste(std::string(chunk)); f) return *f;
                continue;
            }
            for (std::size_t i = 0; i < chunk.size() && !quitting_; ++i)
                if (auto f = on_key(static_cast<unsigned char>(chunk[i])); f) return *f;
        }
    }

    std::optional<failure> on_key(unsigned char c) {
        if (confirming_) return on_confirm_key(c);
        switch (editor_.feed(c)) {
            case line_editor::outcome::none:
                return std::nullopt;
            case line_editor::outcome::redraw:
                return draw();
            case line_editor::outcome::clear_screen:
                editor_.forget_screen();
                if (auto r = out("\033[H\033[2J"); !r) return r.error();
                return draw();
            case line_editor::outcome::quit:
                quitting_ = true;  // after the replies to what was already sent
                return std::nullopt;
            case line_editor::outcome::paste:
                return on_paste(editor_.take_paste());
            case line_editor::outcome::submit: {
                // The sent line vanishes from the prompt; it comes back as our own message
                // event, in the order everybody else sees it.
                std::string line = editor_.take_line();
                if (!is_blank(line)) append_history(history_file_, line);
                if (auto f = draw(); f) return f;
                return on_line(std::move(line));
            }
        }
        return std::nullopt;
    }

    // Pasted text: complete lines are sent (after asking, when there are many), the rest
    // stays on the input line, as if it had been typed.
    std::optional<failure> on_paste(std::string text) {
        std::string whole = editor_.buffer().substr(0, editor_.cursor()) + text;
        std::string const after = editor_.buffer().substr(editor_.cursor());
        std::vector<std::string> lines;
        std::size_t start = 0;
        for (std::size_t i = 0; i < whole.size(); ++i) {
            if (whole[i] != '\r' && whole[i] != '\n') continue;
            lines.push_back(whole.substr(start, i - start));
            if (whole[i] == '\r' && i + 1 < whole.size() && whole[i + 1] == '\n') ++i;
            start = i + 1;
        }
        std::string const rest = whole.substr(start) + after;
        if (lines.empty()) {
            editor_.take_line(false);
            editor_.insert(rest);
            return draw();
        }
        editor_.take_line(false);
        editor_.insert(rest);
        std::erase_if(lines, [](std::string const& l) { return is_blank(l); });
        if (lines.size() < paste_confirm_lines) {
            if (auto f = draw(); f) return f;
            for (auto& line : lines)
                if (auto f = on_line(std::move(line)); f) return f;
            return std::nullopt;
        }
        pasted_ = std::move(lines);
        confirming_ = true;
        return show_line("* you pasted " + std::to_string(pasted_.size()) +
                         " lines: send them? y to send, n to drop them");
    }

    std::optional<failure> on_confirm_key(unsigned char c) {
        confirming_ = false;
        auto lines = std::exchange(pasted_, {});
        if (c != 'y' && c != 'Y') {
            return show_line("* dropped the " + std::to_string(lines.size()) + " pasted lines");
        }
        for (auto& line : lines)
            if (auto f = on_line(std::move(line)); f) return f;
        return std::nullopt;
    }

    std::optional<failure> on_line(std::string line) {
        std::string_view text = line;
        if (trim(text).empty()) return std::nullopt;
        if (!conn_) {
            if (trim(text) == "/quit" || trim(text) == "/q" || trim(text) == "/exit") {
                quitting_ = true;
                return std::nullopt;
            }
            // Nothing can go out: give the line back, as it was, to send when we are back.
            if (interactive_ && editor_.buffer().empty()) editor_.insert(line);
            return show_line("* not connected to p2pchatd; the line was not sent");
        }
        if (text.starts_with("//")) {
            text.remove_prefix(1);
        } else if (text.starts_with('/')) {
            return on_command(trim(text.substr(1)));
        }
        return send(text);
    }

    std::optional<failure> send(std::string_view text) {
        if (auto problem = message_problem(text)) return show_line("* " + *problem);
        pending_[client().request("send", {{"text", text}})] = {pending_kind::send};
        return std::nullopt;
    }

    std::optional<failure> on_command(std::string_view cmd) {
        std::string_view word = cmd.substr(0, cmd.find(' '));
        std::string_view rest = trim(cmd.substr(word.size()));
        if (word == "quit" || word == "exit" || word == "q") {
            quitting_ = true;
            return std::nullopt;
        }
        if (word == "name" || word == "nick") {
            if (rest.empty()) return show_line("* usage: /name NEW");
            if (auto problem = screen_name_problem(rest)) return show_line("* " + *problem);
            pending_[client().request("rename", {{"name", rest}})] = {pending_kind::rename};
            return std::nullopt;
        }
        if (word == "me") {
            if (rest.empty()) return show_line("* usage: /me ACTION");
            return send("/me " + std::string(rest));
        }
        if (word == "peers") {
            pending_[client().request("peers")] = {pending_kind::peers};
            return std::nullopt;
        }
        if (word == "join") {
            if (rest.empty() || rest.find(' ') != rest.npos)
                return show_line("* usage: /join HOST[:PORT]");
            auto params = join_params(rest);
            if (!params) return show_line("* " + params.error().message);
            if (auto f = show_line("* joining " + terminal_safe(rest) + "..."); f) return f;
            pending_[client().request("join", std::move(*params))] = {pending_kind::join};
            return std::nullopt;
        }
        if (word == "leave") {
            pending_[client().request("leave")] = {pending_kind::leave};
            return std::nullopt;
        }
        if (word == "history") {
            std::int64_t n = 20;
            if (!rest.empty()) {
                auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
                if (ec != std::errc{} || end != rest.data() + rest.size() || n < 1 || n > 10000)
                    return show_line("* usage: /history [N], N from 1 to 10000");
            }
            pending_[client().request("history", {{"limit", n}})] = {pending_kind::history, n};
            return std::nullopt;
        }
        if (word == "help") return show_line(std::string(room_help));
        return show_line("* unknown command /" + terminal_safe(word) + " (try /help)");
    }

    void update_completions() {
        std::vector<std::string> words(std::begin(room_commands), std::end(room_commands));
        for (auto const& [id, name] : names_.entries())
            if (id != self_id_) words.push_back(names_.display(id, name));
        editor_.set_completions(std::move(words));
    }

    std::optional<failure> on_event(json::object const& event) {
        bool const fresh = resume_.wanted(event);
        resume_.saw(event);
        if (!fresh) return std::nullopt;  // shown before the daemon restarted
        names_.learn_event(event);
        std::string_view const type = string_field(event, "type");
        if (type == "peer_renamed") track_own_rename(event);
        if (type != "message") update_completions();
        auto line = human_event(event, style_, &names_);
        if (!line) return std::nullopt;
        auto const* self = event.if_contains("self");
        bool const mine = self && self->is_bool() && self->as_bool();
        if (interactive_ && type == "message" && !mine &&
            mentions(string_field(event, "text"), name_))
            *line += '\a';  // the bell, as irssi rings it on a highlight
        return show_line(*line);
    }

    std::optional<failure> on_message(message& m) {
        if (auto* n = std::get_if<notification>(&m)) {
            json::object const empty;
            auto const& params = n->params.is_object() ? n->params.as_object() : empty;
            if (n->method == "event") return on_event(params);
            if (n->method == "error") {
                int code = static_cast<int>(int_field(params, "code"));
                return failure{rpc::exit_status_for(code),
                               std::string(string_field(params, "message"))};
            }
            return std::nullopt;
        }
        auto& r = std::get<reply>(m);
        auto it = pending_.find(r.id);
        if (it == pending_.end()) return std::nullopt;
        pending_call const call = it->second;
        pending_.erase(it);
        if (r.error) {
            if (call.kind == pending_kind::subscribe) return *r.error;
            if (call.kind == pending_kind::peers_quiet) return std::nullopt;
            return show_line("* " + terminal_safe(r.error->message));
        }
        json::object const empty;
        auto const& res = r.result.is_object() ? r.result.as_object() : empty;
        switch (call.kind) {
            case pending_kind::subscribe:
                subscribed_ = true;
                if (std::exchange(resuming_, false)) return show_line("* reconnected to p2pchatd");
                return std::nullopt;
            case pending_kind::send:
                if (auto const* peers = res.if_contains("peers");
                    peers && peers->is_number() && peers->to_number<double>() == 0)
                    return show_line(
                        "* nobody received that: you have no peers (/join HOST[:PORT])");
                return std::nullopt;
            case pending_kind::rename:
                // The daemon's peer_renamed event tells the room; here only the prompt changes.
                set_name(std::string(string_field(res, "name")));
                if (!interactive_) return std::nullopt;
                return draw();
            case pending_kind::peers:
            case pending_kind::peers_quiet: {
                auto const* peers = res.if_contains("peers");
                if (!peers || !peers->is_array()) return unexpected_reply("peers");
                names_.learn_peers(peers->as_array());
                update_completions();
                if (call.kind == pending_kind::peers_quiet) return std::nullopt;
                std::string table = peers_table(peers->as_array());
                if (!table.empty() && table.back() == '\n') table.pop_back();
                return show_line(table);
            }
            case pending_kind::join: {
                auto const n = int_field(res, "peers");
                return show_line("* joined: " + std::to_string(n) + (n == 1 ? " peer" : " peers"));
            }
            case pending_kind::leave:
                return show_line("* you left the network; /join ADDRESS to join again, /quit");
            case pending_kind::history: {
                auto const* events = res.if_contains("events");
                if (!events || !events->is_array()) return unexpected_reply("history");
                std::string text = "* the last " + std::to_string(call.arg) + " events:";
                for (auto const& v : events->as_array()) {
                    if (!v.is_object()) continue;
                    if (auto line = human_event(v.as_object(), style_, &names_))
                        text += "\n" + *line;
                }
                return show_line(text + "\n* end of history");
            }
        }
        return std::nullopt;
    }

    // A rename made elsewhere (p2pchatctl rename) changes our prompt too.
    void track_own_rename(json::object const& event) {
        auto const* peer = event.if_contains("peer");
        if (!peer || !peer->is_object()) return;
        auto const& p = peer->as_object();
        auto const* self = p.if_contains("self");
        if (self && self->is_bool() && self->as_bool())
            set_name(std::string(string_field(p, "name")));
    }

    context const& ctx_;
    std::optional<rpc_client> conn_;  // empty while the daemon is away
    bool interactive_;
    style style_;
    raw_mode raw_;
    line_editor editor_;
    name_book names_;
    std::string name_;
    std::string self_id_;
    std::string history_file_;
    bool drawn_ = false;       // the prompt is on screen (interactive, after start-up)
    bool subscribed_ = false;  // the subscribe reply (after the backlog) has arrived
    bool quitting_ = false;    // /quit or end of input: stop reading, drain replies, exit
    bool confirming_ = false;  // a big paste waits for y or n
    std::vector<std::string> pasted_;
    std::map<std::int64_t, pending_call> pending_;
    static constexpr std::size_t max_recent_lines = 500;
    std::deque<std::string> recent_;  // what was printed above the prompt, for a repaint
    resume_point resume_;             // where to pick up after the daemon restarts
    bool resuming_ = false;           // reconnected; the subscribe reply is due
    int backoff_ms_ = 100;
    std::chrono::steady_clock::time_point retry_at_{};
};

}  // namespace

int run_chat(context& ctx, args_t args) {
    auto a = parse_args(args, {}, "chat");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "chat")) return 0;
    if (!a->positionals.empty())
        return report(usage_error(
            "chat", "unexpected argument '" + std::string(a->positionals.front()) + "'"));

    auto client = connect(ctx);
    if (!client) return report(client.error());
    auto st = client->call("status");
    if (!st) return report(st.error());
    if (!st->is_object()) return report(unexpected_reply("status"));

    // SIGTERM/SIGHUP must not leave the terminal raw: they only set a flag (no SA_RESTART,
    // so poll returns EINTR) and the room unwinds normally.
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGHUP, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);  // line mode; in raw mode Ctrl-C is a key
    sa.sa_handler = on_resize;
    sigaction(SIGWINCH, &sa, nullptr);

    use_utf8_ctype();
    // A dumb terminal (TERM=dumb, or none) cannot move the cursor: read whole lines.
    bool interactive =
        ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1 && !dumb_terminal();
    return chat_room(ctx, std::move(*client), interactive).run(st->as_object());
}

}  // namespace p2pchat::ctl
