#include "ctl/resume.hpp"

#include <algorithm>
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

json::object resume_point::reconnected(std::int64_t pid, std::string_view node_id,
                                       std::uint64_t event_seq) {
    bool const first = pid_ == 0;
    bool const same = pid_ == pid;
    // The same node numbers on from where it was: a daemon that has not reached our number
    // is not the numbering we followed (its state directory was replaced, say).
    bool const numbered_on = !node_id.empty() && node_id == node_id_ && event_seq >= last_seq_;
    pid_ = pid;
    node_id_ = std::string(node_id);
    if (first || same) return {{"since", last_seq_}};
    restarted_ = true;
    exact_ = numbered_on;
    return {{"since", exact_ ? last_seq_ : 0}};
}

json::object resume_point::reconnected(json::object const& status) {
    return reconnected(int_field(status, "pid"), string_field(status, "id"),
                       static_cast<std::uint64_t>(int_field(status, "event_seq")));
}

void resume_point::follow_after(std::uint64_t seq, std::vector<json::object> const& shown) {
    for (auto const& m : shown) {
        saw(m);
        if (auto const s = static_cast<std::uint64_t>(int_field(m, "seq")); s > seq)
            shown_ahead_.push_back(s);
    }
    std::sort(shown_ahead_.begin(), shown_ahead_.end());
    last_seq_ = seq;
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

bool resume_point::wanted(std::string_view type, std::string_view id, std::uint64_t seq,
                          std::int64_t time_ms, std::int64_t sent_ms) const {
    if (!shown_ahead_.empty() && type == "message" &&
        std::binary_search(shown_ahead_.begin(), shown_ahead_.end(), seq))
        return false;
    if (!restarted_) return true;
    if (type == "message") {
        if (seen_id(id)) return false;
        // A message not seen yet: new, or history the restarted node was handed again when
        // it rejoined. History older than where following began was never ours to show.
        return exact_ || sent_ms >= first_time_ms_;
    }
    return exact_ || time_ms > last_time_ms_;
}

bool resume_point::wanted(json::object const& event) const {
    return wanted(string_field(event, "type"), string_field(event, "id"),
                  static_cast<std::uint64_t>(int_field(event, "seq")), int_field(event, "time_ms"),
                  int_field(event, "sent_ms"));
}

bool resume_point::wanted_line(std::string_view line) const {
    if (!restarted_ && shown_ahead_.empty()) return true;
    return wanted(raw_field(line, "type", false), raw_field(line, "id", false),
                  static_cast<std::uint64_t>(to_int(raw_field(line, "seq", true))),
                  to_int(raw_field(line, "time_ms", true)),
                  to_int(raw_field(line, "sent_ms", false)));
}

}  // namespace p2pchat::ctl
