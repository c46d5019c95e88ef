#include "ctl/format.hpp"

#include <algorithm>
#include <boost/json/value.hpp>
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

std::optional<std::string> human_event(json::object const& event, style const& s) {
    std::string_view type = string_field(event, "type");
    std::string line = clock_time(int_field(event, "time_ms")) + " ";
    if (type == "message") {
        line += coloured(string_field(event, "name"), string_field(event, "from"), s);
        line += ": ";
        line += terminal_safe(string_field(event, "text"));
        return line;
    }
    json::object const& peer = object_field(event, "peer");
    std::string name = coloured(string_field(peer, "name"), string_field(peer, "id"), s);
    if (type == "peer_joined") {
        line += "* " + name + " joined (" + terminal_safe(short_id(peer)) + ")";
    } else if (type == "peer_left") {
        line += "* " + name + " left";
        if (string_field(event, "reason") == "unreachable") line += " (unreachable)";
    } else if (type == "peer_renamed") {
        line += "* " + coloured(string_field(event, "old_name"), string_field(peer, "id"), s) +
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
    for (auto const& v : peers) {
        if (!v.is_object()) continue;
        auto const& p = v.as_object();
        rows.push_back({terminal_safe(short_id(p)), terminal_safe(string_field(p, "name")),
                        terminal_safe(string_field(p, "address")),
                        terminal_safe(string_field(p, "state"))});
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
