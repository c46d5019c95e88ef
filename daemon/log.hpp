#pragma once
// Logging to stderr: sd-daemon "<N>" priority prefixes when stderr is the journal
// (JOURNAL_STREAM matches it), a timestamp otherwise. Single-threaded use only.
#include <sstream>
#include <string>
#include <string_view>

namespace p2pchat::daemon {

// Values are syslog priorities, as the journal expects them.
enum class log_level { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

bool parse_log_level(std::string_view text, log_level& out);
void set_log_level(log_level level);
bool log_enabled(log_level level);
void write_log_line(log_level level, std::string_view line);

template <typename... Args>
void log(log_level level, Args const&... args) {
    if (!log_enabled(level)) return;
    std::ostringstream out;
    (out << ... << args);
    write_log_line(level, out.str());
}

}  // namespace p2pchat::daemon
