#include "fuzz/engine_model.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/crypto/signatures.hpp"
#include "common/engine/node.hpp"
#include "common/invite.hpp"
#include "common/text.hpp"
#include "common/wire/frame_decoder.hpp"
#include "fuzz/formats.hpp"
#include "fuzz/input.hpp"
#include "tests/support/identities.hpp"

namespace p2pchat::fuzz {

namespace {

using namespace engine_format;
using engine::connection_id;
using engine::instant;
using engine::steady_time;
using std::chrono::milliseconds;

constexpr std::int64_t start_unix_ms = 1'764'000'000'000;
constexpr std::size_t max_ops = 512;
constexpr std::size_t max_link_queue = 256;  // the daemon's outbox drops the oldest beyond
constexpr std::size_t max_in_flight = 4096;

// P2PCHAT_FUZZ_TRACE=1 prints every op and effect to stderr: for reading a crash's input.
bool const tracing = std::getenv("P2PCHAT_FUZZ_TRACE") != nullptr;
void trace(int k, std::string_view what, std::string_view detail = {}) {
    if (tracing)
        std::fprintf(stderr, "  node %d: %.*s %.*s\n", k, static_cast<int>(what.size()),
                     what.data(), static_cast<int>(detail.size()), detail.data());
}

// Real identities (tests/support/identities.hpp): what the model signs verifies. The engine
// nodes' keys stay theirs: the model signs and seals only as the strangers (ids 3-7), the
// misbehaving members it plays; as a node it can only replay what that node signed.
test::test_identity const& pool_identity(std::size_t i) {
    static constexpr char names[] = "abcdefgh";
    return test::identity_of(names[i % id_pool]);
}
std::string const& pool_id(std::size_t i) { return pool_identity(i).id; }
bool is_stranger(std::size_t i) { return i % id_pool >= nodes; }
// The key the model signs with as `who`: its own for a stranger; for a node, a stranger's
// (a signature in the right form that does not verify: a forgery).
crypto::signing_key const& key_for(std::size_t who) {
    return pool_identity(is_stranger(who) ? who : id_pool - 1).key;
}
std::string host_of(std::size_t i) { return "10.0.0." + std::to_string(i % id_pool + 1); }
std::string reachable_at(std::size_t i) { return host_of(i) + ":7447"; }

// A payload as it travels: encoded once when the node sends it.
using payload = std::shared_ptr<std::string const>;

// One end of a connection, at the node that holds it.
struct connection {
    std::string vouched;           // the id the handshake proved ("" for none)
    std::string remote_host;       // where the other end is
    int other_node = -1;           // the node at the other end, when it is one of ours
    connection_id other_conn = 0;  // its end there; 0 for a join connection (runtime-held)
    std::string link_peer;         // at a dialler: the link this connection carries
};

struct link {
    address target;
    bool up = false;
    connection_id conn = 0;
    std::deque<payload> queue;
};

struct frame_in_flight {
    int to = 0;
    connection_id conn = 0;
    payload bytes;  // null: the end of the stream (the other end closed after its last frame)
};

struct machine {
    std::string id, host, listen;
    std::int64_t skew_ms = 0;
    std::unique_ptr<engine::memory_store> store;
    std::unique_ptr<engine::node> engine;
    std::map<std::string, link> links;
    std::map<connection_id, connection> conns;
    connection_id next_conn = 1;
    std::map<engine::timer_kind, steady_time> timers;
    std::set<std::pair<std::string, std::uint64_t>> shown;
    std::uint64_t sends_ok = 0, shown_remote = 0;
    std::uint64_t delivered_through = 0;  // the last own message a delivery event settled
    std::uint64_t last_inc = 0, last_seq = 0, last_lamport = 0;
    bool ever_stopped = false;
};

class world {
  public:
    explicit world(std::uint8_t setup) {
        static constexpr std::size_t max_peers[] = {256, 1, 2, 3};
        for (int k = 0; k < nodes; ++k) {
            machine& m = nodes_[k];
            m.id = pool_id(static_cast<std::size_t>(k));
            m.host = host_of(static_cast<std::size_t>(k));
            // (Setup bit 0 is unused: nodes advertise an address others can dial; the daemon
            // puts an interface's address in place of --listen 0.0.0.0.)
            m.listen = reachable_at(k);
            m.skew_ms = (k == 1 && (setup & 8)) ? -3'600'000 : 0;
            m.store = std::make_unique<engine::memory_store>(64);
            engine::node_config const config{m.id,
                                             "node-" + std::to_string(k),
                                             m.listen,
                                             k == 2 ? max_peers[(setup >> 1) & 3] : 256,
                                             milliseconds(2000),
                                             milliseconds(30000),
                                             engine::detector_config{},
                                             static_cast<std::uint64_t>(k),
                                             pool_identity(k).key};
            m.engine = std::make_unique<engine::node>(config, now(k), *m.store);
            input(k, 0, [&](engine::node& n, instant t) { n.start(t); });
        }
        check_all();
    }

    void step(reader& in);
    void check_all();
    engine_outcome outcome() const;
    std::size_t delivered() const { return delivered_; }

  private:
    instant now(int k) const {
        return {steady_time{} + std::chrono::seconds(1000) + milliseconds(elapsed_),
                start_unix_ms + elapsed_ + nodes_[k].skew_ms};
    }
    int node_arg(reader& in) { return static_cast<int>(in.below(nodes)); }

    // Feeds one input to node k (conn: the connection of the frame being handled, or 0) and
    // executes the effects, then reports the link breaks those effects caused elsewhere.
    template <class F>
    void input(int k, connection_id conn, F&& f) {
        current_node_ = k;
        current_conn_ = conn;
        f(*nodes_[k].engine, now(k));
        while (nodes_[k].engine->has_effects())
            for (auto& e : nodes_[k].engine->take_effects()) execute(k, e);
        current_node_ = -1;
        current_conn_ = 0;
        report_downs();
    }
    void report_downs() {
        while (!downs_.empty()) {
            int const j = downs_.front().first;
            std::string const peer = std::move(downs_.front().second);
            downs_.pop_front();
            input(j, 0, [&](engine::node& n, instant t) { n.on_link_down(peer, t); });
        }
    }

    void execute(int k, engine::effect& e);
    payload encode_checked(wire::message const& m);
    void send_on(int k, connection_id conn, payload const& p);
    void flush(int k, std::string const& peer);
    void close(int k, connection_id conn, bool flush);
    void end_of_stream(int k, connection_id conn);
    void mark_down(int k, connection const& end);
    void enqueue(int k, std::string const& peer, payload const& p, bool first);

    void connect(int k, std::string const& peer);
    void deliver_at(std::size_t index);
    void fire_due_timers();
    void join(int k, int contact);
    std::optional<wire::message> build(reader& in, int k);
    wire::peer_entry entry(reader& in, int k);
    wire::chat_msg chat(reader& in, int k, std::string* previous = nullptr);
    wire::seal_msg seal(reader& in);
    void fill_history(reader& in, int k, wire::welcome_msg& w);
    std::uint64_t number(reader& in, std::uint64_t base);
    std::string text(reader& in);
    std::string name(reader& in);

    std::array<machine, nodes> nodes_;
    std::deque<frame_in_flight> flight_;
    std::deque<std::pair<int, std::string>> downs_;
    std::vector<payload> join_replies_;
    std::int64_t elapsed_ = 0;
    int current_node_ = -1;
    connection_id current_conn_ = 0;
    std::size_t delivered_ = 0;
    // The newest message the model made for each origin, which the next one chains to and a
    // seal signs: (seq, chain).
    std::map<std::size_t, std::pair<std::uint64_t, std::string>> tips_;
};

// ---------------------------------------------------------------- effects

payload world::encode_checked(wire::message const& m) {
    auto bytes = std::make_shared<std::string const>(wire::encode(m));
    FUZZ_CHECK(bytes->size() <= wire::default_frame_limit);
    FUZZ_CHECK(wire::decode(*bytes).has_value());
    return bytes;
}

void world::send_on(int k, connection_id conn, payload const& p) {
    auto it = nodes_[k].conns.find(conn);
    if (it == nodes_[k].conns.end() || it->second.other_node < 0) return;
    if (it->second.other_conn == 0) {
        join_replies_.push_back(p);  // the joiner's runtime reads it
        return;
    }
    if (flight_.size() < max_in_flight)
        flight_.push_back({it->second.other_node, it->second.other_conn, p});
}

void world::flush(int k, std::string const& peer) {
    auto& l = nodes_[k].links.at(peer);
    if (!l.up) return;
    while (!l.queue.empty()) {
        send_on(k, l.conn, l.queue.front());
        l.queue.pop_front();
    }
}

void world::enqueue(int k, std::string const& peer, payload const& p, bool first) {
    auto& l = nodes_[k].links.at(peer);
    if (first)
        l.queue.push_front(p);
    else
        l.queue.push_back(p);
    if (l.queue.size() > max_link_queue) l.queue.pop_back();
    flush(k, peer);
}

// Closes k's end of a connection. The other end reads what was already sent and then the end
// of the stream (flush), or loses it all (a reset). A link carried by an end that closes goes
// down, and its node hears of it.
void world::close(int k, connection_id conn, bool flush) {
    auto it = nodes_[k].conns.find(conn);
    if (it == nodes_[k].conns.end()) return;
    connection const c = it->second;
    nodes_[k].conns.erase(it);
    mark_down(k, c);
    if (c.other_node < 0 || c.other_conn == 0) return;
    if (flush) {
        flight_.push_back({c.other_node, c.other_conn, nullptr});
        return;
    }
    std::erase_if(flight_, [&](frame_in_flight const& f) {
        return f.to == c.other_node && f.conn == c.other_conn;
    });
    end_of_stream(c.other_node, c.other_conn);
}

void world::end_of_stream(int k, connection_id conn) {
    auto it = nodes_[k].conns.find(conn);
    if (it == nodes_[k].conns.end()) return;
    connection const c = it->second;
    nodes_[k].conns.erase(it);
    mark_down(k, c);
}

void world::mark_down(int k, connection const& end) {
    if (end.link_peer.empty()) return;
    auto l = nodes_[k].links.find(end.link_peer);
    if (l == nodes_[k].links.end() || !l->second.up) return;
    l->second.up = false;
    downs_.emplace_back(k, end.link_peer);
}

void world::execute(int k, engine::effect& e) {
    machine& m = nodes_[k];
    if (tracing) {
        std::string detail;
        if (auto const* l = std::get_if<engine::log_line>(&e)) detail = l->text;
        if (auto const* s = std::get_if<engine::send_to_peer>(&e))
            detail = s->peer.substr(0, 4) + " " + wire::encode(*s->message);
        if (auto const* b = std::get_if<engine::broadcast>(&e)) detail = wire::encode(*b->message);
        if (auto const* r = std::get_if<engine::reply_on>(&e)) detail = wire::encode(*r->message);
        if (auto const* d = std::get_if<engine::dial_peer>(&e))
            detail = d->peer.substr(0, 4) + " at " + to_string(d->target);
        if (auto const* h = std::get_if<engine::hang_up>(&e)) detail = h->peer.substr(0, 4);
        trace(k, engine::kind_name(e), detail.substr(0, 300));
    }
    std::visit(
        [&](auto& fx) {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, engine::send_to_peer>) {
                FUZZ_CHECK(m.links.contains(fx.peer));
                enqueue(k, fx.peer, encode_checked(*fx.message), fx.first);
            } else if constexpr (std::is_same_v<T, engine::reply_on>) {
                // The answer to what arrived on that connection: now, or later for an
                // indirect probe (the failure detector answers the requester when the target
                // does). A connection closed meanwhile takes nothing.
                FUZZ_CHECK(current_node_ == k && fx.connection != 0);
                send_on(k, fx.connection, encode_checked(*fx.message));
            } else if constexpr (std::is_same_v<T, engine::broadcast>) {
                auto const p = encode_checked(*fx.message);
                for (auto const& [peer, l] : m.links)
                    if (peer != fx.except) enqueue(k, peer, p, false);
            } else if constexpr (std::is_same_v<T, engine::dial_peer>) {
                FUZZ_CHECK(fx.peer != m.id);
                FUZZ_CHECK(!m.links.contains(fx.peer));
                FUZZ_CHECK(wire::is_node_id(fx.peer));
                FUZZ_CHECK(!is_unspecified_host(fx.target.host) && fx.target.port != 0);
                link l;
                l.target = fx.target;
                m.links.emplace(fx.peer, std::move(l));
            } else if constexpr (std::is_same_v<T, engine::redirect_link>) {
                FUZZ_CHECK(m.links.contains(fx.peer));
                FUZZ_CHECK(!is_unspecified_host(fx.target.host) && fx.target.port != 0);
                auto& l = m.links.at(fx.peer);
                l.target = fx.target;
                if (l.up) close(k, l.conn, false);
            } else if constexpr (std::is_same_v<T, engine::hang_up>) {
                FUZZ_CHECK(m.links.contains(fx.peer));
                auto const l = m.links.at(fx.peer);
                m.links.erase(fx.peer);  // first: the runtime reports no link_down for it
                if (l.up) close(k, l.conn, fx.flush);
            } else if constexpr (std::is_same_v<T, engine::close_connection>) {
                // The answer to what arrived on that connection: now, or later for an
                // indirect probe (the failure detector answers the requester when the target
                // does). A connection closed meanwhile takes nothing.
                FUZZ_CHECK(current_node_ == k && fx.connection != 0);
                close(k, fx.connection, fx.flush);
            } else if constexpr (std::is_same_v<T, engine::arm_timer>) {
                FUZZ_CHECK(fx.at >= now(k).steady);
                m.timers[fx.timer] = fx.at;
            } else if constexpr (std::is_same_v<T, engine::emit_event>) {
                std::visit(
                    [&](auto const& ev) {
                        using E = std::decay_t<decltype(ev)>;
                        if constexpr (std::is_same_v<E, engine::message_arrived>) {
                            FUZZ_CHECK(m.shown.insert({ev.chat.origin, ev.chat.seq}).second);
                            if (ev.self)
                                FUZZ_CHECK(ev.chat.origin == m.id);
                            else
                                ++m.shown_remote;
                        } else if constexpr (std::is_same_v<E, engine::peer_joined>) {
                            FUZZ_CHECK(ev.peer.id != m.id && wire::is_node_id(ev.peer.id));
                        } else if constexpr (std::is_same_v<E, engine::peer_left>) {
                            FUZZ_CHECK(wire::is_node_id(ev.peer.id));
                        } else if constexpr (std::is_same_v<E, engine::peer_renamed>) {
                            FUZZ_CHECK(ev.peer.name != ev.old_name);
                        } else {
                            static_assert(std::is_same_v<E, engine::message_delivery>);
                            // Our own messages, settled in order, each run once.
                            FUZZ_CHECK(ev.origin == m.id && ev.first_seq <= ev.seq &&
                                       ev.first_seq > m.delivered_through);
                            m.delivered_through = ev.seq;
                        }
                    },
                    fx.event);
            } else if constexpr (std::is_same_v<T, engine::store_message>) {
                m.store->append(fx.chat, fx.arrived_unix_ms);
            } else if constexpr (std::is_same_v<T, engine::store_seal>) {
                m.store->append_seal(fx.seal);
            } else if constexpr (std::is_same_v<T, engine::adopt_network_key>) {
                FUZZ_CHECK(parse_network_key(fx.key).has_value());
            } else {
                static_assert(std::is_same_v<T, engine::log_line>);
                FUZZ_CHECK(!fx.text.empty());
            }
        },
        e);
}

// ---------------------------------------------------------------- the runtime's doings

void world::connect(int k, std::string const& peer) {
    machine& m = nodes_[k];
    auto& l = m.links.at(peer);
    if (l.up) return;
    // The dial reaches whoever listens at the address; the handshake proves who that is.
    int found = -1;
    for (int j = 0; j < nodes; ++j)
        if (j != k && to_string(l.target) == reachable_at(j) &&
            nodes_[j].engine->members().state() != engine::node_state::stopping)
            found = j;
    if (found < 0 || nodes_[found].id != peer) {
        input(k, 0, [&](engine::node& n, instant t) { n.on_link_down(peer, t); });
        return;
    }
    machine& there = nodes_[found];
    connection_id const here_id = m.next_conn++, there_id = there.next_conn++;
    m.conns[here_id] = {peer, there.host, found, there_id, peer};
    there.conns[there_id] = {m.id, m.host, k, here_id, ""};
    l.up = true;
    l.conn = here_id;
    input(k, 0, [&](engine::node& n, instant t) { n.on_link_up(peer, t); });
}

void world::deliver_at(std::size_t index) {
    // Frames on one connection arrive in order: take the oldest on the chosen frame's.
    auto const chosen = flight_[index];
    std::size_t first = 0;
    while (flight_[first].to != chosen.to || flight_[first].conn != chosen.conn) ++first;
    auto const f = flight_[first];
    flight_.erase(flight_.begin() + static_cast<std::ptrdiff_t>(first));
    if (!f.bytes) {
        end_of_stream(f.to, f.conn);
        report_downs();
        return;
    }
    auto const& conns = nodes_[f.to].conns;
    auto it = conns.find(f.conn);
    if (it == conns.end()) return;  // closed meanwhile
    std::string const vouched = it->second.vouched, host = it->second.remote_host;
    auto decoded = wire::decode(*f.bytes);
    FUZZ_CHECK(decoded.has_value());
    ++delivered_;
    trace(f.to, "receives", f.bytes->substr(0, 300));
    input(f.to, f.conn, [&](engine::node& n, instant t) {
        n.on_frame({f.conn, vouched, host}, std::move(*decoded), t);
    });
}

void world::fire_due_timers() {
    for (;;) {
        int due = -1;
        std::optional<std::pair<engine::timer_kind, steady_time>> first;
        for (int k = 0; k < nodes; ++k)
            for (auto const& [kind, at] : nodes_[k].timers)
                if (at <= now(k).steady && (!first || at < first->second)) {
                    due = k;
                    first = {kind, at};
                }
        if (due < 0) return;
        nodes_[due].timers.erase(first->first);
        engine::timer_kind const kind = first->first;
        input(due, 0, [kind](engine::node& n, instant t) { n.on_timer(kind, t); });
    }
}

void world::join(int k, int contact) {
    machine& m = nodes_[k];
    machine& c = nodes_[contact];
    // A stopping node joins nobody, and its listener is closed.
    if (m.engine->members().state() == engine::node_state::stopping ||
        c.engine->members().state() == engine::node_state::stopping)
        return;
    auto const request = encode_checked(m.engine->join_request());
    auto decoded = wire::decode(*request);
    connection_id const conn = c.next_conn++;
    c.conns[conn] = {m.id, m.host, k, 0, ""};
    join_replies_.clear();
    input(contact, conn, [&](engine::node& n, instant t) {
        n.on_frame({conn, m.id, m.host}, std::move(*decoded), t);
    });
    c.conns.erase(conn);
    if (join_replies_.empty()) return;
    auto answer = wire::decode(*join_replies_.front());
    join_replies_.clear();
    FUZZ_CHECK(answer.has_value());
    if (auto* welcome = std::get_if<wire::welcome_msg>(&*answer))
        input(k, 0, [&](engine::node& n, instant t) {
            (void)n.joined(std::move(*welcome), c.listen, t);
        });
}

// ---------------------------------------------------------------- building messages

std::uint64_t world::number(reader& in, std::uint64_t base) {
    constexpr auto max = std::numeric_limits<std::uint64_t>::max();
    switch (in.u8() % 8) {
        case 0:
            return base;
        case 1:
            return base + 1;
        case 2:
            return base - (base > 0);
        case 3:
            return static_cast<std::uint64_t>(start_unix_ms) + in.u16();
        case 4:
            return in.u8();
        case 5:
            return max;
        case 6:
            return max - in.u8();
        default:
            return in.u64();
    }
}

std::string world::name(reader& in) {
    static constexpr char const* names[] = {"alice", "bob", "node-0", "\xc3\xa9ve"};
    std::size_t const choice = in.u8() % 6;
    if (choice < 4) return names[choice];
    if (choice == 4) return std::string(65, 'n');
    return in.blob();
}

std::string world::text(reader& in) {
    // Texts at the limit are rare choices: they make every welcome big, and slow.
    switch (in.u8() % 16) {
        case 0:
            return "hello";
        case 1:
            return std::string(max_text_bytes, 'x');
        case 2:
            return std::string(max_text_bytes + 1, 'x');
        case 3:
            return "";
        case 4:
            return "\"" + std::string(2000, '\n') + "\"";  // escapes: grows in JSON
        case 5:
            return "caf\xc3\xa9";
        default:
            return in.blob();
    }
}

wire::peer_entry world::entry(reader& in, int k) {
    std::size_t const who = in.below(id_pool);
    std::size_t const how = in.u8() % 8;
    if (!is_stranger(who) && how < 2) {
        // A node's own signed word, replayed: as it stands now, or as node k keeps it.
        wire::peer_entry const& own = nodes_[who].engine->members().self();
        auto const* kept = nodes_[k].engine->members().table().find(own.id);
        return how == 1 && kept ? *kept : own;
    }
    wire::peer_entry e;
    e.id = pool_id(who);
    e.name = name(in);
    switch (in.u8() % 5) {
        case 0:
            e.addr = reachable_at(who);
            break;
        case 1:
            e.addr = reachable_at(in.u8());
            break;
        case 2:
            e.addr = "[::1]:7447";
            break;
        case 3:
            e.addr = host_of(who) + ":1";
            break;
        default:
            e.addr = in.blob();
    }
    auto const* known = nodes_[k].engine->members().table().find(e.id);
    e.inc = number(in, known ? known->inc : static_cast<std::uint64_t>(start_unix_ms));
    e.state = in.flag() ? wire::peer_state::left : wire::peer_state::alive;
    e.sig = crypto::sign_entry(e, key_for(who));
    if (how == 7) ++e.inc;  // changed after it was signed
    return e;
}

wire::chat_msg world::chat(reader& in, int k, std::string* previous) {
    std::size_t const who = in.below(id_pool);
    auto& tip = tips_[who];
    wire::chat_msg c;
    c.origin = pool_id(who);
    c.seq = number(
        in, tip.first > 0 ? tip.first + 1 : static_cast<std::uint64_t>(start_unix_ms) * 1000 + 1);
    c.lamport = number(in, nodes_[k].engine->chat().lamport());
    c.time_ms = static_cast<std::int64_t>(number(in, static_cast<std::uint64_t>(start_unix_ms)));
    c.name = name(in);
    c.text = text(in);
    // Chained after the origin's previous message, or the first of a run.
    std::string const after = in.u8() % 4 == 0 ? std::string() : tip.second;
    c.chain = crypto::next_chain(after, c);
    tip = {c.seq, c.chain};
    if (previous) *previous = after;
    return c;
}

// A seal as `who` would make it (a node's is a forgery: the model does not hold its key).
wire::seal_msg world::seal(reader& in) {
    std::size_t const who = in.below(id_pool);
    auto const& tip = tips_[who];
    std::string chain = tip.second;
    if (chain.empty() || in.u8() % 4 == 0) chain = crypto::next_chain(in.blob(), {});
    return crypto::seal(pool_id(who), number(in, tip.first), std::move(chain), key_for(who));
}

// A welcome's history: one a node would hand out now (genuine, replayed), or messages the
// model makes, with the seals and anchors that prove them or fail to.
void world::fill_history(reader& in, int k, wire::welcome_msg& w) {
    if (in.u8() % 4 == 0) {
        wire::welcome_msg genuine;
        nodes_[node_arg(in)].engine->chat().fill_welcome(genuine);
        w.history = std::move(genuine.history);
        w.seals = std::move(genuine.seals);
        w.anchors = std::move(genuine.anchors);
        w.heads = std::move(genuine.heads);
        return;
    }
    // Where to follow whom: any origin of the pool, from any seq (the ends included).
    for (std::size_t n = in.u8() % 3; n > 0; --n)
        w.heads.push_back({pool_id(in.u8() % id_pool), number(in, in.u8())});
    std::map<std::string, std::size_t> newest;  // origin -> index of its newest message
    for (std::size_t n = in.u8() % 5; n > 0; --n) {
        std::string previous;
        w.history.push_back(chat(in, k, &previous));
        auto const& c = w.history.back();
        bool const first_of_origin = !newest.contains(c.origin);
        newest[c.origin] = w.history.size() - 1;
        if (first_of_origin && !previous.empty() && in.flag())
            w.anchors.push_back({c.origin, c.seq, previous});
    }
    for (auto const& [origin, index] : newest) {
        if (!in.flag()) continue;
        auto const& tip = w.history[index];
        std::size_t who = 0;
        while (who < id_pool && pool_id(who) != origin) ++who;
        w.seals.push_back(crypto::seal(origin, tip.seq, tip.chain, key_for(who)));
    }
}

std::optional<wire::message> world::build(reader& in, int k) {
    wire::message m;
    auto const kind = static_cast<message_kind>(in.u8() % message_kind_count);
    switch (kind) {
        case m_join:
            m = wire::join_msg{entry(in, k)};
            break;
        case m_hello:
            m = wire::hello_msg{entry(in, k)};
            break;
        case m_welcome: {
            wire::welcome_msg w{entry(in, k), {}, {}, {}, {}, {}};
            for (std::size_t n = in.u8() % 5; n > 0; --n) w.peers.push_back(entry(in, k));
            fill_history(in, k, w);
            m = std::move(w);
            break;
        }
        case m_refused:
            m = wire::refused_msg{in.flag() ? "table_full" : "shutting_down", in.blob()};
            break;
        case m_peers: {
            wire::peers_msg p;
            for (std::size_t n = in.u8() % 6; n > 0; --n) p.peers.push_back(entry(in, k));
            p.full = in.flag();
            m = std::move(p);
            break;
        }
        case m_digest: {
            std::size_t const whose = in.u8() % 4;
            std::string hash =
                whose < nodes ? nodes_[whose].engine->members().table().digest() : in.blob();
            m = wire::digest_msg{std::move(hash), in.u16()};
            break;
        }
        case m_chat:
            m = chat(in, k);
            break;
        case m_seal:
            m = seal(in);
            break;
        case m_rename:
        case m_leave: {
            // Signed as the entry it makes of what the receiver knows of the peer.
            std::size_t const who = in.below(id_pool);
            auto const* known = nodes_[k].engine->members().table().find(pool_id(who));
            wire::peer_entry e{pool_id(who),
                               known ? known->name : "n",
                               known ? known->addr : reachable_at(who),
                               0,
                               wire::peer_state::alive,
                               {}};
            bool const rename = kind == m_rename;
            if (rename) e.name = name(in);
            e.inc = number(in, known ? known->inc : static_cast<std::uint64_t>(start_unix_ms));
            if (!rename) e.state = wire::peer_state::left;
            std::string sig = crypto::sign_entry(e, key_for(who));
            if (rename)
                m = wire::rename_msg{e.id, e.name, e.inc, std::move(sig)};
            else
                m = wire::leave_msg{e.id, e.inc, std::move(sig)};
            break;
        }
        case m_network_key: {
            crypto::key key;
            key.fill(in.u8());
            m = wire::network_key_msg{in.flag() ? in.blob() : format_network_key(key)};
            break;
        }
        case m_unknown:
            m = wire::unknown_msg{in.flag() ? "future" : in.blob()};
            break;
        case m_ping:
        case m_ack:
        case m_ping_req: {
            // Seqs near the engine's own (small counters) so acks can match its probes.
            std::uint64_t const seq = in.u8();
            wire::gossip news;
            for (std::size_t n = in.u8() % 3; n > 0; --n) news.entries.push_back(entry(in, k));
            for (std::size_t n = in.u8() % 3; n > 0; --n) {
                std::size_t const who = in.below(id_pool);
                auto const* known = nodes_[k].engine->members().table().find(pool_id(who));
                news.suspects.push_back({pool_id(who),
                                         known && in.flag() ? known->inc : number(in, 0),
                                         pool_id(in.below(id_pool))});
            }
            if (kind == m_ping)
                m = wire::ping_msg{seq, std::move(news)};
            else if (kind == m_ack)
                m = wire::ack_msg{seq, std::move(news)};
            else
                m = wire::ping_req_msg{seq, pool_id(in.below(id_pool)), std::move(news)};
            break;
        }
        case m_nack:
            m = wire::nack_msg{in.u8()};
            break;
        case m_raw:
        case message_kind_count: {
            auto raw = wire::decode(in.blob());
            if (!raw) return std::nullopt;
            return std::move(*raw);
        }
    }
    // As the wire carries it: what does not decode never reaches the engine.
    auto decoded = wire::decode(wire::encode(m));
    if (!decoded) return std::nullopt;
    return std::move(*decoded);
}

// ---------------------------------------------------------------- ops

void world::step(reader& in) {
    auto const kind = static_cast<op>(in.u8() % op_count);
    if (tracing)
        std::fprintf(stderr, "op %d at %lld ms\n", static_cast<int>(kind),
                     static_cast<long long>(elapsed_));
    switch (kind) {
        case op::advance: {
            std::int64_t const ms = in.u16();
            elapsed_ += (in.u8() & 1) ? ms * 64 : ms;
            fire_due_timers();
            break;
        }
        case op::fire_timer: {
            int const k = node_arg(in);
            if (nodes_[k].timers.empty()) break;
            steady_time next = nodes_[k].timers.begin()->second;
            for (auto const& [kind, at] : nodes_[k].timers) next = std::min(next, at);
            auto const due = next - now(k).steady;
            if (due.count() > 0)
                elapsed_ += std::chrono::duration_cast<milliseconds>(due).count() + 1;
            fire_due_timers();
            break;
        }
        case op::send: {
            int const k = node_arg(in);
            std::string t = text(in);
            input(k, 0, [&](engine::node& n, instant now) {
                if (n.send(std::move(t), now)) ++nodes_[k].sends_ok;
            });
            break;
        }
        case op::rename: {
            int const k = node_arg(in);
            std::string n = name(in);
            input(k, 0, [&](engine::node& node, instant now) { (void)node.rename(n, now); });
            break;
        }
        case op::leave: {
            int const k = node_arg(in);
            input(k, 0, [](engine::node& n, instant now) { (void)n.leave(now); });
            break;
        }
        case op::stop: {
            int const k = node_arg(in);
            nodes_[k].ever_stopped = true;
            input(k, 0, [](engine::node& n, instant now) { n.stop(now); });
            break;
        }
        case op::join: {
            int const k = node_arg(in);
            join(k, node_arg(in));
            break;
        }
        case op::connect:
        case op::disconnect: {
            bool const make = kind == op::connect;
            int const k = node_arg(in);
            auto& links = nodes_[k].links;
            if (links.empty()) break;
            auto it = links.begin();
            std::advance(it, static_cast<std::ptrdiff_t>(in.u8() % links.size()));
            std::string const peer = it->first;
            if (make)
                connect(k, peer);
            else if (it->second.up)
                close(k, it->second.conn, false);
            report_downs();
            break;
        }
        case op::deliver:
            if (!flight_.empty()) deliver_at(in.u8() % flight_.size());
            break;
        case op::deliver_all:
            for (int n = 0; n < 256 && !flight_.empty(); ++n) deliver_at(0);
            break;
        case op::inject: {
            int const k = node_arg(in);
            machine& m = nodes_[k];
            std::size_t const choice = in.u8();
            connection_id conn = 0;
            if (choice < 128 && !m.conns.empty()) {
                auto it = m.conns.begin();
                std::advance(it, static_cast<std::ptrdiff_t>(choice % m.conns.size()));
                conn = it->first;
            } else {
                static constexpr char const* hosts[] = {"10.0.0.9", "10.0.0.1", "10.0.0.2",
                                                        "192.0.2.7", "::1"};
                std::size_t const who = in.u8() % (id_pool + 1);
                conn = m.next_conn++;
                // Never as node k itself: only its own join reaches it on such a connection,
                // and whoever could prove its id would hold its key.
                bool const vouched = who < id_pool && pool_id(who) != m.id;
                m.conns[conn] = {vouched ? pool_id(who) : "", hosts[in.u8() % 5], -1, 0, ""};
            }
            auto message = build(in, k);
            if (!message) break;
            std::string const vouched = m.conns[conn].vouched, host = m.conns[conn].remote_host;
            input(k, conn, [&](engine::node& n, instant now) {
                n.on_frame({conn, vouched, host}, std::move(*message), now);
            });
            break;
        }
        case op::link_event: {
            int const k = node_arg(in);
            std::string const peer = pool_id(in.below(id_pool));
            bool const up = in.flag();
            if (nodes_[k].links.contains(peer)) break;  // the runtime reports only its links
            input(k, 0, [&](engine::node& n, instant now) {
                if (up)
                    n.on_link_up(peer, now);
                else
                    n.on_link_down(peer, now);
            });
            break;
        }
        case op::share_key: {
            int const k = node_arg(in);
            crypto::key key;
            key.fill(in.u8());
            input(k, 0, [&](engine::node& n, instant now) {
                n.share_network_key(format_network_key(key), now);
            });
            break;
        }
        case op::connect_all:
            for (int k = 0; k < nodes; ++k) {
                std::vector<std::string> peers;
                for (auto const& [peer, l] : nodes_[k].links)
                    if (!l.up) peers.push_back(peer);
                for (auto const& peer : peers)
                    if (nodes_[k].links.contains(peer)) connect(k, peer);
            }
            break;
        case op::op_count:
            break;
    }
}

void world::check_all() {
    for (auto& m : nodes_) {
        auto const& e = *m.engine;
        auto const& table = e.members().table();
        auto const s = e.summary();
        FUZZ_CHECK(s.peers == table.alive_count());
        FUZZ_CHECK(s.messages_sent == m.sends_ok);
        FUZZ_CHECK(s.messages_received <= m.shown_remote);
        FUZZ_CHECK(s.self.id == m.id);
        FUZZ_CHECK(s.self.inc >= m.last_inc);
        FUZZ_CHECK(e.chat().next_seq() >= m.last_seq);
        FUZZ_CHECK(e.chat().lamport() >= m.last_lamport);
        m.last_inc = s.self.inc;
        m.last_seq = e.chat().next_seq();
        m.last_lamport = e.chat().lamport();

        auto const peers = e.peers();
        FUZZ_CHECK(peers.size() == table.alive_count() + 1);
        FUZZ_CHECK(peers[0].id == m.id && peers[0].status == engine::peer_status::self);
        for (std::size_t i = 2; i < peers.size(); ++i) FUZZ_CHECK(peers[i - 1].id < peers[i].id);

        FUZZ_CHECK(e.members().links() == m.links.size());
        // Links go to live peers, and for a while to peers removed lately (even ones whose
        // tombstone is gone): the failure detector keeps a removed peer's link open for
        // membership_config::dead_link_window, so that the sides of a healed partition find each
        // other again. So no check of the table here; every live peer has a link (below).
        if (!m.ever_stopped)
            for (auto const& p : table.alive_peers()) FUZZ_CHECK(m.links.contains(p.id));
    }
}

engine_outcome world::outcome() const {
    engine_outcome o;
    o.frames_delivered = delivered_;
    std::optional<std::string> digest;
    o.digests_equal = true;
    for (int k = 0; k < nodes; ++k) {
        auto const& m = nodes_[k];
        o.alive_peers[k] = m.engine->members().table().alive_count();
        o.messages_shown[k] = m.shown.size();
        if (m.engine->members().state() != engine::node_state::active) continue;
        auto const d = m.engine->members().table().digest();
        if (digest && *digest != d) o.digests_equal = false;
        digest = d;
    }
    return o;
}

}  // namespace

engine_outcome run_engine(std::uint8_t const* data, std::size_t size) {
    reader in(data, size);
    world w(in.u8());
    std::size_t ops = 0;
    for (; ops < max_ops && !in.done(); ++ops) {
        w.step(in);
        w.check_all();
    }
    auto o = w.outcome();
    o.ops = ops;
    return o;
}

}  // namespace p2pchat::fuzz
