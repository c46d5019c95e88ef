#pragma once
// Child processes, temporary directories and bounded waits for tests. Everything here is
// single-threaded and owned by the test that creates it: every child process is killed
// (SIGKILL) and reaped, and every temporary directory removed, when its owner goes out of
// scope, also when an assertion fails half-way. Every wait has a deadline.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2pchat::test {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

// How long run_process() (one p2pchatctl invocation) may take by default before it is killed.
inline constexpr milliseconds ctl_timeout = 15s;

// A temporary directory under /tmp (short, so Unix socket paths stay under 108 bytes),
// removed with its contents on destruction.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(temp_dir const&) = delete;
    temp_dir& operator=(temp_dir const&) = delete;
    std::filesystem::path const& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// What a finished process left behind. `status` is the exit code, or 128 + signal number
// when it was killed by a signal (as a shell reports it).
struct process_result {
    int status = -1;
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Standard streams of a spawned child. Each is either inherited from a file descriptor the
// caller passes, or (fd < 0) a new pipe whose other end the child_process keeps.
struct stdio_spec {
    int in = -2;   // -2: new pipe; -1: /dev/null; >= 0: this fd
    int out = -2;  // -2: new pipe; >= 0: this fd
    int err = -2;  // -2: new pipe; -3: stdout's (one stream for both); >= 0: this fd
};

// The rest of a child's start: its environment and what systemd would pass it.
struct spawn_options {
    // "NAME=value" entries added to the test's environment, replacing the same names.
    std::vector<std::string> env{};
    // Inherited variables whose "NAME=" starts with one of these are left out.
    std::vector<std::string> unset{};
    // Passed to the child as fd 3 (socket activation); -1: none.
    int fd3 = -1;
    // Variables set to the child's own pid (LISTEN_PID, WATCHDOG_PID).
    std::vector<std::string> pid_vars{};
};

// One running child. The destructor kills it (SIGKILL) and reaps it if it is still running;
// PR_SET_PDEATHSIG kills it too if the test process dies without unwinding (a ctest timeout).
// Pipes are close-on-exec in the parent, so no child inherits another's pipe ends.
class child_process {
  public:
    child_process(std::vector<std::string> const& argv, stdio_spec io = {},
                  spawn_options const& options = {});
    ~child_process();
    child_process(child_process&& other) noexcept;
    child_process& operator=(child_process&&) = delete;
    child_process(child_process const&) = delete;

    pid_t pid() const { return pid_; }
    int stdin_fd() const { return in_; }
    int stdout_fd() const { return out_; }
    int stderr_fd() const { return err_; }
    void close_stdin();

    // Non-blocking: the exit status if the child has ended (see process_result::status).
    std::optional<int> try_wait();
    // Waits until the child ends or the timeout passes; nullopt on timeout.
    std::optional<int> wait_for(milliseconds timeout);
    // Sends a signal (no-op once reaped).
    void signal(int sig);
    // SIGKILL and reap; returns the status.
    int kill_and_reap();
    bool running() { return !try_wait().has_value(); }

    // Writes all of `input` to stdin, reads stdout and stderr until both reach EOF and the
    // process ends, or the deadline passes (then SIGKILL, timed_out = true).
    process_result communicate(std::string_view input, milliseconds timeout);

  private:
    pid_t pid_ = -1;
    std::optional<int> status_;
    int in_ = -1, out_ = -1, err_ = -1;
};

// Starts a child whose stdout and stderr append to the file at `log` (created 0600), stdin
// /dev/null: a daemon whose log a test reads afterwards.
child_process spawn_logged(std::vector<std::string> const& argv, std::filesystem::path const& log,
                           spawn_options const& options = {});

// The first sanitizer report (AddressSanitizer, LeakSanitizer, UndefinedBehaviorSanitizer) in
// a process's output, a few lines of it; empty when there is none. In the asan build every
// program is instrumented, and a report in a child's output fails the test that ran it.
std::string sanitizer_report(std::string_view output);

// Runs a program to completion with a timeout (killed when it passes). A sanitizer report on
// its stderr fails the current test.
process_result run_process(std::vector<std::string> const& argv, std::string_view input = {},
                           milliseconds timeout = ctl_timeout);

// Polls `pred` (every 20 ms at first, backing off to 100 ms) until it returns true or the
// timeout passes. Returns the last value of pred.
bool wait_until(std::function<bool()> const& pred, milliseconds timeout);

// Milliseconds left until the deadline, clamped to [0, 1000 s] (for poll(2)).
int remaining_ms(steady::time_point deadline);
// Reads what is available on a non-blocking fd into out; false at EOF or on a hard error.
bool drain(int fd, std::string& out);
// Throws std::system_error for errno, saying what failed.
[[noreturn]] void throw_errno(std::string const& what);

}  // namespace p2pchat::test
