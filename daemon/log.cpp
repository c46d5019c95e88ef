#include "daemon/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace p2pchat::daemon {

namespace {

log_level current_level = log_level::info;

// True when stderr is the journal's stream socket (see systemd.exec(5), JOURNAL_STREAM).
bool stderr_is_journal() {
    static bool const answer = [] {
        char const* stream = std::getenv("JOURNAL_STREAM");
        if (!stream) return false;
        struct stat st {};
        if (fstat(STDERR_FILENO, &st) != 0) return false;
        unsigned long long dev = 0, ino = 0;
        if (std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
        return st.st_dev == dev && st.st_ino == ino;
    }();
    return answer;
}

}  // namespace

bool parse_log_level(std::string_view text, log_level& out) {
    if (text == "error")
        out = log_level::error;
    else if (text == "warning")
        out = log_level::warning;
    else if (text == "notice")
        out = log_level::notice;
    else if (text == "info")
        out = log_level::info;
    else if (text == "debug")
        out = log_level::debug;
    else
        return false;
    return true;
}

void set_log_level(log_level level) { current_level = level; }

bool log_enabled(log_level level) {
    return static_cast<int>(level) <= static_cast<int>(current_level);
}

void write_log_line(log_level level, std::string_view line) {
    std::string out;
    if (stderr_is_journal()) {
        out = "<" + std::to_string(static_cast<int>(level)) + ">";
    } else {
        auto const now = std::chrono::system_clock::now();
        std::time_t const t = std::chrono::system_clock::to_time_t(now);
        auto const ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
            1000;
        std::tm tm{};
        localtime_r(&t, &tm);
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "%02d:%02d:%02d.%03lld ", tm.tm_hour, tm.tm_min,
                      tm.tm_sec, static_cast<long long>(ms));
        out = stamp;
    }
    out.append(line);
    out.push_back('\n');
    // One write per line so lines from a crash or a concurrent writer never interleave.
    (void)!::write(STDERR_FILENO, out.data(), out.size());
}

}  // namespace p2pchat::daemon
