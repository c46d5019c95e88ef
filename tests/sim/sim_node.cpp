#include "tests/sim/sim_node.hpp"

#include <algorithm>

#include "tests/sim/memory.hpp"
#include "tests/sim/world.hpp"

namespace p2pchat::sim {

namespace {

// The daemon's timings (daemon/peer_link.cpp, daemon/chat_node.cpp, daemon/join_client.cpp).
constexpr sim_time first_backoff = 100ms;
constexpr sim_time max_backoff = 5s;
constexpr sim_time connect_timeout = 5s;
constexpr sim_time join_timeout = 10s;
constexpr sim_time first_join_backoff = 1s;
constexpr sim_time max_join_backoff = 30s;

}  // namespace

void traffic::add(frame const& f) {
    auto const type = f.message->index();
    bytes += f.bytes;
    ++frames;
    bytes_by_type[type] += f.bytes;
    ++frames_by_type[type];
}

sim_node::sim_node(world& w, int index, node_spec spec)
    : world_(w), index_(index), spec_(std::move(spec)) {}

engine::instant sim_node::now() const {
    auto const t = world_.now();
    return {engine::steady_time(
                std::chrono::duration_cast<engine::steady_time::duration>(spec_.steady_boot + t)),
            world::unix_epoch_ms + t.count() / 1000 + spec_.skew_ms};
}

sim_time sim_node::virtual_time(engine::steady_time t) const {
    return std::chrono::duration_cast<sim_time>(t.time_since_epoch()) - spec_.steady_boot;
}

bool sim_node::member() const {
    return engine_ && member_ && engine_->members().state() == engine::node_state::active;
}

// ---------------------------------------------------------------- inputs

void sim_node::post(std::function<void()> fn) {
    if (!up()) return;
    if (paused_) {
        inbox_.push_back(std::move(fn));
        return;
    }
    fn();
}

void sim_node::at(sim_time when, std::function<void()> fn) {
    world_.queue().at(when, [this, generation = generation_, fn = std::move(fn)]() mutable {
        if (generation == generation_) post(std::move(fn));
    });
}

void sim_node::trace_line(std::string_view text) {
    world_.log().record(world_.now(), index_, text);
}

template <class Input>
void sim_node::input(std::string_view what, Input&& fn) {
    ++inputs_;
    trace_line(what);
    std::vector<engine::effect> effects;
    {
        memory::charge engine_memory(index_ + 1);
        fn(*engine_);
        effects = engine_->take_effects(std::move(spare_));
    }
    execute(effects);
    effects.clear();
    spare_ = std::move(effects);
}

namespace {
std::string_view timer_name(engine::timer_kind kind) {
    switch (kind) {
        case engine::timer_kind::gossip:
            return "gossip";
        case engine::timer_kind::seal:
            return "seal";
        case engine::timer_kind::probe:
            return "probe";
        case engine::timer_kind::ack:
            return "ack";
    }
    return "?";
}
}  // namespace

void sim_node::execute(std::vector<engine::effect>& effects) {
    for (auto& e : effects) {
        line_.assign("  -> ");
        if (auto const* timer = std::get_if<engine::arm_timer>(&e)) {
            // In the node's terms: how far ahead (its steady clock's epoch means nothing).
            line_ += "arm_timer ";
            line_ += timer_name(timer->timer);
            line_ += " in ";
            line_ += std::to_string(
                std::chrono::duration_cast<engine::milliseconds>(timer->at - now().steady).count());
            line_ += " ms";
        } else {
            describe(line_, e, world_.names());
        }
        trace_line(line_);
        execute(e);
        if (!up()) return;
    }
}

void sim_node::execute(engine::effect& e) {
    std::visit(
        [&](auto& fx) {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, engine::send_to_peer>) {
                link_send(fx.peer, make_frame(std::move(fx.message)), fx.first);
            } else if constexpr (std::is_same_v<T, engine::reply_on>) {
                auto it = connections_.find(fx.connection);
                if (it != connections_.end())
                    write(fx.connection, it->second.side, make_frame(std::move(fx.message)));
            } else if constexpr (std::is_same_v<T, engine::broadcast>) {
                frame const f = make_frame(std::move(fx.message));  // encoded once
                for (auto const& [peer, l] : links_)
                    if (peer != fx.except) link_send(peer, f, false);
            } else if constexpr (std::is_same_v<T, engine::dial_peer>) {
                open_link(fx.peer, std::move(fx.target));
            } else if constexpr (std::is_same_v<T, engine::redirect_link>) {
                auto it = links_.find(fx.peer);
                if (it == links_.end() || it->second.target == fx.target) return;
                auto& l = it->second;
                l.target = std::move(fx.target);
                if (l.state == link_state::connected) {
                    close(l.conn);
                    link_broke(fx.peer);
                } else if (l.state == link_state::waiting) {
                    dial(fx.peer);
                }
            } else if constexpr (std::is_same_v<T, engine::hang_up>) {
                // Connected, the queue is empty (it was flushed on connect), so a flushing
                // hang-up and an abrupt one both close after what was written; not connected,
                // both discard the queue (the daemon's stop_when_flushed: "nobody to say
                // goodbye to").
                drop_link(fx.peer);
            } else if constexpr (std::is_same_v<T, engine::close_connection>) {
                close(fx.connection);
            } else if constexpr (std::is_same_v<T, engine::arm_timer>) {
                // One timer per kind, as the daemon has: re-arming replaces the last time.
                auto const kind = fx.timer;
                auto const serial = ++timer_serials_[static_cast<std::size_t>(kind)];
                at(virtual_time(fx.at), [this, serial, kind] {
                    if (serial != timer_serials_[static_cast<std::size_t>(kind)]) return;
                    line_.assign("timer ");
                    line_ += timer_name(kind);
                    input(line_, [this, kind](engine::node& n) { n.on_timer(kind, now()); });
                });
            } else if constexpr (std::is_same_v<T, engine::emit_event>) {
                // A peer that said goodbye is not called back (node::note_peer_event).
                if (auto const* left = std::get_if<engine::peer_left>(&fx.event);
                    left && left->reason == engine::leave_reason::left)
                    remembered_.erase(left->peer.id);
                world_.record().event(index_, fx.event, world_.now());
            } else if constexpr (std::is_same_v<T, engine::store_message>) {
                memory::charge store_memory(index_ + 1);
                store_->append(fx.chat, fx.arrived_unix_ms);
            } else if constexpr (std::is_same_v<T, engine::store_seal>) {
                memory::charge store_memory(index_ + 1);
                store_->append_seal(fx.seal);
            } else if constexpr (std::is_same_v<T, engine::adopt_network_key>) {
                // Simulated links have no handshake; nothing to adopt (the trace shows it).
            } else {
                static_assert(std::is_same_v<T, engine::log_line>);
            }
        },
        e);
}

void sim_node::write(connection_id c, int side, frame f) {
    sent_.add(f);
    world_.net().write(c, side, std::move(f));
}

// ---------------------------------------------------------------- the process

void sim_node::boot(persisted_state const& persisted, std::vector<int> contacts,
                    bool pick_contacts) {
    auto const& config = world_.config();
    engine::node_config nc;
    nc.id = persisted.id;
    nc.signing_key = persisted.key;
    nc.name = spec_.name;
    nc.listen = spec_.listen;
    nc.max_peers = config.max_peers;
    nc.gossip_interval = config.gossip_interval;
    nc.peer_timeout = config.peer_timeout;
    nc.detector = config.detector;
    nc.dead_link_window = config.dead_link_window;
    nc.seed = world_.random().next();
    {
        memory::charge engine_memory(index_ + 1);
        if (!store_) store_ = std::make_unique<engine::memory_store>(store_capacity);
        engine_ = std::make_unique<engine::node>(nc, now(), *store_);
    }
    member_ = false;
    world_.record().booted(index_, generation_, engine_->members().self().inc, world_.now());
    input("boot", [this](engine::node& n) { n.start(now()); });
    arm_reconnect();
    if (contacts.empty() && (!pick_contacts || world_.live_members(index_).empty())) {
        // Founding a network, or every other node is down: alone, open to joins.
        member_ = true;
        world_.record().membership(index_, true, world_.now());
        return;
    }
    start_join(std::move(contacts), pick_contacts);
}

void sim_node::shutdown_process(bool crash) {
    for (auto const& [c, end] : connections_) {
        if (crash)
            world_.net().reset(c, end.side);
        else
            world_.net().close(c, end.side);
    }
    connections_.clear();
    links_.clear();
    inbound_ = 0;
    join_ = {};
    inbox_.clear();
    paused_ = false;
    member_ = false;
    engine_.reset();  // the store is on disk: the next process reads it
    ++generation_;
    world_.record().went_down(index_, world_.now());
}

void sim_node::crash() {
    if (!up()) return;
    trace_line("crash");
    shutdown_process(true);
}

void sim_node::terminate() {
    post([this] {
        input("stop (SIGTERM)", [this](engine::node& n) { n.stop(now()); });
        // The goodbyes were written to every connected link; the process exits.
        shutdown_process(false);
    });
}

void sim_node::pause() {
    if (!up() || paused_) return;
    trace_line("pause");
    paused_ = true;
}

void sim_node::resume() {
    if (!up() || !paused_) return;
    trace_line("resume");
    paused_ = false;
    auto const generation = generation_;
    while (!inbox_.empty() && !paused_ && generation == generation_) {
        auto fn = std::move(inbox_.front());
        inbox_.pop_front();
        fn();
    }
}

// ---------------------------------------------------------------- user operations

void sim_node::send(std::string text) {
    post([this, text = std::move(text)]() mutable {
        input("send", [&](engine::node& n) {
            auto receipt = n.send(std::move(text), now());
            if (receipt) world_.record().sent(index_, *receipt, world_.now());
        });
    });
}

void sim_node::rename(std::string name) {
    post([this, name = std::move(name)]() mutable {
        input("rename " + name, [&](engine::node& n) { (void)n.rename(std::move(name), now()); });
    });
}

void sim_node::leave() {
    post([this] {
        join_ = {};
        member_ = false;
        world_.record().membership(index_, false, world_.now());
        world_.record().left(index_, engine_->members().self().inc);
        input("leave", [this](engine::node& n) { n.leave(now()); });
    });
}

void sim_node::rejoin() {
    post([this] {
        if (member_ || join_.active) return;
        start_join({}, true);
    });
}

// ---------------------------------------------------------------- links

void sim_node::open_link(std::string const& peer, address target) {
    if (int const n = world_.node_at(target.host); n >= 0) remembered_[peer] = n;
    if (links_.contains(peer)) return;
    link l;
    l.serial = ++next_serial_;
    l.target = std::move(target);
    l.backoff = first_backoff;
    links_.emplace(peer, std::move(l));
    dial(peer);
}

void sim_node::dial(std::string const& peer) {
    auto& l = links_.at(peer);
    l.state = link_state::dialing;
    int const to = world_.node_at(l.target.host);
    world_.net().dial(index_, to, connect_timeout,
                      [this, generation = generation_, peer, serial = l.serial,
                       host = l.target.host](connection_id c, dial_error e) {
                          if (generation != generation_) {
                              if (c) world_.net().reset(c, 0);  // the dialer is gone
                              return;
                          }
                          // The kernel holds the connection from now on, even while the
                          // process is paused: frames arriving on it queue behind this.
                          if (c) connections_[c] = {role::link, 0, peer, host};
                          post([this, peer, serial, c, e] { on_dialed(peer, serial, c, e); });
                      });
}

void sim_node::on_dialed(std::string const& peer, std::uint64_t serial, connection_id c,
                         dial_error e) {
    auto it = links_.find(peer);
    if (it == links_.end() || it->second.serial != serial) {
        if (c) close(c);  // hung up while dialling
        return;
    }
    if (e != dial_error::none) {
        line_.assign("link to ");
        line_ += world_.names()(peer);
        line_ += e == dial_error::refused ? " refused" : " timed out";
        input(line_, [&](engine::node& n) { n.on_link_down(peer, now()); });
        if (auto again = links_.find(peer); again != links_.end() && again->second.serial == serial)
            wait_and_redial(again->second, peer);
        return;
    }
    if (!connections_.contains(c)) {
        // Reset or closed by the peer before we got to it.
        input("link down " + std::string(world_.names()(peer)),
              [&](engine::node& n) { n.on_link_down(peer, now()); });
        if (auto again = links_.find(peer); again != links_.end() && again->second.serial == serial)
            wait_and_redial(again->second, peer);
        return;
    }
    it->second.conn = c;
    // The greeting goes ahead of what waited (send_to_peer with `first`): the queue is still
    // in use until the engine had its say.
    input("link up " + std::string(world_.names()(peer)) + " c" + std::to_string(c),
          [&](engine::node& n) { n.on_link_up(peer, now()); });
    it = links_.find(peer);
    if (it == links_.end() || it->second.serial != serial) return;
    auto& l = it->second;
    while (!l.queue.empty()) {
        write(c, 0, std::move(l.queue.front()));
        l.queue.pop_front();
    }
    l.queued_bytes = 0;
    l.state = link_state::connected;
    l.backoff = first_backoff;
}

void sim_node::link_send(std::string const& peer, frame f, bool first) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    auto& l = it->second;
    if (l.state == link_state::connected) {
        write(l.conn, 0, std::move(f));
        return;
    }
    l.queued_bytes += f.bytes;
    if (first) {
        l.queue.push_front(std::move(f));
        return;
    }
    l.queue.push_back(std::move(f));
    while (l.queued_bytes > link_queue_limit && l.queue.size() > 1) {
        l.queued_bytes -= l.queue.front().bytes;
        l.queue.pop_front();
        ++sent_.dropped_frames;
    }
}

void sim_node::link_broke(std::string const& peer) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    auto const serial = it->second.serial;
    it->second.conn = 0;
    it->second.state = link_state::waiting;
    input("link down " + std::string(world_.names()(peer)),
          [&](engine::node& n) { n.on_link_down(peer, now()); });
    it = links_.find(peer);
    if (it != links_.end() && it->second.serial == serial) wait_and_redial(it->second, peer);
}

void sim_node::wait_and_redial(link& l, std::string const& peer) {
    l.state = link_state::waiting;
    l.conn = 0;
    auto const delay = l.backoff;
    l.backoff = std::min(l.backoff * 2, max_backoff);
    at(world_.now() + delay, [this, peer, serial = l.serial] {
        auto it = links_.find(peer);
        if (it != links_.end() && it->second.serial == serial &&
            it->second.state == link_state::waiting)
            dial(peer);
    });
}

void sim_node::drop_link(std::string const& peer) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    if (it->second.conn) close(it->second.conn);
    links_.erase(it);
}

// ---------------------------------------------------------------- connections

bool sim_node::accept(connection_id c, int from) {
    std::size_t const cap = 2 * world_.config().max_peers + 64;  // daemon/chat_node.cpp
    if (!up() || inbound_ >= cap) return false;
    connections_[c] = {role::inbound, 1, {}, world_.node(from).spec().host};
    ++inbound_;
    return true;
}

void sim_node::deliver(connection_id c, segment_kind kind, frame const& f) {
    post([this, c, kind, f] {
        auto it = connections_.find(c);
        if (it == connections_.end()) return;  // we closed it: what still arrives is dropped
        if (kind == segment_kind::frame) {
            // Copied under the node's account: what the engine keeps of it is its memory.
            std::optional<wire::message> copy;
            {
                memory::charge engine_memory(index_ + 1);
                copy.emplace(*f.message);
            }
            on_frame(c, it->second, std::move(*copy));
        } else {
            on_closed(c, kind);
        }
    });
}

void sim_node::on_frame(connection_id c, connection_end& end, wire::message m) {
    if (end.kind == role::join) {
        on_join_answer(c, std::move(m));
        return;
    }
    if (end.kind == role::inbound && end.peer.empty()) {
        // The connection layer vouches for the peer: set once, from the first hello or join.
        if (auto const* hello = std::get_if<wire::hello_msg>(&m))
            end.peer = hello->from.id;
        else if (auto const* join = std::get_if<wire::join_msg>(&m))
            end.peer = join->from.id;
    }
    line_.assign("frame c");
    line_ += std::to_string(c);
    line_ += end.kind == role::link ? " link " : " in ";
    line_ += end.peer.empty() ? "-" : world_.names()(end.peer);
    line_ += ": ";
    describe(line_, m, world_.names());
    // The views in `source` stay valid through the engine call: effects run after it.
    engine::frame_source const source{c, end.peer, end.remote_host};
    input(line_, [&](engine::node& n) { n.on_frame(source, std::move(m), now()); });
}

void sim_node::on_closed(connection_id c, segment_kind kind) {
    auto it = connections_.find(c);
    connection_end const end = it->second;
    if (kind == segment_kind::fin) world_.net().close(c, end.side);  // we close our end too
    forget(c);
    line_.assign(kind == segment_kind::fin ? "closed c" : "reset c");
    line_ += std::to_string(c);
    trace_line(line_);
    switch (end.kind) {
        case role::link:
            if (auto l = links_.find(end.peer); l != links_.end() && l->second.conn == c)
                link_broke(end.peer);
            return;
        case role::inbound:
            return;
        case role::join:
            if (join_.active && join_.conn == c) {
                join_.conn = 0;
                join_failed("connection closed before a welcome");
            }
            return;
    }
}

void sim_node::forget(connection_id c) {
    auto it = connections_.find(c);
    if (it == connections_.end()) return;
    if (it->second.kind == role::inbound) --inbound_;
    connections_.erase(it);
}

void sim_node::close(connection_id c) {
    auto it = connections_.find(c);
    if (it == connections_.end()) return;
    world_.net().close(c, it->second.side);
    forget(c);
}

// ---------------------------------------------------------------- joining

void sim_node::arm_reconnect() {
    auto const interval = world_.config().reconnect_interval;
    if (interval.count() == 0) return;
    at(world_.now() + interval, [this] {
        reconnect();
        arm_reconnect();
    });
}

void sim_node::reconnect() {
    if (!member() || join_.active) return;
    auto const& table = engine_->members().table();
    std::vector<int> removed;
    for (auto const& [id, n] : remembered_) {
        auto const* known = table.find(id);
        bool const said_goodbye =
            known && known->state == wire::peer_state::left && crypto::verifies(*known);
        if (id != spec_.id && !table.is_alive(id) && !said_goodbye) removed.push_back(n);
    }
    if (removed.empty()) return;
    start_join({removed[reconnect_turn_++ % removed.size()]}, false, true);
}

void sim_node::start_join(std::vector<int> contacts, bool pick, bool once) {
    join_ = {};
    join_.active = true;
    join_.once = once;
    join_.pick = pick;
    join_.contacts = std::move(contacts);
    join_.round = pick ? world_.pick_contacts(index_) : join_.contacts;
    join_.backoff = first_join_backoff;
    join_attempt();
}

void sim_node::join_attempt() {
    if (join_.once && join_.next >= join_.round.size()) {
        join_ = {};  // a reconnect that failed: the next one tries another peer
        return;
    }
    if (join_.next >= join_.round.size()) {
        // Every contact failed: run alone for a while, then try them all again.
        auto const delay = join_.backoff;
        join_.backoff = std::min(join_.backoff * 2, max_join_backoff);
        auto const serial = ++join_.serial;
        trace_line("join: no contact welcomed us; retrying in " +
                   std::to_string(delay.count() / 1000) + " ms");
        at(world_.now() + delay, [this, serial] {
            if (!join_.active || join_.serial != serial) return;
            join_.round = join_.pick ? world_.pick_contacts(index_) : join_.contacts;
            join_.next = 0;
            if (join_.round.empty()) {
                // Nobody else is up: this node is the network now.
                join_.active = false;
                member_ = true;
                world_.record().membership(index_, true, world_.now());
                return;
            }
            join_attempt();
        });
        return;
    }
    int const contact = join_.round[join_.next++];
    auto const serial = ++join_.serial;
    join_.contact = contact;
    join_.conn = 0;
    trace_line("join: through n" + std::to_string(contact));
    world_.net().dial(index_, contact, join_timeout,
                      [this, generation = generation_, serial,
                       host = world_.node(contact).spec().host](connection_id c, dial_error e) {
                          if (generation != generation_) {
                              if (c) world_.net().reset(c, 0);
                              return;
                          }
                          if (c) connections_[c] = {role::join, 0, {}, host};
                          post([this, serial, c, e] { on_join_dialed(serial, c, e); });
                      });
    at(world_.now() + join_timeout, [this, serial] {
        if (join_.active && join_.serial == serial) join_failed("no answer within 10 s");
    });
}

void sim_node::on_join_dialed(std::uint64_t serial, connection_id c, dial_error e) {
    if (!join_.active || serial != join_.serial) {
        if (c) close(c);
        return;
    }
    if (e != dial_error::none) {
        join_failed(e == dial_error::refused ? "connection refused" : "connect timed out");
        return;
    }
    if (!connections_.contains(c)) {
        join_failed("connection closed before a welcome");
        return;
    }
    join_.conn = c;
    frame f = make_frame(engine::make_outgoing(engine_->join_request(join_.once)));
    line_.assign("join: c");
    line_ += std::to_string(c);
    line_ += " <- ";
    describe(line_, *f.message, world_.names());
    trace_line(line_);
    write(c, 0, std::move(f));
}

void sim_node::on_join_answer(connection_id c, wire::message&& m) {
    if (!join_.active || c != join_.conn) return;
    if (auto* refused = std::get_if<wire::refused_msg>(&m)) {
        close(c);
        join_.conn = 0;
        // A reconnect to a peer that left (we missed its goodbye): not called back again.
        if (join_.once && refused->code == "left")
            remembered_.erase(world_.node(join_.contact).spec().id);
        join_failed("refused: " + refused->code);
        return;
    }
    auto* welcome = std::get_if<wire::welcome_msg>(&m);
    if (!welcome) return;  // anything else before the answer is ignored
    close(c);
    join_.conn = 0;
    ++join_.serial;  // the attempt is over: its timeout must not fire
    auto const& contact = world_.node(join_.contact).spec();
    line_.assign("joined through n");
    line_ += std::to_string(join_.contact);
    line_ += ": ";
    describe(line_, m, world_.names());
    bool ok = false;
    input(line_, [&](engine::node& n) {
        ok = n.joined(std::move(*welcome), contact.listen, now()).has_value();
    });
    if (!ok) {
        join_attempt();
        return;
    }
    join_ = {};
    member_ = true;
    world_.record().membership(index_, true, world_.now());
}

void sim_node::join_failed(std::string_view why) {
    trace_line("join: through n" + std::to_string(join_.contact) + " failed: " + std::string(why));
    if (join_.conn) {
        close(join_.conn);
        join_.conn = 0;
    }
    join_attempt();
}

}  // namespace p2pchat::sim
