#include "ctl/resume.hpp"

#include <charconv>

#include "ctl/format.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {

// The value of "key": in a serialized object, as text (a string's contents or a number), when
// it appears before position `before` (the end) or after `from`. Field names never occur
// unescaped inside JSON string values, so a plain search is exact for our own serialization.
std::string_view raw_field(std::string_view line, std::string_view key, bool last) {
    std::string const needle = "\"" + std::string(key) + "\":";
    std::size_t const at = last ? line.rfind(needle) : line.find(needle);
    if (at == line.npos) return {};
    std::string_view rest = line.substr(at + needle.size());
    if (rest.starts_with('"')) {
        rest.remove_prefix(1);
        return rest.substr(0, rest.find('"'));
    }
    return rest.substr(0, rest.find_first_of(",}"));
}

std::int64_t to_int(std::string_view s) {
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

}  // namespace

json::object resume_point::reconnected(std::int64_t pid) {
    if (pid_ != 0 && pid != pid_) restarted_ = true;
    bool const same = pid_ == pid;
    pid_ = pid;
    if (same) return {{"since", last_seq_}};
    return {{"since", 0}};
}

void resume_point::remember(std::string_view type, std::string_view id, std::uint64_t seq,
                            std::int64_t time_ms) {
    last_seq_ = seq;
    if (time_ms > last_time_ms_) last_time_ms_ = time_ms;
    if (first_time_ms_ < 0 || time_ms < first_time_ms_) first_time_ms_ = time_ms;
    if (type != "message" || id.empty()) return;
    ids_[next_id_] = std::hash<std::string_view>{}(id);
    next_id_ = (next_id_ + 1) % max_ids;
    if (id_count_ < max_ids) ++id_count_;
}

bool resume_point::seen_id(std::string_view id) const {
    // A 64-bit hash: two different ids colliding among the last 4096 is not a real risk.
    auto const h = std::hash<std::string_view>{}(id);
    for (std::size_t i = 0; i < id_count_; ++i)
        if (ids_[i] == h) return true;
    return false;
}

void resume_point::saw(json::object const& event) {
    remember(string_field(event, "type"), string_field(event, "id"),
             static_cast<std::uint64_t>(int_field(event, "seq")), int_field(event, "time_ms"));
}

void resume_point::saw_line(std::string_view line) {
    // seq and time_ms are stamped last; type and a message's id come first.
    remember(raw_field(line, "type", false), raw_field(line, "id", false),
             static_cast<std::uint64_t>(to_int(raw_field(line, "seq", true))),
             to_int(raw_field(line, "time_ms", true)));
}

bool resume_point::wanted(std::string_view type, std::string_view id, std::int64_t time_ms,
                          std::int64_t sent_ms) const {
    if (!restarted_) return true;
    if (type == "message") {
        if (seen_id(id)) return false;
        // A message not seen yet: new, or history the restarted node was handed again when
        // it rejoined. History older than where following began was never ours to show.
        (void)time_ms;
        return sent_ms >= first_time_ms_;
    }
    return time_ms > last_time_ms_;
}

bool resume_point::wanted(json::object const& event) const {
    return wanted(string_field(event, "type"), string_field(event, "id"),
                  int_field(event, "time_ms"), int_field(event, "sent_ms"));
}

bool resume_point::wanted_line(std::string_view line) const {
    if (!restarted_) return true;
    return wanted(raw_field(line, "type", false), raw_field(line, "id", false),
                  to_int(raw_field(line, "time_ms", true)),
                  to_int(raw_field(line, "sent_ms", false)));
}

}  // namespace p2pchat::ctl
