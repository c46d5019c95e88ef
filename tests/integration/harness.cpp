#include "tests/integration/harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace p2pchat::integration {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Writing to a pipe whose reader has gone (a killed child) must be an error value here,
// never the end of the test binary. Children get the default disposition back before exec.
[[maybe_unused]] auto const sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

[[noreturn]] void throw_errno(std::string const& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
}

void set_nonblocking(int fd) {
    int const flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw_errno("fcntl");
}

int decode_status(int raw) {
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
    return -1;
}

int remaining_ms(steady::time_point deadline) {
    auto const left = std::chrono::duration_cast<milliseconds>(deadline - steady::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1000 * 1000));
}

// Reads what is available on a non-blocking fd into out; false at EOF or on a hard error.
bool drain(int fd, std::string& out) {
    char buf[65536];
    for (;;) {
        ssize_t const n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            continue;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

}  // namespace

// ---------------------------------------------------------------- temp_dir

temp_dir::temp_dir() {
    std::string templ = "/tmp/p2pchat-it-XXXXXX";
    if (!::mkdtemp(templ.data())) throw_errno("mkdtemp");
    path_ = templ;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

// ---------------------------------------------------------------- child_process

child_process::child_process(std::vector<std::string> const& argv, stdio_spec io) {
    if (argv.empty()) throw std::invalid_argument("child_process: empty argv");
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    auto make_pipe = [](int(&p)[2]) {
        if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("pipe2");
    };
    if (io.in == -2) make_pipe(in_pipe);
    if (io.out == -2) make_pipe(out_pipe);
    if (io.err == -2) make_pipe(err_pipe);

    int const in_src = io.in == -2 ? in_pipe[0] : io.in;  // -1: /dev/null
    int const out_src = io.out == -2 ? out_pipe[1] : io.out;
    int const err_src = io.err == -2 ? err_pipe[1] : io.err;
    std::vector<char*> args;
    for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // The child reports a failed exec (its errno) here; a successful exec closes it (CLOEXEC).
    int report[2];
    if (::pipe2(report, O_CLOEXEC) < 0) throw_errno("pipe2");

    pid_t const parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
        // Only async-signal-safe calls from here to execve. The child dies with the test
        // process, even when that is killed (a ctest timeout) and no destructor runs.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || ::getppid() != parent) ::_exit(127);
        int const in_fd = in_src >= 0 ? in_src : ::open("/dev/null", O_RDONLY);
        if (::dup2(in_fd, 0) < 0 || ::dup2(out_src, 1) < 0 || ::dup2(err_src, 2) < 0) ::_exit(127);
        // Default signal handling and an empty mask, as when started from a shell.
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGPIPE, SIGTERM, SIGINT}) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(args[0], args.data(), environ);
        int const e = errno;
        [[maybe_unused]] auto const w = ::write(report[1], &e, sizeof e);
        ::_exit(127);
    }
    int const rc = pid_ < 0 ? errno : 0;
    ::close(report[1]);
    int exec_errno = 0;
    if (rc == 0) {
        ssize_t n;
        while ((n = ::read(report[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
        }
        if (n != static_cast<ssize_t>(sizeof exec_errno)) exec_errno = 0;
    }
    ::close(report[0]);
    if (exec_errno != 0) {
        int raw = 0;
        ::waitpid(pid_, &raw, 0);
    }

    for (int fd : {in_pipe[0], out_pipe[1], err_pipe[1]})
        if (fd >= 0) ::close(fd);
    in_ = in_pipe[1];
    out_ = out_pipe[0];
    err_ = err_pipe[0];
    if (rc != 0 || exec_errno != 0) {
        close_fd(in_);
        close_fd(out_);
        close_fd(err_);
        pid_ = -1;
        throw std::system_error(rc != 0 ? rc : exec_errno, std::generic_category(),
                                (rc != 0 ? "fork for " : "exec ") + argv[0]);
    }
    for (int fd : {in_, out_, err_})
        if (fd >= 0) set_nonblocking(fd);
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_(other.status_),
      in_(std::exchange(other.in_, -1)),
      out_(std::exchange(other.out_, -1)),
      err_(std::exchange(other.err_, -1)) {}

child_process::~child_process() {
    if (pid_ > 0 && !status_) kill_and_reap();
    close_fd(in_);
    close_fd(out_);
    close_fd(err_);
}

void child_process::close_stdin() { close_fd(in_); }

std::optional<int> child_process::try_wait() {
    if (status_ || pid_ <= 0) return status_;
    int raw = 0;
    pid_t const r = ::waitpid(pid_, &raw, WNOHANG);
    if (r == pid_) status_ = decode_status(raw);
    return status_;
}

std::optional<int> child_process::wait_for(milliseconds timeout) {
    auto const deadline = steady::now() + timeout;
    milliseconds step = 2ms;
    for (;;) {
        if (auto s = try_wait()) return s;
        if (steady::now() >= deadline) return std::nullopt;
        // Reaping has no pollable fd without pidfd plumbing; a short back-off poll is a wait
        // for a condition, not a fixed sleep.
        std::this_thread::sleep_for(step);
        step = std::min<milliseconds>(step * 2, 50ms);
    }
}

void child_process::signal(int sig) {
    if (pid_ > 0 && !try_wait()) ::kill(pid_, sig);
}

int child_process::kill_and_reap() {
    if (pid_ <= 0) return -1;
    if (status_) return *status_;
    ::kill(pid_, SIGKILL);
    int raw = 0;
    while (::waitpid(pid_, &raw, 0) < 0 && errno == EINTR) {
    }
    status_ = decode_status(raw);
    return *status_;
}

process_result child_process::communicate(std::string_view input, milliseconds timeout) {
    process_result r;
    auto const deadline = steady::now() + timeout;
    std::size_t written = 0;
    if (in_ >= 0 && input.empty()) close_stdin();
    while (in_ >= 0 || out_ >= 0 || err_ >= 0) {
        pollfd fds[3];
        nfds_t n = 0;
        int* owners[3];
        if (in_ >= 0) fds[n] = {in_, POLLOUT, 0}, owners[n++] = &in_;
        if (out_ >= 0) fds[n] = {out_, POLLIN, 0}, owners[n++] = &out_;
        if (err_ >= 0) fds[n] = {err_, POLLIN, 0}, owners[n++] = &err_;
        int const ms = remaining_ms(deadline);
        if (ms == 0) break;
        int const p = ::poll(fds, n, ms);
        if (p < 0 && errno != EINTR) throw_errno("poll");
        for (nfds_t i = 0; i < n && p > 0; ++i) {
            if (fds[i].revents == 0) continue;
            int& fd = *owners[i];
            if (&fd == &in_) {
                ssize_t const w = ::write(in_, input.data() + written, input.size() - written);
                if (w > 0) written += static_cast<std::size_t>(w);
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size())
                    close_stdin();
            } else if (!drain(fd, &fd == &out_ ? r.out : r.err)) {
                close_fd(fd);
            }
        }
    }
    if (auto s = wait_for(milliseconds(std::max(remaining_ms(deadline), 1)))) {
        r.status = *s;
    } else {
        r.timed_out = true;
        r.status = kill_and_reap();
    }
    if (out_ >= 0) drain(out_, r.out);
    if (err_ >= 0) drain(err_, r.err);
    if (out_ >= 0 || err_ >= 0) r.timed_out = true;  // still open at the deadline
    return r;
}

process_result run_process(std::vector<std::string> const& argv, std::string_view input,
                           milliseconds timeout) {
    child_process child(argv);
    return child.communicate(input, timeout);
}

bool wait_until(std::function<bool()> const& pred, milliseconds timeout) {
    auto const deadline = steady::now() + timeout;
    milliseconds step = 20ms;
    for (;;) {
        if (pred()) return true;
        if (steady::now() >= deadline) return pred();
        std::this_thread::sleep_for(step);
        step = std::min<milliseconds>(step + 20ms, 100ms);
    }
}

// ---------------------------------------------------------------- JSON helpers

std::optional<json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

std::string str(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t num(json::object const& o, std::string_view key) {
    auto const* v = o.if_contains(key);
    if (!v) return -1;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    return -1;
}

std::size_t count_messages(std::vector<json::object> const& events, std::string_view text) {
    return static_cast<std::size_t>(std::count_if(events.begin(), events.end(), [&](auto& e) {
        return str(e, "type") == "message" && str(e, "text") == text;
    }));
}

// ---------------------------------------------------------------- tail_reader

// Creates an unlinked temporary file: returns a write descriptor for the child's stdout and
// stores a separate read descriptor (its own file offset) in read_fd.
int tail_reader::open_output(int& read_fd) {
    std::string path = "/tmp/p2pchat-it-tail-XXXXXX";
    int const write_fd = ::mkostemp(path.data(), O_CLOEXEC);
    if (write_fd < 0) throw_errno("mkostemp");
    read_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ::unlink(path.c_str());
    if (read_fd < 0) {
        ::close(write_fd);
        throw_errno("open " + path);
    }
    return write_fd;
}

tail_reader::tail_reader(std::string const& socket_path, std::vector<std::string> extra_args)
    : proc_([&] {
          int const write_fd = open_output(read_fd_);
          std::vector<std::string> args{"tail", "--json"};
          args.insert(args.end(), extra_args.begin(), extra_args.end());
          try {
              child_process child(ctl_argv(socket_path, std::move(args)),
                                  stdio_spec{-1, write_fd, -2});
              ::close(write_fd);
              return child;
          } catch (...) {
              ::close(write_fd);
              close_fd(read_fd_);
              throw;
          }
      }()) {}

tail_reader::~tail_reader() { close_fd(read_fd_); }

tail_reader::tail_reader(tail_reader&& other) noexcept
    : read_fd_(std::exchange(other.read_fd_, -1)),
      proc_(std::move(other.proc_)),
      offset_(other.offset_),
      partial_(std::move(other.partial_)),
      err_(std::move(other.err_)),
      events_(std::move(other.events_)),
      bad_lines_(std::move(other.bad_lines_)) {}

void tail_reader::pump() {
    if (read_fd_ < 0) return;
    if (proc_.stderr_fd() >= 0) drain(proc_.stderr_fd(), err_);
    char buf[65536];
    for (;;) {
        ssize_t const n = ::pread(read_fd_, buf, sizeof buf, offset_);
        if (n <= 0) break;
        offset_ += n;
        partial_.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t start = 0;
    for (std::size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
        std::string_view line(partial_.data() + start, nl - start);
        if (auto o = parse_object(line))
            events_.push_back(std::move(*o));
        else
            bad_lines_.emplace_back(line);
    }
    partial_.erase(0, start);
}

bool tail_reader::wait_for(std::function<bool(std::vector<json::object> const&)> const& pred,
                           milliseconds timeout) {
    return wait_until(
        [&] {
            pump();
            return pred(events_);
        },
        timeout);
}

std::vector<json::object> tail_reader::messages() const { return of_type("message"); }

std::vector<json::object> tail_reader::of_type(std::string_view type) const {
    std::vector<json::object> out;
    for (auto const& e : events_)
        if (str(e, "type") == type) out.push_back(e);
    return out;
}

std::string tail_reader::stderr_text() {
    if (proc_.stderr_fd() >= 0) drain(proc_.stderr_fd(), err_);
    return err_;
}

// ---------------------------------------------------------------- node

std::vector<std::string> ctl_argv(std::string const& socket_path, std::vector<std::string> args) {
    std::vector<std::string> argv{P2PCHATCTL_PATH, "--socket", socket_path};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

namespace {

child_process start_daemon(node::options const& o, fs::path const& dir, std::string const& name,
                           std::string const& socket, fs::path const& log_path) {
    fs::path const state = o.state_dir.empty() ? dir / "state" : fs::path(o.state_dir);
    fs::create_directories(state);
    fs::permissions(state, fs::perms::owner_all);
    // An empty config file keeps a host's /etc/p2pchat/p2pchatd.conf out of the tests.
    std::ofstream(dir / "p2pchatd.conf").flush();
    std::vector<std::string> argv{P2PCHATD_PATH,
                                  "--name",
                                  name,
                                  "--listen",
                                  o.listen.empty() ? o.host + ":0" : o.listen,
                                  "--state-dir",
                                  state.string(),
                                  "--socket",
                                  socket,
                                  "--config",
                                  (dir / "p2pchatd.conf").string(),
                                  "--gossip-interval",
                                  std::to_string(o.gossip_interval_ms)};
    if (o.max_peers > 0) argv.insert(argv.end(), {"--max-peers", std::to_string(o.max_peers)});
    for (auto const& j : o.join) argv.insert(argv.end(), {"--join", j});
    argv.insert(argv.end(), o.extra.begin(), o.extra.end());
    int const log_fd =
        ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (log_fd < 0) throw_errno("open " + log_path.string());
    try {
        child_process child(argv, stdio_spec{-1, log_fd, log_fd});
        ::close(log_fd);
        return child;
    } catch (...) {
        ::close(log_fd);
        throw;
    }
}

}  // namespace

node::node(options o)
    : host_(o.host),
      name_(o.name.empty() ? "n-" + o.host : o.name),
      socket_(o.socket_path.empty() ? (dir_.path() / "ctl.sock").string() : o.socket_path),
      log_path_(dir_.path() / "daemon.log"),
      daemon_(start_daemon(o, dir_.path(), name_, socket_, log_path_)) {
    if (!o.wait_ready) return;
    std::optional<json::object> st;
    bool const ready = wait_until(
        [&] {
            if (!daemon_.running()) return true;
            auto r = ctl({"status", "--json"});
            if (r.status == 0) st = parse_object(r.out);
            return st.has_value();
        },
        15s);
    if (!ready || !st) {
        auto const exited = daemon_.try_wait();
        throw std::runtime_error(
            "p2pchatd on " + host_ +
            (exited ? " exited with status " + std::to_string(*exited) : " did not answer") +
            "; its log:\n" + log());
    }
    id_ = str(*st, "id");
    listen_ = str(*st, "listen");
    if (id_.size() != 64 || listen_.empty())
        throw std::runtime_error("status --json lacks id/listen: " + json::serialize(*st));
}

node::~node() {
    if (daemon_.running()) daemon_.kill_and_reap();
}

process_result node::ctl(std::vector<std::string> args, std::string_view input,
                         milliseconds timeout) const {
    return run_process(ctl_argv(socket_, std::move(args)), input, timeout);
}

json::object node::status() const {
    auto r = ctl({"status", "--json"});
    auto o = r.status == 0 ? parse_object(r.out) : std::nullopt;
    if (!o)
        throw std::runtime_error("status --json on " + host_ + " failed (" +
                                 std::to_string(r.status) + "): " + r.err + r.out);
    return *o;
}

json::array node::peers() const {
    auto r = ctl({"peers", "--json"});
    auto o = r.status == 0 ? parse_object(r.out) : std::nullopt;
    auto const* p = o ? o->if_contains("peers") : nullptr;
    if (!p || !p->is_array())
        throw std::runtime_error("peers --json on " + host_ + " failed (" +
                                 std::to_string(r.status) + "): " + r.err + r.out);
    return p->as_array();
}

std::vector<std::string> node::peer_ids() const {
    std::vector<std::string> ids;
    auto r = ctl({"peers", "--json"});
    auto o = r.status == 0 ? parse_object(r.out) : std::nullopt;
    auto const* p = o ? o->if_contains("peers") : nullptr;
    if (!p || !p->is_array()) return ids;
    for (auto const& e : p->as_array())
        if (e.is_object()) ids.push_back(str(e.as_object(), "id"));
    std::sort(ids.begin(), ids.end());
    return ids;
}

tail_reader node::tail(std::vector<std::string> extra_args) const {
    auto const before = num(status(), "subscribers");
    tail_reader reader(socket_, std::move(extra_args));
    bool const subscribed = wait_until(
        [&] {
            if (!reader.process().running()) return true;
            return num(status(), "subscribers") > before;
        },
        10s);
    if (!subscribed || !reader.process().running())
        throw std::runtime_error("p2pchatctl tail on " + host_ +
                                 " did not subscribe: " + reader.stderr_text());
    return reader;
}

std::optional<int> node::terminate(milliseconds timeout) {
    daemon_.signal(SIGTERM);
    return daemon_.wait_for(timeout);
}

std::uint16_t node::port() const {
    auto const colon = listen_.rfind(':');
    return static_cast<std::uint16_t>(std::stoi(listen_.substr(colon + 1)));
}

std::string node::log() const {
    std::ifstream f(log_path_);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string logs_of(std::vector<node const*> const& nodes) {
    std::string out;
    for (auto const* n : nodes) {
        std::string l = n->log();
        if (l.size() > 4000) l = "...\n" + l.substr(l.size() - 4000);
        out += "---- log of " + n->name() + " (" + n->host() + ") ----\n" + l;
    }
    return out;
}

// ---------------------------------------------------------------- raw sockets

int tcp_connect(std::string const& host, std::uint16_t port) {
    int const fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
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

}  // namespace p2pchat::integration
