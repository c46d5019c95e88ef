#include "ctl/format.hpp"

#include <algorithm>
#include <boost/json/value.hpp>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <string_view>
#include <vector>

namespace p2pchat::ctl {

namespace json = boost::json;

std::string_view string_field(json::object const& o, std::string_view key) {
    if (auto const* v = o.if_contains(key); v && v->is_string()) return v->as_string();
    return {};
}

std::int64_t int_field(json::object const& o, std::string_view key, std::int64_t fallback) {
    if (auto const* v = o.if_contains(key)) {
        if (v->is_int64()) return v->as_int64();
        if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    }
    return fallback;
}

namespace {

json::object const& object_field(json::object const& o, std::string_view key) {
    static json::object const empty;
    if (auto const* v = o.if_contains(key); v && v->is_object()) return v->as_object();
    return empty;
}

std::string short_id(json::object const& peer) {
    if (auto s = string_field(peer, "short_id"); !s.empty()) return std::string(s);
    return std::string(string_field(peer, "id").substr(0, 8));
}

// A stable colour per node id, so a name keeps its colour across lines and sessions.
std::string coloured(std::string_view text, std::string_view node_id, style const& s) {
    std::string safe = terminal_safe(text);
    if (!s.colour) return safe;
    unsigned hash = 2166136261u;  // FNV-1a
    for (unsigned char c : node_id) hash = (hash ^ c) * 16777619u;
    static constexpr char const* palette[] = {"31", "32", "33", "34", "35", "36"};
    return std::string("\033[1;") + palette[hash % 6] + "m" + safe + "\033[0m";
}

std::string uptime(std::int64_t s) {
    char buf[64];
    if (s >= 86400)
        std::snprintf(buf, sizeof buf, "%lldd %lldh", static_cast<long long>(s / 86400),
                      static_cast<long long>(s % 86400 / 3600));
    else if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%lldh %lldm", static_cast<long long>(s / 3600),
                      static_cast<long long>(s % 3600 / 60));
    else if (s >= 60)
        std::snprintf(buf, sizeof buf, "%lldm %llds", static_cast<long long>(s / 60),
                      static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
    return buf;
}

void pad_to(std::string& out, std::string_view cell, std::size_t width) {
    out += cell;
    for (std::size_t w = display_width(cell); w < width; ++w) out += ' ';
}

}  // namespace

std::string terminal_safe(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '\t') {
            out += c;
        } else if (c < 0x20) {
            out += '^';
            out += static_cast<char>(c + 0x40);
        } else if (c == 0x7f) {
            out += "^?";
        } else if (c == 0xc2 && i + 1 < text.size() &&
                   static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
                   static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
            out += "\xef\xbf\xbd";  // C1 control (0x9b is CSI on some terminals)
            ++i;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::size_t display_width(std::string_view text) {
    std::size_t n = 0;
    for (unsigned char c : text)
        if ((c & 0xc0) != 0x80) ++n;
    return n;
}

std::string clock_time(std::int64_t unix_ms) {
    std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
    return buf;
}

std::string event_time(std::int64_t unix_ms, std::int64_t now_ms) {
    if (now_ms < 0) now_ms = static_cast<std::int64_t>(std::time(nullptr)) * 1000;
    auto local = [](std::int64_t ms) {
        std::time_t t = static_cast<std::time_t>(ms / 1000);
        std::tm tm{};
        localtime_r(&t, &tm);
        return tm;
    };
    std::tm const when = local(unix_ms), today = local(now_ms);
    char buf[32];
    bool const same_day = when.tm_year == today.tm_year && when.tm_yday == today.tm_yday;
    std::strftime(buf, sizeof buf, same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &when);
    return buf;
}

std::int64_t event_unix_ms(json::object const& event) {
    if (string_field(event, "type") == "message") {
        if (auto sent = int_field(event, "sent_ms", -1); sent >= 0) return sent;
    }
    return int_field(event, "time_ms");
}

std::optional<std::string_view> me_action(std::string_view text) {
    if (!text.starts_with("/me ") || text.size() <= 4) return std::nullopt;
    return text.substr(4);
}

bool mentions(std::string_view text, std::string_view name) {
    if (name.empty() || text.size() < name.size()) return false;
    auto lower = [](unsigned char c) { return c < 0x80 ? std::tolower(c) : c; };
    auto word_char = [](unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; };
    for (std::size_t i = 0; i + name.size() <= text.size(); ++i) {
        bool match = true;
        for (std::size_t k = 0; k < name.size() && match; ++k)
            match = lower(static_cast<unsigned char>(text[i + k])) ==
                    lower(static_cast<unsigned char>(name[k]));
        if (!match) continue;
        bool const starts = i == 0 || !word_char(static_cast<unsigned char>(text[i - 1]));
        std::size_t const end = i + name.size();
        bool const ends = end == text.size() || !word_char(static_cast<unsigned char>(text[end]));
        if (starts && ends) return true;
    }
    return false;
}

void name_book::learn(std::string_view id, std::string_view name) {
    if (id.empty()) return;
    for (auto& [i, n] : entries_)
        if (i == id) {
            n = name;
            return;
        }
    entries_.emplace_back(id, name);
}

void name_book::learn_if_new(std::string_view id, std::string_view name) {
    for (auto const& e : entries_)
        if (e.first == id) return;
    learn(id, name);
}

bool name_book::shared(std::string_view name) const {
    std::size_t holders = 0;
    for (auto const& e : entries_)
        if (e.second == name) ++holders;
    return holders > 1;
}

std::string name_book::display(std::string_view id, std::string_view name) const {
    if ((shared(name) || name.find('#') != name.npos) && !id.empty())
        return std::string(name) + "#" + std::string(id.substr(0, 8));
    return std::string(name);
}

void name_book::learn_event(json::object const& event) {
    std::string_view const type = string_field(event, "type");
    if (type == "message") {
        learn_if_new(string_field(event, "from"), string_field(event, "name"));
    } else if (type == "peer_joined" || type == "peer_renamed") {
        json::object const& peer = object_field(event, "peer");
        learn(string_field(peer, "id"), string_field(peer, "name"));
    }
}

void name_book::learn_peers(json::array const& peers) {
    for (auto const& v : peers)
        if (v.is_object())
            learn(string_field(v.as_object(), "id"), string_field(v.as_object(), "name"));
}

std::optional<std::string> human_event(json::object const& event, style const& s,
                                       name_book const* names) {
    std::string_view type = string_field(event, "type");
    std::string line = event_time(event_unix_ms(event), s.now_ms) + " ";
    auto shown = [names](std::string_view id, std::string_view name) {
        return names ? names->display(id, name) : std::string(name);
    };
    if (type == "message") {
        std::string_view const from = string_field(event, "from");
        std::string_view const text = string_field(event, "text");
        std::string name = coloured(shown(from, string_field(event, "name")), from, s);
        auto const* self = event.if_contains("self");
        bool const mine = self && self->is_bool() && self->as_bool();
        if (auto action = me_action(text)) {
            line += "* " + name + " " + terminal_safe(*action);
            return line;
        }
        line += name;
        if (mine) line += " (you)";
        // Synced after a fault: its time (the send time) is earlier than what came before it.
        if (auto const* late = event.if_contains("late");
            late && late->is_bool() && late->as_bool())
            line += " (late)";
        line += ": ";
        if (s.colour && !mine && mentions(text, s.mention))
            line += "\033[1;7m" + terminal_safe(text) + "\033[0m";  // a highlight
        else
            line += terminal_safe(text);
        return line;
    }
    json::object const& peer = object_field(event, "peer");
    std::string_view const id = string_field(peer, "id");
    std::string name = coloured(shown(id, string_field(peer, "name")), id, s);
    auto const* self = peer.if_contains("self");
    bool const me = self && self->is_bool() && self->as_bool();
    if (type == "peer_joined") {
        line += "* " + name + " joined (" + terminal_safe(short_id(peer)) + ")";
    } else if (type == "peer_left") {
        line += me ? "* you left the network" : "* " + name + " left";
        if (string_field(event, "reason") == "unreachable") line += " (unreachable)";
    } else if (type == "peer_renamed") {
        line += me ? "* you are now known as " + name
                   : "* " + coloured(shown(id, string_field(event, "old_name")), id, s) +
                         " is now known as " + name;
    } else {
        return std::nullopt;  // a newer daemon's event: --json shows it, humans need not
    }
    return line;
}

std::string peers_table(json::array const& peers) {
    struct row {
        std::string id, name, address, state;
    };
    std::vector<row> rows{{"ID", "NAME", "ADDRESS", "STATE"}};
    name_book names;
    names.learn_peers(peers);
    for (auto const& v : peers) {
        if (!v.is_object()) continue;
        auto const& p = v.as_object();
        rows.push_back(
            {terminal_safe(short_id(p)),
             terminal_safe(names.display(string_field(p, "id"), string_field(p, "name"))),
             terminal_safe(string_field(p, "address")), terminal_safe(string_field(p, "state"))});
    }
    std::size_t w_id = 0, w_name = 0, w_address = 0;
    for (auto const& r : rows) {
        w_id = std::max(w_id, display_width(r.id));
        w_name = std::max(w_name, display_width(r.name));
        w_address = std::max(w_address, display_width(r.address));
    }
    std::string out;
    for (auto const& r : rows) {
        pad_to(out, r.id, w_id + 2);
        pad_to(out, r.name, w_name + 2);
        pad_to(out, r.address, w_address + 2);
        out += r.state;
        out += '\n';
    }
    return out;
}

std::string status_summary(json::object const& st) {
    auto str = [&st](std::string_view key) { return terminal_safe(string_field(st, key)); };
    auto num = [&st](std::string_view key) { return std::to_string(int_field(st, key)); };
    std::string out;
    out += "p2pchatd " + str("version") + " running, pid " + num("pid") + ", up " +
           uptime(int_field(st, "uptime_s")) + "\n";
    out += "  node:        " + str("short_id") + " " + str("name") + "\n";
    out += "  id:          " + str("id") + "\n";
    out += "  listen:      " + str("listen") + "\n";
    out += "  socket:      " + str("socket") + "\n";
    out += "  peers:       " + num("peers") + " live (max " + num("max_peers") + ")\n";
    out += "  messages:    " + num("messages_sent") + " sent, " + num("messages_received") +
           " received\n";
    out += "  bad frames:  " + num("malformed_frames") + " malformed, " + num("dropped_frames") +
           " dropped\n";
    out += "  subscribers: " + num("subscribers") + "\n";
    out += "  event seq:   " + num("event_seq") + "\n";
    return out;
}

}  // namespace p2pchat::ctl
