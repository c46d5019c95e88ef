#include "ctl/time_spec.hpp"

#include <cctype>
#include <charconv>
#include <ctime>
#include <string>

namespace p2pchat::ctl {

namespace {

constexpr std::int64_t second_ms = 1000;

std::string lower_trimmed(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    std::string out;
    for (char c : s) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Reads a run of digits (at most max_digits) as a number; advances s.
std::optional<std::int64_t> digits(std::string_view& s, std::size_t max_digits = 18) {
    std::size_t n = 0;
    while (n < s.size() && n < max_digits && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
    if (n == 0) return std::nullopt;
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + n, v);
    s.remove_prefix(n);
    return v;
}

bool take(std::string_view& s, char c) {
    if (s.empty() || s.front() != c) return false;
    s.remove_prefix(1);
    return true;
}

// Local midnight of the day `days` from the day of now_ms.
std::int64_t local_midnight(std::int64_t now_ms, int days) {
    std::time_t t = static_cast<std::time_t>(now_ms / second_ms);
    std::tm tm{};
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_mday += days;
    tm.tm_isdst = -1;
    return static_cast<std::int64_t>(std::mktime(&tm)) * second_ms;
}

// "HH:MM[:SS]" to milliseconds after midnight; the whole of s must be used.
std::optional<std::int64_t> clock_ms(std::string_view s) {
    auto h = digits(s, 2);
    if (!h || !take(s, ':')) return std::nullopt;
    auto m = digits(s, 2);
    if (!m) return std::nullopt;
    std::int64_t sec = 0;
    if (take(s, ':')) {
        auto v = digits(s, 2);
        if (!v) return std::nullopt;
        sec = *v;
    }
    if (!s.empty() || *h > 23 || *m > 59 || sec > 59) return std::nullopt;
    return ((*h * 60 + *m) * 60 + sec) * second_ms;
}

// A wall-clock time on a given local day (handles DST by going through mktime).
std::int64_t at_local(std::int64_t midnight_ms, std::int64_t clock) {
    std::time_t t = static_cast<std::time_t>(midnight_ms / second_ms);
    std::tm tm{};
    localtime_r(&t, &tm);
    std::int64_t const secs = clock / second_ms;
    tm.tm_hour = static_cast<int>(secs / 3600);
    tm.tm_min = static_cast<int>(secs / 60 % 60);
    tm.tm_sec = static_cast<int>(secs % 60);
    tm.tm_isdst = -1;
    return static_cast<std::int64_t>(std::mktime(&tm)) * second_ms;
}

std::optional<std::int64_t> unit_ms(std::string_view unit) {
    if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" || unit == "seconds")
        return second_ms;
    if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" || unit == "minutes")
        return 60 * second_ms;
    if (unit == "h" || unit == "hr" || unit == "hrs" || unit == "hour" || unit == "hours")
        return 3600 * second_ms;
    if (unit == "d" || unit == "day" || unit == "days") return 86400 * second_ms;
    if (unit == "w" || unit == "week" || unit == "weeks") return 7 * 86400 * second_ms;
    return std::nullopt;
}

// "10m", "1h30m", "10 min", "1 hour 5 min": a duration; the whole of s must be used.
std::optional<std::int64_t> duration_ms(std::string_view s) {
    std::int64_t total = 0;
    bool any = false;
    while (!s.empty()) {
        while (take(s, ' ')) {
        }
        if (s.empty()) break;
        auto n = digits(s, 9);
        if (!n) return std::nullopt;
        while (take(s, ' ')) {
        }
        std::size_t len = 0;
        while (len < s.size() && std::isalpha(static_cast<unsigned char>(s[len]))) ++len;
        auto unit = unit_ms(s.substr(0, len));
        if (!unit) return std::nullopt;
        s.remove_prefix(len);
        total += *n * *unit;
        any = true;
    }
    if (!any) return std::nullopt;
    return total;
}

std::optional<std::int64_t> date_time(std::string_view s) {
    auto y = digits(s, 4);
    if (!y || !take(s, '-')) return std::nullopt;
    auto mo = digits(s, 2);
    if (!mo || !take(s, '-')) return std::nullopt;
    auto d = digits(s, 2);
    if (!d || *y < 1970 || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return std::nullopt;
    std::int64_t clock = 0;
    bool utc = false;
    if (!s.empty()) {
        if (!take(s, ' ') && !take(s, 't')) return std::nullopt;
        if (s.ends_with('z')) {
            utc = true;
            s.remove_suffix(1);
        }
        auto c = clock_ms(s);
        if (!c) return std::nullopt;
        clock = *c;
    }
    std::tm tm{};
    tm.tm_year = static_cast<int>(*y - 1900);
    tm.tm_mon = static_cast<int>(*mo - 1);
    tm.tm_mday = static_cast<int>(*d);
    std::int64_t const secs = clock / second_ms;
    tm.tm_hour = static_cast<int>(secs / 3600);
    tm.tm_min = static_cast<int>(secs / 60 % 60);
    tm.tm_sec = static_cast<int>(secs % 60);
    tm.tm_isdst = -1;
    std::time_t const t = utc ? timegm(&tm) : std::mktime(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    if (tm.tm_mday != static_cast<int>(*d)) return std::nullopt;  // 2026-02-31
    return static_cast<std::int64_t>(t) * second_ms;
}

}  // namespace

std::optional<time_spec> parse_time_spec(std::string_view text, std::int64_t now_ms, bound b) {
    std::string const lowered = lower_trimmed(text);
    std::string_view s = lowered;
    if (s.empty()) return std::nullopt;

    if (s.find_first_not_of("0123456789") == s.npos) {
        std::string_view rest = s;
        auto n = digits(rest);
        if (!n || !rest.empty()) return std::nullopt;
        return event_number{*n};
    }
    if (s.front() == '@') {
        std::string_view rest = s.substr(1);
        auto n = digits(rest, 12);
        if (!n || !rest.empty()) return std::nullopt;
        return point_in_time{*n * second_ms};
    }
    if (s == "now") return point_in_time{now_ms};
    for (auto [word, days] :
         {std::pair{std::string_view("today"), 0}, {"yesterday", -1}, {"tomorrow", 1}}) {
        if (!s.starts_with(word)) continue;
        std::string_view rest = s.substr(word.size());
        std::int64_t const midnight = local_midnight(now_ms, days);
        if (rest.empty()) return point_in_time{midnight};
        if (!take(rest, ' ')) return std::nullopt;
        auto c = clock_ms(rest);
        if (!c) return std::nullopt;
        return point_in_time{at_local(midnight, *c)};
    }
    if (auto c = clock_ms(s)) {
        std::int64_t t = at_local(local_midnight(now_ms, 0), *c);
        if (b == bound::since && t > now_ms) t = at_local(local_midnight(now_ms, -1), *c);
        return point_in_time{t};
    }
    if (auto t = date_time(s)) return point_in_time{*t};
    if (s.front() == '-') {
        if (auto d = duration_ms(s.substr(1))) return point_in_time{now_ms - *d};
        return std::nullopt;
    }
    if (s.ends_with(" ago")) s.remove_suffix(4);
    if (auto d = duration_ms(s)) return point_in_time{now_ms - *d};
    return std::nullopt;
}

std::string time_spec_hint() {
    return "a time or date in local time (2026-11-25 14:00, 14:00, yesterday) or an age (10m, "
           "2h, \"1 hour ago\")";
}

}  // namespace p2pchat::ctl
