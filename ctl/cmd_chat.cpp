// p2pchatctl chat: the seed's terminal chat room. Events are printed above the line being
// typed: clear the prompt line, print the event, redraw prompt and buffer. On a terminal the
// input is raw (line_editor); otherwise stdin is read line by line (scripts, tests).
#include <poll.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <cerrno>
#include <csignal>
#include <map>

#include "common/paths.hpp"
#include "common/rpc/rpc.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"
#include "ctl/line_editor.hpp"
#include "ctl/output.hpp"
#include "ctl/terminal.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {

volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int sig) { stop_signal = sig; }

constexpr std::string_view room_help =
    "* /name NEW   change your screen name\n"
    "* /peers      list the peers\n"
    "* /leave      leave the network (this node stays up, alone)\n"
    "* /quit       leave the chat room (also Ctrl-C, or Ctrl-D on an empty line)\n"
    "* //text      send a message that starts with /";

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// One chat room session over one daemon connection. Owns the terminal state; requests are
// asynchronous (ids remembered in pending_) so the room never freezes waiting for a reply.
class chat_room {
  public:
    chat_room(rpc_client& client, bool interactive)
        : client_(client), interactive_(interactive), style_{colour_wanted()} {}

    int run(std::string name) {
        if (interactive_) {
            if (!raw_.enable(STDIN_FILENO)) interactive_ = false;
        }
        if (interactive_ && name == default_screen_name()) {
            if (auto f = ask_screen_name(name); f) return finish(*f);
        }
        set_name(name);
        if (auto f = show_line("* chat room of " + name + ": /help for commands"); f)
            return finish(*f);
        if (interactive_) draw();
        pending_[client_.request("subscribe", {{"backlog", 10}})] = pending_kind::subscribe;
        return finish(loop());
    }

  private:
    enum class pending_kind { subscribe, send, rename, peers, leave };

    int finish(failure const& f) {
        if (interactive_) (void)write_all(STDOUT_FILENO, editor_.clear(columns()));
        raw_.restore();
        return report(f);
    }

    int columns() const { return terminal_columns(STDOUT_FILENO); }

    void set_name(std::string const& name) {
        name_ = name;
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

    // Prints a whole line above the prompt and redraws what the user was typing. clear is
    // the erase sequence for what is on screen, when computed before the prompt changed.
    std::optional<failure> show_line(std::string const& line, std::string clear = {}) {
        std::string s;
        if (interactive_) s = clear.empty() ? editor_.clear(columns()) : std::move(clear);
        s += line;
        s += '\n';
        if (interactive_ && drawn_) s += editor_.render();
        if (auto r = out(s); !r) return r.error();
        return std::nullopt;
    }

    void draw() {
        drawn_ = true;
        (void)out(editor_.render());
    }

    // The first-use question, asked before subscribing so no event interrupts it.
    std::optional<failure> ask_screen_name(std::string& name) {
        editor_.set_prompt("Screen name: ");
        (void)out(editor_.render());
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
                    break;
                case line_editor::outcome::echo:
                    (void)out(editor_.echo());
                    break;
                case line_editor::outcome::redraw:
                    (void)out(editor_.clear(columns()) + editor_.render());
                    break;
                case line_editor::outcome::quit:
                    return failure{0, ""};
                case line_editor::outcome::submit: {
                    std::string answer(trim(editor_.take_line()));
                    (void)out("\r\n");
                    if (answer.empty()) return std::nullopt;  // keep the login name
                    auto r = client_.call("rename", {{"name", answer}});
                    if (r) {
                        name = answer;
                        return std::nullopt;
                    }
                    (void)out("* " + terminal_safe(r.error().message) + "\n" + editor_.render());
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
            for (;;) {
                auto m = client_.next_message();
                if (!m) return m.error();
                if (!*m) break;
                if (auto f = on_message(**m); f) return *f;
            }
            if (quitting_ && pending_.empty() && !client_.wants_write()) return failure{0, ""};

            // Input waits for the subscription, so the backlog comes before anything we do.
            bool want_input = subscribed_ && !input_eof && !quitting_;
            pollfd fds[2] = {{want_input ? STDIN_FILENO : -1, POLLIN, 0},
                             {client_.fd(), client_.poll_events(), 0}};
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return connection_lost();
            }
            if (fds[1].revents & POLLOUT)
                if (auto w = client_.on_writable(); !w) return w.error();
            if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
                if (auto r = client_.on_readable(); !r) return r.error();
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
            for (ssize_t i = 0; i < n && !quitting_; ++i) {
                if (auto f = on_key(static_cast<unsigned char>(buf[i])); f) return *f;
            }
        }
    }

    std::optional<failure> on_key(unsigned char c) {
        switch (editor_.feed(c)) {
            case line_editor::outcome::none:
                return std::nullopt;
            case line_editor::outcome::echo:
                if (auto r = out(editor_.echo()); !r) return r.error();
                return std::nullopt;
            case line_editor::outcome::redraw:
                if (auto r = out(editor_.clear(columns()) + editor_.render()); !r) return r.error();
                return std::nullopt;
            case line_editor::outcome::quit:
                quitting_ = true;  // after the replies to what was already sent
                return std::nullopt;
            case line_editor::outcome::submit: {
                // The sent line vanishes from the prompt; it comes back as our own message
                // event, in the order everybody else sees it.
                std::string clear = editor_.clear(columns());
                std::string line = editor_.take_line();
                if (auto r = out(clear + editor_.render()); !r) return r.error();
                return on_line(std::move(line));
            }
        }
        return std::nullopt;
    }

    std::optional<failure> on_line(std::string line) {
        std::string_view text = line;
        if (trim(text).empty()) return std::nullopt;
        if (text.starts_with("//")) {
            text.remove_prefix(1);
        } else if (text.starts_with('/')) {
            return on_command(trim(text.substr(1)));
        }
        pending_[client_.request("send", {{"text", text}})] = pending_kind::send;
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
            pending_[client_.request("rename", {{"name", rest}})] = pending_kind::rename;
            return std::nullopt;
        }
        if (word == "peers") {
            pending_[client_.request("peers")] = pending_kind::peers;
            return std::nullopt;
        }
        if (word == "leave") {
            pending_[client_.request("leave")] = pending_kind::leave;
            return std::nullopt;
        }
        if (word == "help") return show_line(std::string(room_help));
        return show_line("* unknown command /" + terminal_safe(word) + " (try /help)");
    }

    std::optional<failure> on_message(message& m) {
        if (auto* n = std::get_if<notification>(&m)) {
            json::object const empty;
            auto const& params = n->params.is_object() ? n->params.as_object() : empty;
            if (n->method == "event") {
                std::string clear = interactive_ ? editor_.clear(columns()) : std::string();
                if (string_field(params, "type") == "peer_renamed") track_own_rename(params);
                if (auto line = human_event(params, style_)) return show_line(*line, clear);
            } else if (n->method == "error") {
                int code = static_cast<int>(int_field(params, "code"));
                return failure{rpc::exit_status_for(code),
                               std::string(string_field(params, "message"))};
            }
            return std::nullopt;
        }
        auto& r = std::get<reply>(m);
        auto it = pending_.find(r.id);
        if (it == pending_.end()) return std::nullopt;
        pending_kind kind = it->second;
        pending_.erase(it);
        if (r.error) {
            if (kind == pending_kind::subscribe) return *r.error;
            return show_line("* " + terminal_safe(r.error->message));
        }
        json::object const empty;
        auto const& res = r.result.is_object() ? r.result.as_object() : empty;
        switch (kind) {
            case pending_kind::subscribe:
                subscribed_ = true;
                return std::nullopt;
            case pending_kind::send:
                return std::nullopt;
            case pending_kind::rename: {
                // The daemon's peer_renamed event tells the room; here only the prompt changes.
                std::string clear = interactive_ ? editor_.clear(columns()) : std::string();
                set_name(std::string(string_field(res, "name")));
                if (!interactive_) return std::nullopt;
                if (auto w = out(clear + editor_.render()); !w) return w.error();
                return std::nullopt;
            }
            case pending_kind::peers: {
                auto const* peers = res.if_contains("peers");
                if (!peers || !peers->is_array()) return unexpected_reply("peers");
                std::string table = peers_table(peers->as_array());
                if (!table.empty() && table.back() == '\n') table.pop_back();
                return show_line(table);
            }
            case pending_kind::leave:
                return show_line("* you left the network; /quit, or p2pchatctl join to rejoin");
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

    rpc_client& client_;
    bool interactive_;
    style style_;
    raw_mode raw_;
    line_editor editor_;
    std::string name_;
    bool drawn_ = false;       // the prompt is on screen (interactive, after start-up)
    bool subscribed_ = false;  // the subscribe reply (after the backlog) has arrived
    bool quitting_ = false;    // /quit or end of input: stop reading, drain replies, exit
    std::map<std::int64_t, pending_kind> pending_;
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

    // A dumb terminal (TERM=dumb, or none) cannot move the cursor: read whole lines.
    bool interactive =
        ::isatty(STDIN_FILENO) == 1 && ::isatty(STDOUT_FILENO) == 1 && !dumb_terminal();
    return chat_room(*client, interactive).run(std::string(string_field(st->as_object(), "name")));
}

}  // namespace p2pchat::ctl
