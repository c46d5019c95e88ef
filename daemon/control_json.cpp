#include "daemon/control_json.hpp"

#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <charconv>
#include <iterator>

namespace p2pchat::daemon {

namespace json = boost::json;

json::object to_json(engine::peer_view const& peer) {
    return {{"id", peer.id},
            {"short_id", short_id(peer.id)},
            {"name", peer.name},
            {"address", peer.address},
            {"state", engine::to_string(peer.status)},
            {"self", peer.status == engine::peer_status::self},
            {"incarnation", peer.incarnation},
            // Unix ms this node last heard from the peer itself; null: never (and for self).
            {"last_seen_ms", peer.last_seen_ms > 0 ? json::value(peer.last_seen_ms) : nullptr}};
}

json::object to_json(node_status const& s) {
    auto const& self = s.node.self;
    return {{"id", self.id},
            {"short_id", short_id(self.id)},
            {"name", self.name},
            {"listen", self.addr},
            {"socket", s.socket},
            {"network", s.network_open ? "open" : "closed"},
            {"version", P2PCHAT_VERSION},
            {"pid", static_cast<std::int64_t>(::getpid())},
            {"uptime_s", s.uptime_s},
            {"peers", s.node.peers},
            {"max_peers", s.node.max_peers},
            {"messages_sent", s.node.messages_sent},
            {"messages_received", s.node.messages_received},
            {"malformed_frames", s.traffic.malformed_frames},
            {"rejected_connections", s.traffic.rejected_connections},
            {"forged", s.node.forged},
            {"dropped_frames", s.traffic.dropped_frames},
            {"bytes_sent", s.traffic.bytes_sent},
            {"frames_sent", s.traffic.frames_sent},
            {"bytes_received", s.traffic.bytes_received},
            {"subscribers", s.subscribers},
            {"event_seq", s.event_seq},
            {"stored_messages", s.stored_messages},
            {"storage_errors", s.storage_errors}};
}

namespace {

// Integers and strings written straight into the line: no temporary string per field (the
// line is built once per message and node, the hottest text the daemon writes).
template <typename Integer>
void append_number(std::string& out, Integer v) {
    char digits[24];
    auto const end = std::to_chars(std::begin(digits), std::end(digits), v).ptr;
    out.append(digits, end);
}

// A JSON string as boost::json::serialize writes one: valid UTF-8 passes as it is; quote,
// backslash and control characters are escaped, the common ones in their short form.
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain = 0;  // start of the run not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto const c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        out.append(s.substr(plain, i - plain));
        plain = i + 1;
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
        }
    }
    out.append(s.substr(plain));
    out += '"';
}

}  // namespace

void append_message_body(std::string& out, engine::message_arrived const& m, std::uint64_t seq,
                         std::int64_t time_ms) {
    auto const& chat = m.chat;
    out.reserve(out.size() + 2 * chat.origin.size() + chat.name.size() + chat.text.size() + 200);
    out += R"({"type":"message","id":")";
    out += chat.origin;
    out += ':';
    append_number(out, chat.seq);
    out += R"(","from":")";
    out += chat.origin;
    out += R"(","name":)";
    append_json_string(out, chat.name);
    out += R"(,"text":)";
    append_json_string(out, chat.text);
    out += R"(,"lamport":)";
    append_number(out, chat.lamport);
    out += R"(,"sent_ms":)";
    append_number(out, chat.time_ms);
    out += m.self ? R"(,"self":true)" : R"(,"self":false)";
    // Only when set: a message that came late (sync after a fault) belongs earlier in the
    // history than where a live stream shows it.
    if (m.late) out += R"(,"late":true)";
    out += R"(,"seq":)";
    append_number(out, seq);
    out += R"(,"time_ms":)";
    append_number(out, time_ms);
    out += '}';
}

json::object send_result(engine::send_receipt const& receipt, std::size_t peers) {
    return {
        {"id", receipt.id}, {"seq", receipt.seq}, {"lamport", receipt.lamport}, {"peers", peers}};
}

std::string send_result_line(json::value const& id, engine::send_receipt const& receipt,
                             std::size_t peers) {
    std::string line;
    line.reserve(receipt.id.size() + 120);
    line += R"({"jsonrpc":"2.0","id":)";
    line += json::serialize(id);
    line += R"(,"result":{"id":)";
    append_json_string(line, receipt.id);
    line += R"(,"seq":)";
    append_number(line, receipt.seq);
    line += R"(,"lamport":)";
    append_number(line, receipt.lamport);
    line += R"(,"peers":)";
    append_number(line, peers);
    line += "}}\n";
    return line;
}

json::object to_json(engine::message_delivery const& d) {
    json::array missing;
    for (auto const& m : d.missing)
        missing.emplace_back(json::object{{"id", m.id}, {"name", m.name}, {"removed", m.removed}});
    json::object body{{"type", "delivery"},           {"origin", d.origin},
                      {"first_seq", d.first_seq},     {"seq", d.seq},
                      {"delivered", d.delivered()},   {"members", d.members},
                      {"missing", std::move(missing)}};
    if (!d.settled) body["settled"] = false;
    return body;
}

std::string_view event_type(engine::node_event const& event) {
    return std::visit(
        [](auto const& e) -> std::string_view {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, engine::message_arrived>) return "message";
            if constexpr (std::is_same_v<T, engine::peer_joined>) return "peer_joined";
            if constexpr (std::is_same_v<T, engine::peer_left>) return "peer_left";
            if constexpr (std::is_same_v<T, engine::peer_renamed>) return "peer_renamed";
            if constexpr (std::is_same_v<T, engine::message_delivery>) return "delivery";
        },
        event);
}

json::object to_json(engine::node_event const& event) {
    return std::visit(
        [&](auto const& e) -> json::object {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, engine::message_arrived>) {
                // Room for these 9 fields and the 2 the log stamps: one allocation, no regrowth.
                json::object body(11);
                auto const& chat = e.chat;
                body.emplace("type", "message");
                body.emplace("id", chat.origin + ":" + std::to_string(chat.seq));
                body.emplace("from", chat.origin);
                body.emplace("name", chat.name);
                body.emplace("text", chat.text);
                body.emplace("lamport", chat.lamport);
                body.emplace("sent_ms", chat.time_ms);
                body.emplace("self", e.self);
                if (e.late) body.emplace("late", true);
                return body;
            } else if constexpr (std::is_same_v<T, engine::message_delivery>) {
                return to_json(e);
            } else {
                json::object body{{"type", event_type(event)}, {"peer", to_json(e.peer)}};
                if constexpr (std::is_same_v<T, engine::peer_left>)
                    body["reason"] = engine::to_string(e.reason);
                if constexpr (std::is_same_v<T, engine::peer_renamed>)
                    body["old_name"] = e.old_name;
                return body;
            }
        },
        event);
}

}  // namespace p2pchat::daemon
