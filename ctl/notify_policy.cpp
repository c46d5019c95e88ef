#include "ctl/notify_policy.hpp"

namespace p2pchat::ctl {

namespace {

constexpr std::size_t max_lines = 4;         // lines of a coalesced desktop_notification's body
constexpr std::size_t max_line_bytes = 200;  // a long message is cut in the bubble

std::string shorten(std::string_view text) {
    if (text.size() <= max_line_bytes) return std::string(text);
    std::size_t cut = max_line_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    return std::string(text.substr(0, cut)) + "\xe2\x80\xa6";  // …
}

}  // namespace

std::string notify_policy::escape_markup(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

bool notify_policy::allowed(std::int64_t now_ms) {
    while (!recent_posts_.empty() && now_ms - recent_posts_.front() >= settings_.window_ms)
        recent_posts_.pop_front();
    return recent_posts_.size() < settings_.burst;
}

std::optional<desktop_notification> notify_policy::on_message(boost::json::object const& event,
                                                              name_book const& names,
                                                              std::int64_t now_ms) {
    if (string_field(event, "type") != "message") return std::nullopt;
    auto const* self = event.if_contains("self");
    if (self && self->is_bool() && self->as_bool()) return std::nullopt;  // your own
    std::string_view const text = string_field(event, "text");
    bool const mention = mentions(text, self_name_);
    if (settings_.mentions_only && !mention) return std::nullopt;
    if (!allowed(now_ms)) {
        ++held_;
        return std::nullopt;
    }

    std::string const from(string_field(event, "from"));
    std::string const name = terminal_safe(names.display(from, string_field(event, "name")));
    std::string line = shorten(terminal_safe(
        me_action(text) ? "* " + name + " " + std::string(*me_action(text)) : std::string(text)));
    thread& t = threads_[from];
    bool const coalesce =
        settings_.coalesce_ms > 0 && t.id != 0 && now_ms - t.last_ms <= settings_.coalesce_ms;
    if (!coalesce) {
        t.count = 0;
        t.lines.clear();
    }
    ++t.count;
    t.lines.push_back(std::move(line));
    while (t.lines.size() > max_lines) t.lines.pop_front();
    t.last_ms = now_ms;

    desktop_notification n;
    n.key = from;
    n.replaces = coalesce ? t.id : 0;
    n.summary = t.count > 1 ? name + " (" + std::to_string(t.count) + " messages)" : name;
    for (auto const& l : t.lines) n.body += (n.body.empty() ? "" : "\n") + escape_markup(l);
    recent_posts_.push_back(now_ms);
    return n;
}

void notify_policy::posted(std::string const& key, std::uint32_t id, std::int64_t now_ms) {
    thread& t = threads_[key];
    t.id = id;
    t.last_ms = now_ms;
}

std::optional<desktop_notification> notify_policy::on_tick(std::int64_t now_ms) {
    if (held_ == 0 || !allowed(now_ms)) return std::nullopt;
    thread& t = threads_["more"];
    desktop_notification n;
    n.key = "more";
    n.replaces = t.id;  // one summary, updated in place
    n.summary = "p2pchat";
    n.body = std::to_string(held_) + " more message" + (held_ == 1 ? "" : "s") +
             " (p2pchatctl tail shows them)";
    held_ = 0;
    recent_posts_.push_back(now_ms);
    return n;
}

std::int64_t notify_policy::next_tick_in(std::int64_t now_ms) const {
    if (held_ == 0) return -1;
    if (recent_posts_.size() < settings_.burst) return 0;
    return std::max<std::int64_t>(0, recent_posts_.front() + settings_.window_ms - now_ms);
}

}  // namespace p2pchat::ctl
