#include "daemon/chat_node.hpp"

#include <unistd.h>

#include <boost/json/value_from.hpp>

#include "common/text.hpp"
#include "daemon/join_client.hpp"
#include "daemon/log.hpp"

namespace p2pchat::daemon {

namespace json = boost::json;
using namespace std::chrono_literals;
using wire::peer_entry;
using wire::peer_state;

namespace {

constexpr std::size_t welcome_history_count = 50;
// History in a welcome stays well under the 1 MiB frame limit whatever the message sizes.
constexpr std::size_t welcome_history_bytes = 512 * 1024;
constexpr std::int64_t tombstone_lifetime_ms = 10 * 60 * 1000;
constexpr auto join_timeout = 10s;
constexpr auto shutdown_grace = 2s;

std::string short_id(std::string const& id) { return id.substr(0, 8); }

// An entry that advertises "every interface" describes the node at the other end of the
// connection: put in the address we actually see it at.
peer_entry with_seen_host(peer_entry entry, asio::ip::address const& seen) {
    auto parsed = parse_address(entry.addr);
    if (parsed && is_unspecified_host(parsed->host) && !seen.is_unspecified()) {
        parsed->host = seen.to_string();
        entry.addr = to_string(*parsed);
    }
    return entry;
}

}  // namespace

chat_node::chat_node(asio::any_io_executor executor, options const& opts, node_identity identity)
    : executor_(executor),
      options_(opts),
      identity_(std::move(identity)),
      socket_path_(opts.socket_path),
      started_ms_(unix_time_ms()),
      // Two inbound connections per peer leave room for joins and reconnects in flight.
      listener_(executor, *this, opts.listen, 2 * opts.max_peers + 64),
      table_(peer_entry{identity_.id, opts.name, to_string(listener_.local_address()),
                        static_cast<std::uint64_t>(started_ms_), peer_state::alive},
             opts.max_peers),
      events_(1'000'000, opts.event_log_bytes),
      next_seq_(static_cast<std::uint64_t>(started_ms_) * 1000 + 1),
      random_(std::random_device{}()),
      gossip_timer_(executor) {}

std::int64_t chat_node::now_ms() const { return unix_time_ms(); }

void chat_node::start() {
    listener_.start();
    asio::co_spawn(executor_, gossip_loop(), log_exception{"gossip"});
    if (!options_.join.empty())
        asio::co_spawn(executor_, startup_joins(), log_exception{"start-up join"});
}

awaitable<void> chat_node::shutdown() {
    stopping_ = true;
    gossip_timer_.cancel();
    leave();
    listener_.stop();
    // Give the goodbyes a moment to reach the wire; never hang the stop on a dead peer.
    asio::steady_timer poll(executor_);
    auto const deadline = std::chrono::steady_clock::now() + shutdown_grace;
    while (std::chrono::steady_clock::now() < deadline) {
        bool const flushed = std::all_of(departing_.begin(), departing_.end(),
                                         [](auto const& link) { return link->finished(); });
        if (flushed) break;
        poll.expires_after(10ms);
        co_await poll.async_wait(use_nothrow);
    }
    for (auto& link : departing_) link->stop();
    departing_.clear();
}

// ---------------------------------------------------------------- operations

outcome<send_receipt> chat_node::send(std::string text) {
    if (text.empty())
        return outcome<send_receipt>::fail(rpc::code::invalid_params, "message is empty");
    if (text.size() > max_text_bytes)
        return outcome<send_receipt>::fail(
            rpc::code::text_too_long,
            "message is " + std::to_string(text.size()) + " bytes; the limit is 65536");
    if (!is_valid_utf8(text))
        return outcome<send_receipt>::fail(rpc::code::invalid_params, "message is not valid UTF-8");
    wire::chat_msg chat{.origin = identity_.id,
                        .seq = next_seq_++,
                        .lamport = ++lamport_,
                        .time_ms = now_ms(),
                        .name = table_.self().name,
                        .text = std::move(text)};
    seen_.insert(chat.origin, chat.seq);
    broadcast(make_frame(chat));
    ++messages_sent_;
    send_receipt receipt{identity_.id + ":" + std::to_string(chat.seq), chat.seq, chat.lamport};
    deliver(chat, true);
    return {receipt, {}};
}

outcome<std::string> chat_node::rename(std::string name) {
    if (!is_valid_name(name))
        return outcome<std::string>::fail(
            rpc::code::invalid_params,
            "a screen name is 1-64 bytes of UTF-8 without control characters");
    std::string const old_name = table_.self().name;
    if (name == old_name) return {name, {}};
    auto const& self = table_.rename_self(name);
    broadcast(make_frame(wire::rename_msg{self.id, self.name, self.inc}));
    emit_peer_event("peer_renamed", self, {{"old_name", old_name}});
    log(log_level::info, "renamed to ", name);
    return {name, {}};
}

awaitable<outcome<std::size_t>> chat_node::join(address contact) {
    // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
    auto request = make_frame(wire::join_msg{table_.self()});
    bytes_sent_ += request->size();
    ++frames_sent_;
    auto answer = co_await request_join(executor_, contact, std::move(request), join_timeout);
    if (!answer.value)
        co_return outcome<std::size_t>::fail(
            answer.error.error_code, std::move(answer.error.message), std::move(answer.error.data));
    bytes_received_ += answer.value->bytes_read;
    std::string const where = to_string(contact);
    if (answer.value->welcome.from.id == identity_.id)
        co_return outcome<std::size_t>::fail(rpc::code::invalid_params,
                                             where + " is this node itself");
    left_ = false;
    apply_welcome(std::move(answer.value->welcome), answer.value->contact);
    log(log_level::notice, "joined the network through ", where, "; ", table_.alive_count(),
        " peers");
    co_return outcome<std::size_t>{table_.alive_count(), {}};
}

std::size_t chat_node::leave() {
    std::size_t const told = links_.size();
    bool const was_connected = table_.alive_count() > 0;
    if (was_connected) {
        auto const& self = table_.self();
        broadcast(make_frame(wire::leave_msg{self.id, self.inc}));
    }
    std::erase_if(departing_, [](auto const& link) { return link->finished(); });
    for (auto& [id, link] : links_) {
        link->stop_when_flushed();
        departing_.push_back(link);
    }
    links_.clear();
    table_.clear();
    // Rejoining later must outrank the tombstones the others now keep of us.
    table_.bump_self();
    left_ = true;
    // Announced after the table is empty, so observers read the new peer count.
    if (was_connected) emit_peer_event("peer_left", table_.self(), {{"reason", "left"}});
    log(log_level::notice, "left the network (told ", told, " peers)");
    return told;
}

json::object chat_node::status() const {
    auto const& self = table_.self();
    return {{"id", self.id},
            {"short_id", short_id(self.id)},
            {"name", self.name},
            {"listen", self.addr},
            {"socket", socket_path_},
            {"version", P2PCHAT_VERSION},
            {"pid", static_cast<std::int64_t>(::getpid())},
            {"uptime_s", (now_ms() - started_ms_) / 1000},
            {"peers", table_.alive_count()},
            {"max_peers", table_.max_peers()},
            {"messages_sent", messages_sent_},
            {"messages_received", messages_received_},
            {"malformed_frames", malformed_frames_},
            {"dropped_frames", dropped_frames_},
            {"bytes_sent", bytes_sent_},
            {"frames_sent", frames_sent_},
            {"bytes_received", bytes_received_},
            {"subscribers", events_.subscribers()},
            {"event_seq", events_.last_seq()}};
}

json::array chat_node::peers() const {
    json::array out;
    out.emplace_back(peer_json(table_.self()));
    for (auto const& e : table_.alive_peers()) out.emplace_back(peer_json(e));
    return out;
}

json::object chat_node::peer_json(peer_entry const& e) const {
    bool const is_self = e.id == identity_.id;
    std::string state = "self";
    if (!is_self) {
        auto it = links_.find(e.id);
        state = e.state == peer_state::left                       ? "left"
                : (it != links_.end() && it->second->connected()) ? "alive"
                                                                  : "connecting";
    }
    return {{"id", e.id},          {"short_id", short_id(e.id)},
            {"name", e.name},      {"address", e.addr},
            {"state", state},      {"self", is_self},
            {"incarnation", e.inc}};
}

void chat_node::emit_peer_event(std::string_view type, peer_entry const& e, json::object extra) {
    json::object body{{"type", type}, {"peer", peer_json(e)}};
    for (auto& kv : extra) body[kv.key()] = std::move(kv.value());
    events_.append(std::move(body));
}

// ---------------------------------------------------------------- peer protocol

void chat_node::on_frame(wire::message&& message, peer_connection& from) {
    // Guarded: describe() formats an address, which cost more than the frame's handling.
    if (log_enabled(log_level::debug))
        log(log_level::debug, "<- ", wire::type_name(message), " from ", from.describe());
    // A node that left the network listens only to someone joining it.
    if (left_ && !std::holds_alternative<wire::join_msg>(message)) return;
    std::visit([&](auto&& m) { handle(std::move(m), from); }, std::move(message));
}

void chat_node::on_malformed(peer_connection& from, std::string_view reason) {
    ++malformed_frames_;
    log(log_level::warning, "malformed frame from ", from.describe(), ": ", reason,
        "; closing that connection");
}

void chat_node::handle(wire::join_msg&& m, peer_connection& from) {
    peer_entry const entry = with_seen_host(std::move(m.from), from.remote_address());
    if (entry.id == identity_.id) {
        // Someone joined us to ourselves (join to our own address): answer so it can tell.
        from.send(make_frame(wire::welcome_msg{table_.self(), {}, {}}));
        from.close_when_flushed();
        return;
    }
    if (stopping_ || (table_.full() && !table_.is_alive(entry.id))) {
        std::string reason =
            stopping_ ? "the node is shutting down"
                      : "peer table full (" + std::to_string(table_.max_peers()) + " peers)";
        log(log_level::notice, "refused join from ", from.describe(), ": ", reason);
        from.send(
            make_frame(wire::refused_msg{stopping_ ? "shutting_down" : "table_full", reason}));
        from.close_when_flushed();
        return;
    }
    from.set_peer_id(entry.id);
    apply(entry);
    left_ = false;  // somebody joined us: this node is in a network again
    wire::welcome_msg welcome{table_.self(), table_.all_entries(), welcome_history()};
    from.send(make_frame(welcome));
    from.close_when_flushed();
    // Introduce the newcomer to everyone else: one small entry each, never the whole table.
    if (auto const* stored = table_.find(entry.id))
        broadcast(make_frame(wire::peers_msg{{*stored}, false}), entry.id);
    remember_newcomer(entry.id);
}

void chat_node::remember_newcomer(std::string const& id) {
    if (recent_newcomers_.size() == max_recent_newcomers) recent_newcomers_.pop_front();
    recent_newcomers_.push_back({id, std::chrono::steady_clock::now()});
}

void chat_node::introduce_to_recent_newcomers(peer_entry const& peer) {
    // Our welcome to a recent newcomer listed the table as it was then; a peer we learn of
    // now (its introduction was still on the way to us) may be unknown to it, and it to the
    // peer. Introduce the two: two small frames instead of waiting for anti-entropy, whose
    // full tables would make a wave of joins cost more than linear bytes.
    auto const window = 2 * options_.gossip_interval;
    auto const now = std::chrono::steady_clock::now();
    while (!recent_newcomers_.empty() && now - recent_newcomers_.front().second > window)
        recent_newcomers_.pop_front();
    auto const peer_link_it = links_.find(peer.id);
    frame_ptr introduce_peer;  // serialized once, for every newcomer that gets it
    for (auto const& [id, since] : recent_newcomers_) {
        auto const newcomer_link = links_.find(id);
        auto const* newcomer = table_.find(id);
        if (id == peer.id || newcomer_link == links_.end() || !newcomer) continue;
        if (!introduce_peer) introduce_peer = make_frame(wire::peers_msg{{peer}, false});
        newcomer_link->second->send(introduce_peer);
        if (peer_link_it != links_.end())
            peer_link_it->second->send(make_frame(wire::peers_msg{{*newcomer}, false}));
    }
}

void chat_node::handle(wire::hello_msg&& m, peer_connection& from) {
    peer_entry const entry = with_seen_host(std::move(m.from), from.remote_address());
    from.set_peer_id(entry.id);
    apply(entry);
}

void chat_node::handle(wire::welcome_msg&& m, peer_connection& from) {
    // Welcomes are read by request_join on its own connection; one arriving elsewhere is
    // still useful news.
    apply_welcome(std::move(m), from.remote_address());
}

void chat_node::handle(wire::refused_msg&& m, peer_connection& from) {
    log(log_level::info, from.describe(), " refused us: ", m.reason);
}

void chat_node::handle(wire::peers_msg&& m, peer_connection& from) {
    for (auto const& entry : m.peers)
        apply(entry.id == from.peer_id() ? with_seen_host(entry, from.remote_address()) : entry);
    if (m.full) {
        auto missing = table_.newer_than(m.peers);
        if (!missing.empty()) from.send(make_frame(wire::peers_msg{std::move(missing), false}));
    }
}

void chat_node::handle(wire::digest_msg&& m, peer_connection& from) {
    // While our table still changes, introductions are in flight and a mismatch says little;
    // a full table now would cost O(n) per join in a wave of joins. Repair once it settles.
    if (settling()) return;
    if (m.hash != table_.digest())
        from.send(make_frame(wire::peers_msg{table_.all_entries(), true}));
}

void chat_node::handle(wire::chat_msg&& m, peer_connection&) {
    if (!seen_.insert(m.origin, m.seq)) return;
    lamport_ = std::max(lamport_, m.lamport) + 1;
    ++messages_received_;
    deliver(m, false);
}

void chat_node::handle(wire::rename_msg&& m, peer_connection& from) {
    // Only the node itself may rename itself: the connection must be its own.
    if (from.peer_id() != m.id) {
        log(log_level::warning, "ignored rename of ", short_id(m.id), " sent by ", from.describe());
        return;
    }
    if (auto const* known = table_.find(m.id)) {
        peer_entry renamed = *known;
        renamed.name = m.name;
        renamed.inc = m.inc;
        apply(renamed);
    }
}

void chat_node::handle(wire::leave_msg&& m, peer_connection& from) {
    if (from.peer_id() != m.id) {
        log(log_level::warning, "ignored leave of ", short_id(m.id), " sent by ", from.describe());
        return;
    }
    if (auto const* known = table_.find(m.id)) {
        peer_entry gone = *known;
        gone.inc = m.inc;  // a late goodbye of an older incarnation must lose the merge
        gone.state = peer_state::left;
        apply(gone);
    }
}

void chat_node::handle(wire::unknown_msg&& m, peer_connection& from) {
    log(log_level::debug, "ignored unknown message type '", m.type, "' from ", from.describe());
}

merge_outcome chat_node::apply(peer_entry const& received, std::string_view left_reason) {
    if (received.id == identity_.id) {
        // News about ourselves that outranks us (a late goodbye, a clock that went back):
        // answer with a higher incarnation, or the others would keep a false picture.
        if (!left_ && table_.refute(received)) {
            log(log_level::notice, "refuting a stale entry about this node (incarnation ",
                received.inc, ")");
            broadcast(make_frame(wire::peers_msg{{table_.self()}, false}));
        }
        return merge_outcome::ignored;
    }
    peer_entry entry = received;
    // "Every interface" says nothing to us; keep the concrete address we already know.
    if (auto const* known = table_.find(entry.id)) {
        auto const parsed = parse_address(entry.addr);
        if (parsed && is_unspecified_host(parsed->host)) entry.addr = known->addr;
    }
    auto const result = table_.merge(entry, now_ms());
    if (result.outcome != merge_outcome::ignored)
        last_table_change_ = std::chrono::steady_clock::now();
    switch (result.outcome) {
        case merge_outcome::ignored:
            break;
        case merge_outcome::table_full:
            log(log_level::warning, "peer table full; not adding ", short_id(entry.id));
            break;
        case merge_outcome::joined:
            log(log_level::info, entry.name, " (", short_id(entry.id), ") joined from ",
                entry.addr);
            open_link(entry);
            introduce_to_recent_newcomers(entry);
            emit_peer_event("peer_joined", entry);
            break;
        case merge_outcome::updated:
            if (result.previous->addr != entry.addr) {
                if (auto it = links_.find(entry.id); it != links_.end())
                    if (auto target = parse_address(entry.addr)) it->second->retarget(*target);
            }
            if (result.previous->name != entry.name)
                emit_peer_event("peer_renamed", entry, {{"old_name", result.previous->name}});
            break;
        case merge_outcome::left:
            log(log_level::info, entry.name, " (", short_id(entry.id), ") left (", left_reason,
                ")");
            close_link(entry.id, false);
            emit_peer_event("peer_left", entry, {{"reason", left_reason}});
            break;
    }
    return result.outcome;
}

void chat_node::apply_welcome(wire::welcome_msg&& welcome, asio::ip::address const& contact) {
    apply(with_seen_host(std::move(welcome.from), contact));
    for (auto const& entry : welcome.peers) apply(entry);
    for (auto const& chat : welcome.history)
        if (seen_.insert(chat.origin, chat.seq)) {
            lamport_ = std::max(lamport_, chat.lamport) + 1;
            deliver(chat, chat.origin == identity_.id);
        }
}

void chat_node::deliver(wire::chat_msg const& chat, bool from_self) {
    if (recent_chat_.size() == welcome_history_count) recent_chat_.pop_front();
    recent_chat_.push_back(chat);
    // Room for the 8 fields and the 2 the log stamps (seq, time_ms): one allocation, no regrowth.
    json::object body(10);
    body.emplace("type", "message");
    body.emplace("id", chat.origin + ":" + std::to_string(chat.seq));
    body.emplace("from", chat.origin);
    body.emplace("name", chat.name);
    body.emplace("text", chat.text);
    body.emplace("lamport", chat.lamport);
    body.emplace("sent_ms", chat.time_ms);
    body.emplace("self", from_self);
    events_.append(std::move(body));
}

std::vector<wire::chat_msg> chat_node::welcome_history() const {
    // The newest messages that fit the byte budget, oldest first.
    std::size_t bytes = 0;
    auto first = recent_chat_.end();
    while (first != recent_chat_.begin()) {
        auto const& chat = *std::prev(first);
        bytes += chat.text.size() + chat.name.size() + 200;  // 200: ids and JSON around them
        if (bytes > welcome_history_bytes) break;
        --first;
    }
    return {first, recent_chat_.end()};
}

void chat_node::broadcast(frame_ptr const& frame, std::string const& except) {
    for (auto& [id, link] : links_)
        if (id != except) link->send(frame);
}

void chat_node::open_link(peer_entry const& entry) {
    if (stopping_ || links_.contains(entry.id)) return;
    auto target = parse_address(entry.addr);
    if (!target) return;  // decode() validated it; an own entry can't get here
    auto link = std::make_shared<peer_link>(executor_, *this, entry.id, *target,
                                            [this] { return hello_frame(); });
    links_.emplace(entry.id, link);
    link->start();
}

void chat_node::close_link(std::string const& id, bool flush) {
    auto it = links_.find(id);
    if (it == links_.end()) return;
    if (flush)
        it->second->stop_when_flushed();
    else
        it->second->stop();
    links_.erase(it);
}

void chat_node::remove_unreachable_peers() {
    auto const now = std::chrono::steady_clock::now();
    std::vector<std::string> gone;
    for (auto const& [id, link] : links_)
        if (link->down_for(now) > options_.peer_timeout) gone.push_back(id);
    for (auto const& id : gone) {
        auto const* known = table_.find(id);
        if (!known) continue;
        // A tombstone at the peer's own incarnation: it spreads with anti-entropy, and a
        // peer that is in fact alive refutes it (raises its incarnation) when it hears it.
        peer_entry dead = *known;
        dead.state = peer_state::left;
        apply(dead, "unreachable");
    }
}

bool chat_node::settling() const {
    return std::chrono::steady_clock::now() - last_table_change_ < options_.gossip_interval;
}

frame_ptr chat_node::hello_frame() const { return make_frame(wire::hello_msg{table_.self()}); }

awaitable<void> chat_node::gossip_loop() {
    while (!stopping_) {
        gossip_timer_.expires_after(options_.gossip_interval);
        co_await gossip_timer_.async_wait(use_nothrow);
        if (stopping_) break;
        table_.expire_tombstones(now_ms(), tombstone_lifetime_ms);
        remove_unreachable_peers();
        if (settling()) continue;
        std::vector<peer_link*> connected;
        for (auto& [id, link] : links_)
            if (link->connected()) connected.push_back(link.get());
        if (connected.empty()) continue;
        auto* target =
            connected[std::uniform_int_distribution<std::size_t>(0, connected.size() - 1)(random_)];
        target->send(make_frame(wire::digest_msg{table_.digest(), table_.alive_count() + 1}));
    }
}

awaitable<void> chat_node::startup_joins() {
    // The contacts may come up after us (boot order, a restart): keep trying, gently.
    auto backoff = std::chrono::milliseconds(1s);
    asio::steady_timer retry(executor_);
    while (!stopping_) {
        for (auto const& contact : options_.join) {
            auto const result = co_await join(contact);
            if (result.value || stopping_) co_return;
            log(log_level::warning, "join through ", to_string(contact),
                " failed: ", result.error.message);
        }
        log(log_level::warning,
            "could not join through any --join peer; running alone, retrying in ",
            backoff.count() / 1000, " s");
        retry.expires_after(backoff);
        co_await retry.async_wait(use_nothrow);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, 30s);
    }
}

}  // namespace p2pchat::daemon
