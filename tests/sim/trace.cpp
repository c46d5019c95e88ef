#include "tests/sim/trace.hpp"

#include <cstdio>

namespace p2pchat::sim {

namespace {

void append_number(std::string& out, std::uint64_t n) { out += std::to_string(n); }

void entry(std::string& out, wire::peer_entry const& e, id_names const& names) {
    out += names(e.id);
    out += '/';
    append_number(out, e.inc);
    out += e.state == wire::peer_state::alive ? "/alive" : "/left";
}

// Lists are shortened: a 1000-entry welcome would make a trace line of 30 KB.
void entries(std::string& out, std::vector<wire::peer_entry> const& list, id_names const& names) {
    constexpr std::size_t shown = 8;
    out += '[';
    for (std::size_t i = 0; i < list.size() && i < shown; ++i) {
        if (i) out += ' ';
        entry(out, list[i], names);
    }
    if (list.size() > shown) {
        out += " +";
        append_number(out, list.size() - shown);
    }
    out += ']';
}

void chat(std::string& out, wire::chat_msg const& c, id_names const& names) {
    out += names(c.origin);
    out += ':';
    append_number(out, c.seq);
    out += " L";
    append_number(out, c.lamport);
}

void peer(std::string& out, engine::peer_view const& p, id_names const& names) {
    out += names(p.id);
    out += '/';
    append_number(out, p.incarnation);
    out += ' ';
    out += p.name;
}

}  // namespace

std::string_view short_id(std::string_view id) { return id.substr(0, 8); }

std::string_view id_names::operator()(std::string_view id) const {
    auto it = names_.find(id);
    return it == names_.end() ? short_id(id) : std::string_view(it->second);
}

void trace::mix(std::string_view bytes) {
    for (unsigned char c : bytes) {
        hash_ ^= c;
        hash_ *= 0x100000001b3ULL;
    }
}

void trace::record(sim_time at, int node, std::string_view text) {
    char head[48];
    int const n = node < 0 ? std::snprintf(head, sizeof head, "%10.6f  ----  ", seconds(at))
                           : std::snprintf(head, sizeof head, "%10.6f  n%-3d  ", seconds(at), node);
    std::string_view const prefix(head, static_cast<std::size_t>(n));
    mix(prefix);
    mix(text);
    mix("\n");
    ++lines_;
    if (out_) *out_ << prefix << text << '\n';
}

void describe(std::string& out, wire::message const& m, id_names const& names) {
    out += wire::type_name(m);
    out += ' ';
    std::visit(
        [&](auto const& msg) {
            using T = std::decay_t<decltype(msg)>;
            if constexpr (std::is_same_v<T, wire::join_msg> || std::is_same_v<T, wire::hello_msg>) {
                entry(out, msg.from, names);
            } else if constexpr (std::is_same_v<T, wire::welcome_msg>) {
                entry(out, msg.from, names);
                out += " peers=";
                entries(out, msg.peers, names);
                out += " history=";
                append_number(out, msg.history.size());
            } else if constexpr (std::is_same_v<T, wire::refused_msg>) {
                out += msg.code;
            } else if constexpr (std::is_same_v<T, wire::peers_msg>) {
                out += msg.full ? "full " : "";
                entries(out, msg.peers, names);
            } else if constexpr (std::is_same_v<T, wire::digest_msg>) {
                out += msg.hash.substr(0, 8);
                out += " n=";
                append_number(out, msg.count);
            } else if constexpr (std::is_same_v<T, wire::chat_msg>) {
                chat(out, msg, names);
            } else if constexpr (std::is_same_v<T, wire::rename_msg>) {
                out += names(msg.id);
                out += '/';
                append_number(out, msg.inc);
                out += ' ';
                out += msg.name;
            } else if constexpr (std::is_same_v<T, wire::leave_msg>) {
                out += names(msg.id);
                out += '/';
                append_number(out, msg.inc);
            } else if constexpr (std::is_same_v<T, wire::network_key_msg>) {
                out += "(key)";  // a secret: never in a trace
            } else if constexpr (std::is_same_v<T, wire::seal_msg>) {
                out += names(msg.origin);
                out += ':';
                append_number(out, msg.seq);
            } else if constexpr (std::is_same_v<T, wire::heads_msg>) {
                out += msg.answer ? "answer " : "";
                for (auto const& h : msg.heads) {
                    out += names(h.origin);
                    out += ':';
                    append_number(out, h.seq);
                    out += ' ';
                }
            } else if constexpr (std::is_same_v<T, wire::history_msg>) {
                out += "messages=";
                append_number(out, msg.messages.size());
                out += msg.more ? " more" : "";
            } else if constexpr (std::is_same_v<T, wire::ping_msg> ||
                                 std::is_same_v<T, wire::ack_msg> ||
                                 std::is_same_v<T, wire::ping_req_msg>) {
                append_number(out, msg.seq);
                if constexpr (std::is_same_v<T, wire::ping_req_msg>) {
                    out += " for ";
                    out += names(msg.target);
                }
                for (auto const& s : msg.news.suspects) {
                    out += " suspect=";
                    out += names(s.id);
                    out += '/';
                    append_number(out, s.inc);
                    out += " by ";
                    out += names(s.from);
                }
                if (!msg.news.entries.empty()) {
                    out += " news=";
                    entries(out, msg.news.entries, names);
                }
            } else if constexpr (std::is_same_v<T, wire::nack_msg>) {
                append_number(out, msg.seq);
            } else {
                static_assert(std::is_same_v<T, wire::unknown_msg>);
                out += msg.type;
            }
        },
        m);
}

void describe(std::string& out, engine::effect const& e, id_names const& names) {
    out += engine::kind_name(e);
    out += ' ';
    std::visit(
        [&](auto const& fx) {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, engine::send_to_peer>) {
                out += names(fx.peer);
                out += fx.first ? " first " : " ";
                describe(out, *fx.message, names);
            } else if constexpr (std::is_same_v<T, engine::reply_on>) {
                out += 'c';
                append_number(out, fx.connection);
                out += ' ';
                describe(out, *fx.message, names);
            } else if constexpr (std::is_same_v<T, engine::broadcast>) {
                if (!fx.except.empty()) {
                    out += "except ";
                    out += names(fx.except);
                    out += ' ';
                }
                describe(out, *fx.message, names);
            } else if constexpr (std::is_same_v<T, engine::dial_peer> ||
                                 std::is_same_v<T, engine::redirect_link>) {
                out += names(fx.peer);
                out += ' ';
                out += to_string(fx.target);
            } else if constexpr (std::is_same_v<T, engine::hang_up>) {
                out += names(fx.peer);
                out += fx.flush ? " flush" : "";
            } else if constexpr (std::is_same_v<T, engine::close_connection>) {
                out += 'c';
                append_number(out, fx.connection);
                out += fx.flush ? " flush" : "";
            } else if constexpr (std::is_same_v<T, engine::arm_timer>) {
                out += "gossip at ";
                auto const ms =
                    std::chrono::duration_cast<std::chrono::milliseconds>(fx.at.time_since_epoch());
                append_number(out, static_cast<std::uint64_t>(ms.count()));
                out += " ms";
            } else if constexpr (std::is_same_v<T, engine::emit_event>) {
                std::visit(
                    [&](auto const& ev) {
                        using E = std::decay_t<decltype(ev)>;
                        if constexpr (std::is_same_v<E, engine::message_arrived>) {
                            out += "message ";
                            chat(out, ev.chat, names);
                            out += ev.self ? " self" : "";
                        } else if constexpr (std::is_same_v<E, engine::peer_joined>) {
                            out += "joined ";
                            peer(out, ev.peer, names);
                        } else if constexpr (std::is_same_v<E, engine::peer_left>) {
                            out += "left ";
                            peer(out, ev.peer, names);
                            out += ' ';
                            out += engine::to_string(ev.reason);
                        } else if constexpr (std::is_same_v<E, engine::peer_renamed>) {
                            out += "renamed ";
                            peer(out, ev.peer, names);
                            out += " was ";
                            out += ev.old_name;
                        } else {
                            static_assert(std::is_same_v<E, engine::message_delivery>);
                            out += "delivery #";
                            append_number(out, ev.first_seq);
                            out += "..";
                            append_number(out, ev.seq);
                            out += ev.delivered() ? " delivered" : " missing";
                            for (auto const& m : ev.missing) {
                                out += ' ';
                                out += names(m.id);
                                out += m.removed ? " removed" : "";
                            }
                        }
                    },
                    fx.event);
            } else if constexpr (std::is_same_v<T, engine::store_message>) {
                chat(out, fx.chat, names);
            } else if constexpr (std::is_same_v<T, engine::store_seal>) {
                out += fx.seal.origin.substr(0, 8);
                out += " #";
                out += std::to_string(fx.seal.seq);
            } else if constexpr (std::is_same_v<T, engine::adopt_network_key>) {
                out += "network key from ";
                out += fx.from.substr(0, 8);
            } else {
                static_assert(std::is_same_v<T, engine::log_line>);
                out += fx.text;
            }
        },
        e);
}

}  // namespace p2pchat::sim
