#include "tests/unit/engine/harness.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/wire/frame_decoder.hpp"
#include "tests/support/identities.hpp"

namespace p2pchat::engine::harness {

namespace {

using namespace std::chrono_literals;

steady_time steady_at(std::int64_t elapsed_ms) {
    // Not the clock's epoch: nothing should depend on a steady time being near zero.
    return steady_time{} + 1000s + milliseconds(elapsed_ms);
}

std::string short_id(std::string const& id) { return id.substr(0, 8); }

}  // namespace

std::string node_id(char key) { return test::id_of(key); }

std::string_view frame::type() const { return wire::type_name(*message); }
std::string_view delivery::type() const { return wire::type_name(message); }

std::set<std::string> machine::alive_peers() const {
    std::set<std::string> out;
    for (auto const& e : engine->members().table().alive_peers()) out.insert(e.id);
    return out;
}

std::vector<std::string> machine::shown_texts() const {
    std::vector<std::string> out;
    for (auto const& m : events_of<message_arrived>()) out.push_back(m.chat.text);
    return out;
}

bool machine::link_up(std::string const& peer) const {
    auto it = links.find(peer);
    return it != links.end() && it->second.up;
}

// ---------------------------------------------------------------- machines

machine& network::add(char key, machine_options o) {
    return add(key, o, memory_store(o.store_capacity));
}

machine& network::add(char key, machine_options const& o, memory_store store) {
    auto m = std::make_unique<machine>(std::move(store));
    m->key = key;
    m->id = node_id(key);
    m->host = "127.0.1." + std::to_string(static_cast<unsigned char>(key));
    m->listen = o.listen.empty() ? m->host + ":7447" : o.listen;
    m->clock_skew_ms = o.clock_skew_ms;
    node_config const config{.id = m->id,
                             .name = o.name.empty() ? std::string("node-") + key : o.name,
                             .listen = m->listen,
                             .max_peers = o.max_peers,
                             .gossip_interval = o.gossip_interval,
                             .peer_timeout = o.peer_timeout,
                             .detector = o.detector,
                             .seed = o.seed,
                             .signing_key = test::identity_of(key).key};
    machine& ref = *m;
    machines_[key] = std::move(m);
    ref.engine = std::make_unique<node>(config, now_of(ref), ref.store);
    ref.engine->start(now_of(ref));
    execute(ref);
    return ref;
}

machine& network::at(char key) {
    auto it = machines_.find(key);
    if (it == machines_.end()) throw std::out_of_range(std::string("no machine ") + key);
    return *it->second;
}

machine const& network::at(char key) const {
    auto it = machines_.find(key);
    if (it == machines_.end()) throw std::out_of_range(std::string("no machine ") + key);
    return *it->second;
}

std::vector<char> network::keys() const {
    std::vector<char> out;
    for (auto const& [key, m] : machines_) out.push_back(key);
    return out;
}

machine* network::find(std::string const& id) {
    for (auto& [key, m] : machines_)
        if (m->id == id) return m.get();
    return nullptr;
}

machine& network::by_id(std::string const& id) {
    if (machine* m = find(id)) return *m;
    throw std::out_of_range("no machine with id " + short_id(id));
}

machine* network::find_running(std::string const& id) {
    machine* m = find(id);
    return m && m->up ? m : nullptr;
}

machine* network::find_listener(address const& target) {
    for (auto& [key, m] : machines_) {
        if (!m->up) continue;
        // Reached where it advertises itself, or on its own host at that port.
        auto const listen = parse_address(m->listen);
        if (listen && listen->port == target.port &&
            (target.host == m->host || target.host == listen->host))
            return m.get();
    }
    return nullptr;
}

// ---------------------------------------------------------------- the clock

instant network::now_of(machine const& m) const {
    return {steady_at(elapsed_ms_), start_unix_ms + elapsed_ms_ + m.clock_skew_ms};
}

instant network::now(char key) const { return now_of(at(key)); }

void network::advance(milliseconds by) {
    std::int64_t const target = elapsed_ms_ + by.count();
    // Down links are redialled (the runtime's backoff, compressed).
    for (auto& [key, m] : machines_) {
        if (!m->up) continue;
        for (auto& [peer, l] : m->links) {
            bool const pending =
                std::any_of(dials_.begin(), dials_.end(), [&](dial_attempt const& d) {
                    return d.dialer == m->id && d.peer == peer && d.generation == l.generation;
                });
            if (!l.up && !pending) queue_dial(*m, peer);
        }
    }
    for (;;) {
        // The earliest timer due, gossip or probe, of any machine.
        machine* next = nullptr;
        std::optional<steady_time> next_at;
        timer_kind kind = timer_kind::gossip;
        for (auto& [key, m] : machines_) {
            if (!m->up) continue;
            for (auto [at, k] :
                 {std::pair{m->gossip_at, timer_kind::gossip},
                  std::pair{m->probe_at, timer_kind::probe}, std::pair{m->ack_at, timer_kind::ack}})
                if (at && *at <= steady_at(target) && (!next_at || *at < *next_at)) {
                    next = m.get();
                    next_at = at;
                    kind = k;
                }
        }
        if (!next) break;
        auto const at_ms =
            std::chrono::duration_cast<milliseconds>(*next_at - steady_at(0)).count();
        elapsed_ms_ = std::max(elapsed_ms_, at_ms);
        (kind == timer_kind::gossip  ? next->gossip_at
         : kind == timer_kind::probe ? next->probe_at
                                     : next->ack_at)
            .reset();
        next->engine->on_timer(kind, now_of(*next));
        execute(*next);
        if (settling_) run();
    }
    elapsed_ms_ = target;
}

void network::settle(milliseconds by) {
    settling_ = true;
    run();
    advance(by);
    run();
    settling_ = false;
}

// ---------------------------------------------------------------- operations

std::string network::mesh(std::string const& keys) {
    std::string failed;
    for (char k : keys) add(k);
    for (char k : keys.substr(1)) {
        join(k, keys[0]);
        run();
        auto const& j = at(k).join;
        if (!j || !j->joined || !*j->joined) failed += k;
    }
    return failed;
}

op_result<send_receipt> network::send(char key, std::string text) {
    machine& m = at(key);
    auto r = m.engine->send(std::move(text), now_of(m));
    execute(m);
    return r;
}

op_result<std::string> network::rename(char key, std::string name) {
    machine& m = at(key);
    auto r = m.engine->rename(std::move(name), now_of(m));
    execute(m);
    return r;
}

std::size_t network::leave(char key) {
    machine& m = at(key);
    auto const told = m.engine->leave(now_of(m));
    execute(m);
    return told;
}

void network::stop(char key) {
    machine& m = at(key);
    m.engine->stop(now_of(m));
    execute(m);
}

void network::join(char newcomer, char contact) {
    machine& n = at(newcomer);
    machine& c = at(contact);
    n.join = machine::join_outcome{};
    auto const number = open_connection(n, c, {}, true);
    queue_frame(number, true, make_outgoing(n.engine->join_request()));
}

void network::input(char key, std::function<void(node&, instant)> const& f) {
    machine& m = at(key);
    f(*m.engine, now_of(m));
    execute(m);
}

void network::inject(char to, wire::message message, std::string const& vouched,
                     std::string const& from_host) {
    machine& m = at(to);
    auto const number = next_connection_++;
    connection c;
    c.dialer_host = from_host;
    c.acceptor = m.id;
    c.at_acceptor = ++next_local_connection_[m.id];
    c.vouched = vouched;
    auto& stored = connections_.emplace(number, std::move(c)).first->second;
    local_[{m.id, stored.at_acceptor}] = {number, false};
    m.engine->on_frame(frame_source{stored.at_acceptor, stored.vouched, stored.dialer_host},
                       std::move(message), now_of(m));
    execute(m);
}

// ---------------------------------------------------------------- connections, links

std::uint64_t network::open_connection(machine& dialer, machine& acceptor, std::string link_peer,
                                       bool join) {
    auto const number = next_connection_++;
    connection c;
    c.dialer = dialer.id;
    c.dialer_host = dialer.host;
    c.acceptor = acceptor.id;
    c.at_dialer = ++next_local_connection_[dialer.id];
    c.at_acceptor = ++next_local_connection_[acceptor.id];
    c.link_peer = std::move(link_peer);
    c.join = join;
    c.vouched = dialer.id;  // the handshake proved the dialler's identity
    local_[{dialer.id, c.at_dialer}] = {number, true};
    local_[{acceptor.id, c.at_acceptor}] = {number, false};
    connections_.emplace(number, std::move(c));
    return number;
}

void network::queue_frame(std::uint64_t number, bool to_acceptor, outgoing message) {
    auto const& c = connections_.at(number);
    std::string const& from = to_acceptor ? c.dialer : c.acceptor;
    std::string const& to = to_acceptor ? c.acceptor : c.dialer;
    if (to.empty()) return;  // an injected connection: the test reads the node's trace
    frames_.push_back(frame{next_seq_++, number, to_acceptor, from, to, std::move(message)});
}

void network::queue_dial(machine& m, std::string const& peer) {
    auto& l = m.links.at(peer);
    l.generation = next_seq_++;
    dials_.push_back(dial_attempt{l.generation, m.id, peer, l.generation});
}

void network::flush_link(machine& m, std::string const& peer) {
    auto it = m.links.find(peer);
    if (it == m.links.end() || !it->second.up) return;
    auto& l = it->second;
    while (!l.queue.empty()) {
        queue_frame(l.connection, true, std::move(l.queue.front()));
        l.queue.pop_front();
    }
}

void network::close_connection_frames(std::uint64_t number, std::optional<bool> to_acceptor) {
    std::erase_if(frames_, [&](frame const& f) {
        return f.connection == number && (!to_acceptor || f.to_acceptor == *to_acceptor);
    });
}

void network::take_down_link(machine& m, std::string const& peer, bool requeue, bool tell) {
    auto it = m.links.find(peer);
    if (it == m.links.end()) return;
    auto& l = it->second;
    if (l.up) {
        // What was written but not read goes back to the front of the queue: the runtime
        // sends it again on the next connection and the receiver drops what it already had.
        std::vector<outgoing> unread;
        for (auto const& f : frames_)
            if (f.connection == l.connection && f.to_acceptor) unread.push_back(f.message);
        l.queue.insert(l.queue.begin(), unread.begin(), unread.end());
        close_connection_frames(l.connection, std::nullopt);
        connections_.at(l.connection).open = false;
        l.up = false;
    }
    if (requeue) queue_dial(m, peer);
    if (tell) {
        m.engine->on_link_down(peer, now_of(m));
        execute(m);
    }
}

void network::break_link(char a, char b) { take_down_link(at(a), id(b), true, true); }

bool network::blocked(std::string const& a, std::string const& b) const {
    return blocked_.contains({a, b}) || blocked_.contains({b, a});
}

void network::block(char a, char b) {
    blocked_.insert({id(a), id(b)});
    for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
        machine& m = at(x);
        std::vector<std::string> to_break;
        for (auto const& [peer, l] : m.links)
            if (l.up && connections_.at(l.connection).acceptor == id(y)) to_break.push_back(peer);
        for (auto const& peer : to_break) take_down_link(m, peer, true, true);
    }
}

void network::unblock(char a, char b) {
    blocked_.erase({id(a), id(b)});
    blocked_.erase({id(b), id(a)});
}

void network::crash(char key) {
    machine& gone = at(key);
    gone.up = false;
    gone.gossip_at.reset();
    gone.probe_at.reset();
    gone.ack_at.reset();
    for (auto& [number, c] : connections_) {
        if (c.dialer != gone.id && c.acceptor != gone.id) continue;
        // Closed connections too: what was flushed on them dies with the process.
        close_connection_frames(number, std::nullopt);
        if (!c.open) continue;
        c.open = false;
        if (c.dialer == gone.id) continue;
        // The other side's link to the crashed node broke.
        if (machine* m = find_running(c.dialer)) {
            auto it = m->links.find(c.link_peer);
            if (it != m->links.end() && it->second.up && it->second.connection == number) {
                it->second.up = false;
                queue_dial(*m, c.link_peer);
                m->engine->on_link_down(c.link_peer, now_of(*m));
                execute(*m);
            }
        }
    }
    gone.links.clear();
}

machine& network::restart(char key, machine_options options) {
    if (at(key).up) crash(key);
    if (options.lose_store) return add(key, std::move(options));
    return add(key, options, std::move(at(key).store));
}

// ---------------------------------------------------------------- effects

void network::execute(machine& m) {
    for (;;) {
        auto effects = m.engine->take_effects();
        for (auto const& e : effects) execute_one(m, e);
        // A seal timer is armed for "now": it fires once the turn's effects are out, as the
        // runtime's does.
        if (!m.seal_due) return;
        m.seal_due = false;
        m.engine->on_timer(timer_kind::seal, now_of(m));
    }
}

void network::execute_one(machine& m, effect const& e) {
    m.trace.push_back(e);
    std::visit(
        [&](auto const& fx) {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, send_to_peer>) {
                auto it = m.links.find(fx.peer);
                if (it == m.links.end())
                    return violation(short_id(m.id) + " sent " +
                                     std::string(wire::type_name(*fx.message)) + " to " +
                                     short_id(fx.peer) + " without a link");
                if (fx.first)
                    it->second.queue.push_front(fx.message);
                else
                    it->second.queue.push_back(fx.message);
                flush_link(m, fx.peer);
            } else if constexpr (std::is_same_v<T, reply_on>) {
                auto it = local_.find({m.id, fx.connection});
                if (it == local_.end())
                    return violation(short_id(m.id) + " replied on unknown connection " +
                                     std::to_string(fx.connection));
                auto const [number, is_dialer] = it->second;
                if (connections_.at(number).open) queue_frame(number, is_dialer, fx.message);
            } else if constexpr (std::is_same_v<T, broadcast>) {
                for (auto& [peer, l] : m.links) {
                    if (peer == fx.except) continue;
                    l.queue.push_back(fx.message);
                    flush_link(m, peer);
                }
            } else if constexpr (std::is_same_v<T, dial_peer>) {
                if (fx.peer == m.id) return violation(short_id(m.id) + " dialled itself");
                if (m.links.contains(fx.peer))
                    return violation(short_id(m.id) + " dialled " + short_id(fx.peer) + " twice");
                if (is_unspecified_host(fx.target.host))
                    violation(short_id(m.id) + " dialled " + short_id(fx.peer) + " at " +
                              to_string(fx.target));
                m.links[fx.peer].target = fx.target;
                queue_dial(m, fx.peer);
            } else if constexpr (std::is_same_v<T, redirect_link>) {
                auto it = m.links.find(fx.peer);
                if (it == m.links.end())
                    return violation(short_id(m.id) + " redirected " + short_id(fx.peer) +
                                     " without a link");
                it->second.target = fx.target;
                take_down_link(m, fx.peer, true, false);
            } else if constexpr (std::is_same_v<T, hang_up>) {
                auto it = m.links.find(fx.peer);
                if (it == m.links.end())
                    return violation(short_id(m.id) + " hung up on " + short_id(fx.peer) +
                                     " without a link");
                if (it->second.up) {
                    auto& c = connections_.at(it->second.connection);
                    c.open = false;
                    // Frames toward us are not read any more; ours go out first on a flush.
                    close_connection_frames(it->second.connection, false);
                    if (!fx.flush) close_connection_frames(it->second.connection, true);
                }
                m.links.erase(it);  // a queue of a link that never came up has nobody to go to
            } else if constexpr (std::is_same_v<T, close_connection>) {
                auto it = local_.find({m.id, fx.connection});
                if (it == local_.end())
                    return violation(short_id(m.id) + " closed unknown connection " +
                                     std::to_string(fx.connection));
                auto const [number, is_dialer] = it->second;
                connections_.at(number).open = false;
                close_connection_frames(number, !is_dialer);  // nothing more is read
                if (!fx.flush) close_connection_frames(number, is_dialer);
            } else if constexpr (std::is_same_v<T, arm_timer>) {
                switch (fx.timer) {
                    case timer_kind::seal:
                        m.seal_due = true;
                        break;
                    case timer_kind::gossip:
                        m.gossip_at = fx.at;
                        break;
                    case timer_kind::probe:
                        m.probe_at = fx.at;
                        break;
                    case timer_kind::ack:
                        m.ack_at = fx.at;
                        break;
                }
            } else if constexpr (std::is_same_v<T, emit_event>) {
                m.events.push_back(fx.event);
            } else if constexpr (std::is_same_v<T, store_message>) {
                m.store.append(fx.chat, fx.arrived_unix_ms);
            } else if constexpr (std::is_same_v<T, store_seal>) {
                m.store.append_seal(fx.seal);
            } else if constexpr (std::is_same_v<T, adopt_network_key>) {
                m.logs.push_back("adopt network key from " + short_id(fx.from));
            } else {
                static_assert(std::is_same_v<T, log_line>);
                m.logs.push_back(fx.text);
            }
        },
        e);
}

// ---------------------------------------------------------------- delivery

std::vector<std::pair<std::uint64_t, bool>> network::eligible_items() const {
    std::vector<std::pair<std::uint64_t, bool>> out;
    std::set<std::pair<std::uint64_t, bool>> heads;  // (connection, direction) seen
    for (auto const& f : frames_)
        if (heads.insert({f.connection, f.to_acceptor}).second) out.push_back({f.seq, true});
    for (auto const& d : dials_) out.push_back({d.seq, false});
    std::sort(out.begin(), out.end());
    return out;
}

std::size_t network::eligible() const { return eligible_items().size(); }

bool network::step(std::size_t index) {
    auto const items = eligible_items();
    if (index >= items.size()) return false;
    auto const [seq, is_frame] = items[index];
    if (is_frame) {
        auto it = std::find_if(frames_.begin(), frames_.end(),
                               [seq](frame const& f) { return f.seq == seq; });
        deliver(static_cast<std::size_t>(it - frames_.begin()));
    } else {
        auto it = std::find_if(dials_.begin(), dials_.end(),
                               [seq](dial_attempt const& d) { return d.seq == seq; });
        dial_attempt d = *it;
        dials_.erase(it);
        attempt(std::move(d));
    }
    return true;
}

std::size_t network::run(std::size_t max_steps) {
    std::size_t steps = 0;
    while (steps < max_steps && step(0)) ++steps;
    if (steps == max_steps) violation("the network did not settle in " + std::to_string(steps));
    return steps;
}

std::size_t network::run_except(std::function<bool(frame const&)> const& hold,
                                std::size_t max_steps) {
    std::size_t steps = 0;
    for (; steps < max_steps; ++steps) {
        auto const items = eligible_items();
        auto next = std::find_if(items.begin(), items.end(), [&](auto const& item) {
            if (!item.second) return true;
            auto it = std::find_if(frames_.begin(), frames_.end(),
                                   [&](frame const& f) { return f.seq == item.first; });
            return !hold(*it);
        });
        if (next == items.end()) break;
        step(static_cast<std::size_t>(next - items.begin()));
    }
    if (steps == max_steps) violation("the network did not settle in " + std::to_string(steps));
    return steps;
}

bool network::deliver_first(std::function<bool(frame const&)> const& pred) {
    for (auto const& [seq, is_frame] : eligible_items()) {
        if (!is_frame) continue;
        auto it = std::find_if(frames_.begin(), frames_.end(),
                               [seq](frame const& f) { return f.seq == seq; });
        if (pred(*it)) {
            deliver(static_cast<std::size_t>(it - frames_.begin()));
            return true;
        }
    }
    return false;
}

void network::connect_all() {
    while (!dials_.empty()) {
        dial_attempt d = dials_.front();
        dials_.erase(dials_.begin());
        attempt(std::move(d));
    }
}

std::size_t network::drop_where(std::function<bool(frame const&)> const& pred) {
    return std::erase_if(frames_, pred);
}

void network::attempt(dial_attempt d) {
    machine* m = find_running(d.dialer);
    if (!m) return;
    auto it = m->links.find(d.peer);
    if (it == m->links.end() || it->second.generation != d.generation || it->second.up) return;
    machine* target =
        is_unspecified_host(it->second.target.host) ? nullptr : find_listener(it->second.target);
    if (!target || blocked(m->id, target->id)) {
        m->engine->on_link_down(d.peer, now_of(*m));
        execute(*m);
        return;
    }
    it->second.up = true;
    it->second.connection = open_connection(*m, *target, d.peer, false);
    m->engine->on_link_up(d.peer, now_of(*m));
    execute(*m);
    flush_link(*m, d.peer);
}

void network::deliver(std::size_t index) {
    frame f = std::move(frames_[index]);
    frames_.erase(frames_.begin() + static_cast<std::ptrdiff_t>(index));
    auto const payload = wire::encode(*f.message);
    if (payload.size() > wire::default_frame_limit)
        return violation(std::string(f.type()) + " of " + std::to_string(payload.size()) +
                         " bytes from " + short_id(f.from) + " is over the frame limit");
    auto decoded = wire::decode(payload);
    if (!decoded)
        return violation(std::string(f.type()) + " from " + short_id(f.from) +
                         " does not decode: " + decoded.error().message());
    machine* to = find_running(f.to);
    if (!to) return;
    delivered_.push_back(delivery{f.from, f.to, *decoded});
    auto& c = connections_.at(f.connection);
    instant const now = now_of(*to);
    if (!f.to_acceptor) {
        if (c.join && to->join) {
            // The join client's connection: the runtime reads the answer itself.
            if (auto* w = std::get_if<wire::welcome_msg>(&*decoded)) {
                machine& contact = by_id(c.acceptor);
                to->join->joined = to->engine->joined(std::move(*w), contact.listen, now);
                execute(*to);
                return;
            }
            if (auto* r = std::get_if<wire::refused_msg>(&*decoded)) {
                to->join->refused = *r;
                return;
            }
        }
        std::string const& host = by_id(c.acceptor).host;
        to->engine->on_frame(frame_source{c.at_dialer, c.link_peer, host}, std::move(*decoded),
                             now);
        execute(*to);
        return;
    }
    to->engine->on_frame(frame_source{c.at_acceptor, c.vouched, c.dialer_host}, std::move(*decoded),
                         now);
    execute(*to);
}

bool network::converged() const {
    std::optional<std::string> digest;
    for (auto const& [key, m] : machines_) {
        if (!m->up || m->engine->summary().state != node_state::active) continue;
        auto const d = m->engine->members().table().digest();
        if (digest && *digest != d) return false;
        digest = d;
    }
    return true;
}

}  // namespace p2pchat::engine::harness
