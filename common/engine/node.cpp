#include "common/engine/node.hpp"

#include <algorithm>

#include "common/text.hpp"

namespace p2pchat::engine {

node::node(node_config const& config, instant now, message_store const& store)
    : started_unix_ms_(now.unix_ms),
      random_(config.seed ^ 0x73796e63),  // "sync": not the same choices as membership's
      members_(wire::peer_entry{config.id,
                                config.name,
                                config.listen,
                                static_cast<std::uint64_t>(now.unix_ms),
                                wire::peer_state::alive,
                                {}},
               membership_config{config.max_peers, config.gossip_interval, config.peer_timeout,
                                 config.detector, config.dead_link_window},
               config.seed, config.signing_key, out_,
               [this](wire::welcome_msg& w) { chat_.fill_welcome(w); }),
      chat_(config.id, config.signing_key, store, out_),
      delivery_(config.id, out_) {}

void node::start(instant now) {
    members_.start(now);
    chat_.start(now);
}

void node::on_frame(frame_source const& from, wire::message&& message, instant now) {
    // A node that left the network (or is stopping) listens only to someone joining it.
    if (members_.state() != node_state::active &&
        !std::holds_alternative<wire::join_msg>(message)) {
        members_.on_frame_after_leave(from);
        return;
    }
    members_.heard_from(from.peer, now);
    std::visit(
        [&](auto&& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, wire::join_msg>) {
                members_.on_join(from, std::move(m), now);
            } else if constexpr (std::is_same_v<T, wire::hello_msg>) {
                members_.on_hello(from, std::move(m), now);
            } else if constexpr (std::is_same_v<T, wire::welcome_msg>) {
                // Welcomes are read by the joining side on its own connection; one arriving
                // elsewhere is still useful news.
                members_.on_welcome(m.from,
                                    m.from.id == from.peer ? membership::provenance::owner
                                                           : membership::provenance::relayed,
                                    m.peers, now);
                // Where to follow whom: only from the welcome's own sender, proven.
                if (m.from.id == from.peer) chat_.follow(m);
                chat_.receive_history(std::move(m.history), m.seals, m.anchors, now,
                                      chat_room::history_source::welcome);
            } else if constexpr (std::is_same_v<T, wire::refused_msg>) {
                out_.log(severity::info, from.remote_host, " refused us: ", m.reason);
            } else if constexpr (std::is_same_v<T, wire::peers_msg>) {
                members_.on_peers(from, std::move(m), now);
            } else if constexpr (std::is_same_v<T, wire::digest_msg>) {
                members_.on_digest(from, m, now);
            } else if constexpr (std::is_same_v<T, wire::chat_msg>) {
                chat_.receive(std::move(m), from.peer, now);
            } else if constexpr (std::is_same_v<T, wire::seal_msg>) {
                chat_.receive_seal(std::move(m), from.peer);
            } else if constexpr (std::is_same_v<T, wire::rename_msg>) {
                members_.on_rename(from, m, now);
            } else if constexpr (std::is_same_v<T, wire::leave_msg>) {
                members_.on_leave(from, m, now);
            } else if constexpr (std::is_same_v<T, wire::heads_msg>) {
                // Sync runs between members: over a connection its handshake proved.
                if (from.peer.empty()) return;
                heard_heads(from.peer, m);
                // An ack only informs: answering it would send what is in flight anyway.
                if (!m.ack) chat_.on_heads(m, from.connection, std::string(from.peer));
            } else if constexpr (std::is_same_v<T, wire::history_msg>) {
                if (!from.peer.empty()) chat_.on_history(std::move(m), from.connection, now);
            } else if constexpr (std::is_same_v<T, wire::ping_msg>) {
                members_.on_ping(from, m, now);
            } else if constexpr (std::is_same_v<T, wire::ack_msg>) {
                members_.on_ack(from, m, now);
            } else if constexpr (std::is_same_v<T, wire::ping_req_msg>) {
                members_.on_ping_req(from, m, now);
            } else if constexpr (std::is_same_v<T, wire::nack_msg>) {
                members_.on_nack(m);
            } else if constexpr (std::is_same_v<T, wire::network_key_msg>) {
                out_.push(adopt_network_key{std::move(m.key), std::string(from.peer)});
            } else {
                static_assert(std::is_same_v<T, wire::unknown_msg>);
                out_.log(severity::debug, "ignored unknown message type '", m.type, "' from ",
                         from.remote_host);
            }
        },
        std::move(message));
}

void node::on_link_up(std::string const& peer, instant now) {
    members_.on_link_up(peer, now);
    // A link that (re)connected ends whatever kept us apart (a partition, a restart, a lost
    // connection): sync at once rather than at the next round.
    if (members_.link_connected(peer))
        out_.push(send_to_peer{peer, make_outgoing(chat_.heads(false))});
}

void node::on_link_down(std::string const& peer, instant now) { members_.on_link_down(peer, now); }

void node::on_timer(timer_kind timer, instant now) {
    switch (timer) {
        case timer_kind::gossip:
            members_.on_gossip_timer(now);
            sync_round();
            check_members(now);
            return;
        case timer_kind::seal:
            chat_.on_seal_timer();
            return;
        case timer_kind::probe:
            members_.on_probe_timer(now);
            check_members(now);
            return;
        case timer_kind::ack:
            send_acks();
            return;
    }
}

void node::send_acks() {
    // To the author's own link: an author we have no link to hears our heads at the next
    // anti-entropy round or link up instead.
    for (auto& [author, ack] : chat_.take_acks())
        if (members_.link_connected(author))
            out_.push(send_to_peer{author, make_outgoing(std::move(ack))});
}

void node::heard_heads(std::string_view peer, wire::heads_msg const& heads) {
    // Only members' heads are kept: the table bounds how many peers have an entry.
    std::string const id(peer);
    if (!members_.table().is_alive(id)) return;
    auto& known = peer_heads_[id];
    auto const& self = members_.self().id;
    for (auto const& h : heads.heads) {
        // Heads only grow (a peer that lost its store starts below what it told us: its old
        // claim stands until it is removed).
        auto [it, added] = known.try_emplace(h.origin, h.seq);
        if (!added) it->second = std::max(it->second, h.seq);
        if (h.origin == self) delivery_.heard_head(peer, it->second);
    }
}

void node::check_members(instant now) {
    auto const& table = members_.table();
    std::erase_if(peer_heads_, [&](auto const& entry) { return !table.is_alive(entry.first); });
    delivery_.check([&](std::string const& id) { return table.is_alive(id); }, now);
}

std::size_t node::delivered_count(std::string_view origin, std::uint64_t seq) const {
    std::size_t count = 1;
    for (auto const& [peer, heads] : peer_heads_)
        if (auto it = heads.find(origin); it != heads.end() && it->second >= seq) ++count;
    return count;
}

void node::sync_round() {
    // One member a round, as anti-entropy does: what any fault left missing is found within
    // a few rounds, at a constant cost per node whatever the group's size.
    auto const peers = members_.connected_peers();
    if (peers.empty()) return;
    auto const pick = std::uniform_int_distribution<std::size_t>(0, peers.size() - 1)(random_);
    out_.push(send_to_peer{peers[pick], make_outgoing(chat_.heads(false))});
}

rpc::result<send_receipt> node::send(std::string text, instant now) {
    auto receipt = chat_.send(std::move(text), members_.self().name, now);
    if (!receipt) return receipt;
    // Delivered once every member alive now stored it (docs/PROTOCOL.md, "Delivery"). On a
    // stream the members rarely change between two messages: then no list is built.
    auto const& table = members_.table();
    if (auto const* last = delivery_.last_members(); last && last->size() == table.alive_count()) {
        bool same = true;
        auto member = last->begin();
        table.for_each_alive([&](wire::peer_entry const& peer) {
            same = same && member->id == peer.id && member->name == peer.name;
            ++member;
        });
        if (same) {
            delivery_.track_again(receipt->seq, now);
            return receipt;
        }
    }
    std::vector<delivery_member> to;
    to.reserve(table.alive_count());
    table.for_each_alive([&](wire::peer_entry const& peer) { to.push_back({peer.id, peer.name}); });
    delivery_.track(receipt->seq, std::move(to), now);
    return receipt;
}

rpc::result<std::string> node::rename(std::string name, instant) {
    if (auto problem = screen_name_problem(name))
        return rpc::error{rpc::code::invalid_params, std::move(*problem)};
    members_.rename(name);
    return name;
}

rpc::result<std::size_t> node::joined(wire::welcome_msg&& welcome, std::string_view contact,
                                      instant now) {
    if (welcome.from.id == members_.self().id)
        return rpc::error{rpc::code::invalid_params, std::string(contact) + " is this node itself"};
    if (members_.state() != node_state::stopping) members_.rejoin(welcome.from);
    // The join's connection proved the contact's id (the runtime checks welcome.from.id).
    members_.on_welcome(welcome.from, membership::provenance::owner, welcome.peers, now, true);
    chat_.follow(welcome);
    chat_.receive_history(std::move(welcome.history), welcome.seals, welcome.anchors, now,
                          chat_room::history_source::welcome);
    out_.log(severity::notice, "joined the network through ", contact, "; ",
             members_.table().alive_count(), " peers");
    return members_.table().alive_count();
}

// Both seal first: the seal goes out ahead of the leave on every link.
std::size_t node::leave(instant) {
    chat_.seal_pending();
    return members_.leave();
}

void node::stop(instant) {
    chat_.seal_pending();
    members_.stop();
}

void node::share_network_key(std::string key, instant) {
    out_.push(broadcast{make_outgoing(wire::network_key_msg{std::move(key)}), {}});
}

node_summary node::summary() const {
    return {members_.self(),
            members_.state(),
            members_.table().alive_count(),
            members_.table().max_peers(),
            chat_.messages_sent(),
            chat_.messages_received(),
            members_.forged_entries() + chat_.messages_refused(),
            started_unix_ms_};
}

}  // namespace p2pchat::engine
