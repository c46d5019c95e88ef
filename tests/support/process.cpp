#include "tests/support/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

extern char** environ;

namespace p2pchat::test {

namespace fs = std::filesystem;

namespace {

// Writing to a pipe whose reader has gone (a killed child) must be an error value here,
// never the end of the test binary. Children get the default disposition back before exec.
[[maybe_unused]] auto const sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
}();

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

// Writes the decimal digits of n and a NUL at buf; async-signal-safe (used after fork).
void format_pid(char* buf, long n) {
    std::size_t i = 0;
    char digits[24];
    int d = 0;
    do {
        digits[d++] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n > 0);
    while (d > 0) buf[i++] = digits[--d];
    buf[i] = '\0';
}

bool has_prefix_of(std::string_view entry, std::vector<std::string> const& prefixes) {
    for (auto const& p : prefixes)
        if (entry.starts_with(p)) return true;
    return false;
}

// The child's environment: the test's, less what is unset or overridden, plus the overrides.
std::vector<std::string> child_environment(spawn_options const& o) {
    std::vector<std::string> out;
    for (char** e = environ; *e; ++e) {
        std::string_view const v = *e;
        std::string_view const name = v.substr(0, v.find('=') + 1);
        bool drop = has_prefix_of(v, o.unset);
        for (auto const& kv : o.env)
            if (std::string_view(kv).substr(0, kv.find('=') + 1) == name) drop = true;
        for (auto const& p : o.pid_vars)
            if (name.size() == p.size() + 1 && name.starts_with(p)) drop = true;
        if (!drop) out.emplace_back(v);
    }
    out.insert(out.end(), o.env.begin(), o.env.end());
    return out;
}

}  // namespace

[[noreturn]] void throw_errno(std::string const& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

int remaining_ms(steady::time_point deadline) {
    auto const left = std::chrono::duration_cast<milliseconds>(deadline - steady::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, 1000 * 1000));
}

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

child_process::child_process(std::vector<std::string> const& argv, stdio_spec io,
                             spawn_options const& options) {
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
    int const err_src = io.err == -2 ? err_pipe[1] : io.err == -3 ? out_src : io.err;
    std::vector<char*> args;
    for (auto const& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Everything the child needs is allocated before fork: after it, only
    // async-signal-safe calls.
    std::vector<std::string> env = child_environment(options);
    std::vector<std::string> pid_entries;  // "NAME=" plus room for the digits
    for (auto const& p : options.pid_vars) pid_entries.push_back(p + "=" + std::string(24, '\0'));
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    for (auto& e : pid_entries) envp.push_back(e.data());
    envp.push_back(nullptr);
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
        if (options.fd3 == 3)
            ::fcntl(3, F_SETFD, 0);
        else if (options.fd3 >= 0 && ::dup2(options.fd3, 3) < 0)  // the copy is not CLOEXEC
            ::_exit(127);
        long const self = static_cast<long>(::getpid());
        for (std::size_t i = 0; i < pid_entries.size(); ++i)
            format_pid(pid_entries[i].data() + options.pid_vars[i].size() + 1, self);
        // Default signal handling and an empty mask, as when started from a shell.
        struct sigaction dfl {};
        dfl.sa_handler = SIG_DFL;
        for (int sig : {SIGPIPE, SIGTERM, SIGINT}) ::sigaction(sig, &dfl, nullptr);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(args[0], args.data(), envp.data());
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

child_process spawn_logged(std::vector<std::string> const& argv, fs::path const& log,
                           spawn_options const& options) {
    int const log_fd =
        ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
    if (log_fd < 0) throw_errno("open " + log.string());
    try {
        child_process child(argv, stdio_spec{-1, log_fd, log_fd}, options);
        ::close(log_fd);
        return child;
    } catch (...) {
        ::close(log_fd);
        throw;
    }
}

std::string sanitizer_report(std::string_view output) {
    static constexpr std::string_view markers[] = {"ERROR: AddressSanitizer",
                                                   "ERROR: LeakSanitizer", ": runtime error: "};
    std::size_t at = std::string_view::npos;
    for (auto const m : markers) at = std::min(at, output.find(m));
    if (at == std::string_view::npos) return {};
    std::size_t const line = output.rfind('\n', at);
    std::string_view report = output.substr(line == std::string_view::npos ? 0 : line + 1);
    std::size_t end = 0;
    for (int lines = 0; lines < 12 && end != std::string_view::npos; ++lines)
        end = report.find('\n', end == 0 ? 0 : end + 1);
    return std::string(report.substr(0, end));
}

process_result run_process(std::vector<std::string> const& argv, std::string_view input,
                           milliseconds timeout) {
    child_process child(argv);
    auto r = child.communicate(input, timeout);
    if (auto const report = sanitizer_report(r.err); !report.empty())
        ADD_FAILURE() << argv.front() << " reported:\n" << report;
    return r;
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

}  // namespace p2pchat::test
