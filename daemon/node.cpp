#include "daemon/node.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <charconv>
#include <map>
#include <random>
#include <set>

#include "common/crypto/signatures.hpp"
#include "common/invite.hpp"
#include "common/text.hpp"
#include "daemon/control_json.hpp"
#include "daemon/join_client.hpp"
#include "daemon/log.hpp"

namespace p2pchat::daemon {

using namespace std::chrono_literals;

namespace {

constexpr auto join_timeout = 10s;
constexpr auto shutdown_grace = 2s;
// The live peers are saved at most this often when they change (and at the next gossip round
// after), and their last-seen times refreshed this often.
constexpr std::int64_t peers_save_ms = 1000;
constexpr std::int64_t peers_refresh_ms = 60'000;
// A remembered peer not seen for this long is no longer tried while the node has peers
// (Serf's reconnect_timeout).
constexpr std::int64_t reconnect_window_ms = 24 * 60 * 60 * 1000;
// The newest stored messages a restarted daemon puts back in its event log under their
// numbers, for `tail --since N` and the `history` method (as many as one call returns);
// `p2pchatctl history` and `tail -n` read the store itself.
constexpr std::size_t replayed_history = 10'000;
// Event numbers are reserved in the store this many at a time (node::reserve_event_numbers).
constexpr std::uint64_t event_seq_block = 100'000;
// How long writes nobody waits for (messages from peers, peer changes) wait for their commit:
// one commit, and one write of each page touched, for the thousands of messages of a stream.
constexpr auto commit_delay = 20ms;

log_level to_log_level(engine::severity s) {
    switch (s) {
        case engine::severity::debug:
            return log_level::debug;
        case engine::severity::info:
            return log_level::info;
        case engine::severity::notice:
            return log_level::notice;
        case engine::severity::warning:
            return log_level::warning;
    }
    return log_level::info;
}

// This host's first IPv4 address that is up and not loopback, else 127.0.0.1: what a node
// listening on every interface tells others to dial, unless --advertise says otherwise.
std::string first_interface_address() {
    ifaddrs* list = nullptr;
    std::string found = "127.0.0.1";
    if (::getifaddrs(&list) != 0) return found;
    for (auto* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
        char text[INET_ADDRSTRLEN];
        auto const* in = reinterpret_cast<sockaddr_in const*>(i->ifa_addr);
        if (::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text)) {
            found = text;
            break;
        }
    }
    ::freeifaddrs(list);
    return found;
}

// The address other nodes are told to dial: a node advertises a concrete one, which its
// signature covers (docs/PROTOCOL.md, "The peer entry").
address advertised_address(options const& opts, address bound) {
    if (opts.advertise) {
        address a = *opts.advertise;
        if (a.port == 0) a.port = bound.port;
        return a;
    }
    if (is_unspecified_host(bound.host)) bound.host = first_interface_address();
    return bound;
}

// --name wins (and is kept); without it, the name the node kept wins over the login name.
std::string starting_name(options const& opts, sqlite_store const& store) {
    if (opts.name_given) return opts.name;
    auto kept = store.meta("name");
    if (kept && !screen_name_problem(*kept)) return *kept;
    return opts.name;
}

engine::node_config engine_config(options const& opts, node_identity const& identity,
                                  address const& bound, std::string name) {
    return {
        .id = identity.id,
        .name = std::move(name),
        .listen = to_string(advertised_address(opts, bound)),
        .max_peers = opts.max_peers,
        .gossip_interval = opts.gossip_interval,
        .peer_timeout = opts.peer_timeout,
        .detector = {.probe_interval = opts.probe_interval, .probe_timeout = opts.probe_timeout},
        .seed = std::random_device{}(),
        .signing_key = identity.secret_key,
        .dead_link_window = opts.redial_removed};
}

crypto::identity_keys identity_keys_of(node_identity const& identity) {
    crypto::identity_keys keys;
    keys.secret_key = identity.secret_key;
    // libsodium's Ed25519 secret key is the seed followed by the public key.
    std::copy(identity.secret_key.begin() + 32, identity.secret_key.end(), keys.public_key.begin());
    return keys;
}

}  // namespace

node::node(asio::any_io_executor executor, options const& opts, node_identity identity)
    : executor_(executor),
      options_(opts),
      identity_(std::move(identity)),
      network_(load_network_key(opts)),
      settings_{identity_keys_of(identity_), network_.key, std::nullopt},
      socket_path_(opts.socket_path),
      started_ms_(unix_time_ms()),
      // Two inbound connections per peer leave room for joins and reconnects in flight.
      listener_(executor, *this, settings_, opts.listen, 2 * opts.max_peers + 64),
      store_(std::filesystem::path(opts.state_dir) / "history.db",
             retention{opts.history_max_messages, opts.history_max_age}, executor),
      history_(std::filesystem::path(opts.state_dir) / "history.db"),
      engine_(
          engine_config(opts, identity_, listener_.local_address(), starting_name(opts, store_)),
          now(), store_),
      events_(1'000'000, opts.event_log_bytes),
      timers_{asio::steady_timer(executor, asio::steady_timer::time_point::max()),
              asio::steady_timer(executor, asio::steady_timer::time_point::max()),
              asio::steady_timer(executor, asio::steady_timer::time_point::max()),
              asio::steady_timer(executor, asio::steady_timer::time_point::max())},
      join_retry_(executor),
      commit_wake_(executor, asio::steady_timer::time_point::max()) {
    boost::system::error_code ec;
    auto const host = asio::ip::make_address(listener_.local_address().host, ec);
    if (!ec && !host.is_unspecified()) settings_.source = host;
    if (opts.name_given) store_.set_meta("name", opts.name);
    // Retention holds from the start (a lowered limit, say): ages are looked at now, and the
    // writer prunes by count before sync() returns. Blocking is fine before the node runs.
    store_.prune(unix_time_ms());
    store_.sync();
    restore_events();
}

void node::restore_events() {
    // What the node holds is shown again, under the numbers it had, before any front end
    // observes the log: `tail --since N` from before the restart goes on exactly.
    std::vector<stored_message> stored;
    if (auto why = history_.numbered_newest(replayed_history, stored); !why.empty())
        log(log_level::error, why);
    std::size_t bytes = 0;
    auto first = stored.end();  // the oldest of those within a quarter of the log's budget
    while (first != stored.begin() && bytes <= options_.event_log_bytes / 4) {
        --first;
        bytes += engine::approx_size(first->chat);
    }
    for (auto it = first; it != stored.end(); ++it) {
        bool const self = it->chat.origin == identity_.id;
        events_.restore(
            it->event_seq, it->arrived_ms,
            engine::message_arrived{.chat = std::move(it->chat), .self = self, .late = it->late});
    }
    std::uint64_t last = stored.empty() ? 0 : stored.back().event_seq;
    if (auto const meta = store_.meta("event_seq")) {
        std::uint64_t reserved = 0;
        std::from_chars(meta->data(), meta->data() + meta->size(), reserved);
        last = std::max(last, reserved);
    }
    events_.resume_numbering(last);
    reserved_event_seq_ = last;
    reserve_event_numbers();
    store_.sync();  // before the node runs: blocking is fine here
}

void node::reserve_event_numbers() {
    // A block is reserved (stored) before its numbers are used, at most once per half block:
    // a crash cannot let a number be handed out twice, and costs a gap of under a block. The
    // reservation runs half a block ahead because the group commit lands up to one io round
    // after the events it covers were shown.
    if (events_.last_seq() + event_seq_block / 2 <= reserved_event_seq_) return;
    reserved_event_seq_ = events_.last_seq() + event_seq_block;
    store_.set_meta("event_seq", std::to_string(reserved_event_seq_));
}

awaitable<rpc::result<node::history_result>> node::messages(std::optional<std::string> from,
                                                            history_filter filter,
                                                            std::optional<history_cursor> before,
                                                            std::size_t limit,
                                                            std::size_t max_bytes) {
    // Every message event up to this number has its write handed to the writer now; the
    // reader's connection sees it once the writer committed it. Writes that join meanwhile
    // may show in the page too, with larger numbers: a follower skips those (ctl/resume.hpp).
    history_result out{{}, events_.last_seq()};
    co_await make_durable();  // this thread goes on meanwhile
    if (from) {
        std::vector<std::pair<std::string, std::string>> authors;
        if (auto why = history_.authors(authors); !why.empty())
            co_return rpc::error{rpc::code::internal_error, why};
        for (auto const& p : engine_.peers()) authors.emplace_back(p.id, p.name);
        // A known peer's name is its current one: it comes last and wins.
        std::map<std::string, std::string> current;
        for (auto& [id, name] : authors)
            if (!name.empty() || !current.contains(id)) current[id] = name;
        auto const match = match_authors(*from, {current.begin(), current.end()});
        if (!match.error.empty()) co_return rpc::error{rpc::code::invalid_params, match.error};
        filter.from = match.ids;
    }
    if (auto why = history_.page(filter, before, limit, max_bytes, out.page); !why.empty())
        co_return rpc::error{rpc::code::internal_error, why};
    co_return out;
}

engine::instant node::now() { return {std::chrono::steady_clock::now(), unix_time_ms()}; }

void node::start() {
    auto const listen = to_string(listener_.local_address());
    if (settings_.network.open)
        log(log_level::warning, "this network is open: anyone who can reach ", listen,
            " can join it and read its messages; `p2pchatctl invite` closes it (or start "
            "with --network=closed or --network-key FILE)");
    else if (network_.created)
        log(log_level::notice, "created a network key in ", network_.file.string(),
            ": this network is closed; `p2pchatctl invite` lets others in");
    else
        log(log_level::info, "network key from ", network_.file.string());
    listener_.start();
    engine_.start(now());
    run_effects();
    asio::co_spawn(executor_, timer_loop(engine::timer_kind::gossip), log_exception{"gossip"});
    asio::co_spawn(executor_, timer_loop(engine::timer_kind::seal), log_exception{"seal"});
    asio::co_spawn(executor_, timer_loop(engine::timer_kind::probe), log_exception{"probe"});
    asio::co_spawn(executor_, timer_loop(engine::timer_kind::ack), log_exception{"ack"});
    asio::co_spawn(executor_, rejoin_loop(), log_exception{"rejoin"});
    asio::co_spawn(executor_, group_commit(), log_exception{"group commit"});
}

awaitable<void> node::shutdown() {
    stopping_ = true;
    engine_.stop(now());
    run_effects();  // the goodbyes, and every link told to hang up once they are written
    listener_.stop();
    for (auto& t : timers_) t.cancel();
    for (auto* w : waiters_) w->timer->cancel();
    join_retry_.cancel();
    commit_wake_.cancel();
    co_await make_durable();
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
    for (auto& [id, link] : links_) link->stop();  // none: the engine hung up on every peer
    links_.clear();
    // The engine has stopped: no event comes after these. The next run numbers on right after
    // the last one instead of after the reservation.
    store_.set_meta("event_seq", std::to_string(events_.last_seq()));
    co_await make_durable();
}

// ---------------------------------------------------------------- operations

rpc::result<engine::send_receipt> node::send(std::string text) {
    auto receipt = engine_.send(std::move(text), now());
    run_effects();
    return receipt;
}

rpc::result<std::string> node::rename(std::string name) {
    auto renamed = engine_.rename(std::move(name), now());
    if (renamed) store_.set_meta("name", engine_.members().self().name);  // in the same turn
    run_effects();
    return renamed;
}

awaitable<rpc::result<std::size_t>> node::join(address contact, std::optional<crypto::key> key,
                                               log_level failure_level, bool reconnect) {
    // An invite's key replaces ours only for a node that is in no network of its own.
    bool const new_key = key && (settings_.network.open || *key != settings_.network.secret);
    if (new_key && network_.fixed)
        co_return rpc::error{rpc::code::invalid_params,
                             "this node's network key comes from " + network_.file.string() +
                                 "; change it there to join another network"};
    if (new_key && engine_.summary().peers > 0)
        co_return rpc::error{
            rpc::code::invalid_params,
            "this node is in a network of " + std::to_string(engine_.summary().peers) +
                " peers; `p2pchatctl leave` it before joining another with an invite"};
    link_settings settings = settings_;
    if (key) settings.network = {*key, false};
    // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
    auto request = make_frame(engine_.join_request(reconnect));
    traffic_.bytes_sent += request->size();
    ++traffic_.frames_sent;
    auto answer =
        co_await request_join(executor_, contact, std::move(request), settings, join_timeout);
    if (!answer) {
        // Every failed join, from p2pchatctl, D-Bus or --join, with its reason.
        log(failure_level, "join through ", to_string(contact),
            " failed: ", answer.error().message);
        co_return answer.error();
    }
    traffic_.bytes_received += answer->bytes_read;
    if (new_key)
        if (auto const error = adopt(*key); !error.empty())
            co_return rpc::error{rpc::code::internal_error, error};
    auto joined = engine_.joined(std::move(answer->welcome), to_string(contact), now());
    run_effects();
    co_return joined;
}

rpc::result<std::string> node::invite(std::optional<address> contact, bool new_key) {
    if (!contact) {
        auto const own = listener_.local_address();
        if (is_unspecified_host(own.host))
            return rpc::error{rpc::code::invalid_params,
                              "this node listens on every interface (" + to_string(own) +
                                  "); say which address to invite to: invite --address HOST"};
        contact = own;
    }
    if (new_key) {
        if (network_.fixed)
            return rpc::error{rpc::code::invalid_params, "this node's network key comes from " +
                                                             network_.file.string() +
                                                             "; replace it there"};
        auto const key = crypto::generate_network_key();
        if (auto const error = adopt(key.secret); !error.empty())
            return rpc::error{rpc::code::internal_error, error};
        auto const told = engine_.leave(now());  // the old network is the others' now
        store_.forget_all_peers();
        run_effects();
        log(log_level::notice, "new network key in ", network_.file.string(), "; left the old ",
            "network (told ", told, " peers): the others join with the new invite");
    } else if (settings_.network.open) {
        auto const key = crypto::generate_network_key();
        if (auto const error = adopt(key.secret); !error.empty())
            return rpc::error{rpc::code::internal_error, error};
        log(log_level::notice, "created a network key in ", network_.file.string(),
            ": this network is closed now; peers get the key, newcomers need an invite");
        engine_.share_network_key(format_network_key(key.secret), now());
        run_effects();
    }
    return format_invite({settings_.network.secret, *contact});
}

std::string node::adopt(crypto::key const& key) {
    if (auto const error = store_network_key(network_.file, key); !error.empty()) return error;
    settings_.network = {key, false};
    network_.key = settings_.network;
    return {};
}

void node::adopt_from_peer(engine::adopt_network_key const& offer) {
    auto const key = parse_network_key(offer.key);
    if (!key || !settings_.network.open || network_.fixed) {
        log(log_level::info, "ignored a network key offered by ", short_id(offer.from),
            settings_.network.open ? "" : ": this network has one");
        return;
    }
    if (auto const error = adopt(*key); !error.empty()) {
        log(log_level::error, error);
        return;
    }
    log(log_level::notice, short_id(offer.from), " closed the network: its key is kept in ",
        network_.file.string());
}

std::size_t node::leave() {
    auto const told = engine_.leave(now());
    // Left for good: a restart must not rejoin through them.
    store_.forget_all_peers();
    run_effects();
    return told;
}

node_status node::status() const {
    return {engine_.summary(),
            traffic_,
            socket_path_,
            settings_.network.open,
            (unix_time_ms() - started_ms_) / 1000,
            events_.subscribers(),
            events_.last_seq(),
            store_.message_count(),
            store_.errors()};
}

// ---------------------------------------------------------------- inputs

void node::on_frame(wire::message&& message, peer_connection& from) {
    // Guarded: describe() formats an address, which cost more than the frame's handling.
    if (log_enabled(log_level::debug))
        log(log_level::debug, "<- ", wire::type_name(message), " from ", from.describe());
    current_ = &from;
    engine_.on_frame({from.id(), from.peer_id(), from.remote_host()}, std::move(message), now());
    run_effects();
    current_ = nullptr;
}

void node::on_malformed(peer_connection& from, std::string_view reason) {
    ++traffic_.malformed_frames;
    log(log_level::warning, "malformed frame from ", from.describe(), ": ", reason,
        "; closing that connection");
}

void node::on_rejected(std::string_view source, std::string_view reason) {
    ++traffic_.rejected_connections;
    // A flood must not flood the log: the first refusals, then one in a thousand.
    if (traffic_.rejected_connections <= 10 || traffic_.rejected_connections % 1000 == 0)
        log(log_level::notice, "refused a connection from ", source, ": ", reason, " (",
            traffic_.rejected_connections, " so far)");
}

void node::on_link_up(std::string const& peer) {
    engine_.on_link_up(peer, now());
    run_effects();
}

void node::on_link_down(std::string const& peer) {
    engine_.on_link_down(peer, now());
    run_effects();
}

awaitable<void> node::timer_loop(engine::timer_kind timer) {
    auto& t = this->timer(timer);
    while (!stopping_) {
        auto [ec] = co_await t.async_wait(use_nothrow);
        if (stopping_) break;
        if (ec) continue;                                     // re-armed: wait for the new time
        t.expires_at(asio::steady_timer::time_point::max());  // until the engine re-arms it
        engine_.on_timer(timer, now());
        if (timer == engine::timer_kind::gossip &&
            unix_time_ms() - peers_saved_ms_ >= peers_refresh_ms)
            peers_changed_ = true;  // refreshes when they were last seen
        run_effects();
    }
}

bool node::alone() const {
    auto const summary = engine_.summary();
    return summary.peers == 0 && summary.state == engine::node_state::active;
}

std::vector<address> node::remembered_contacts() const {
    std::vector<address> out;
    for (auto const& peer : store_.remembered_peers(options_.max_peers))
        if (auto a = parse_address(peer.entry.addr); a && peer.entry.id != identity_.id)
            out.push_back(std::move(*a));
    return out;
}

namespace {

bool refused_as_left(rpc::error const& e) {
    auto const* data = e.data.if_object();
    auto const* code = data ? data->if_contains("code") : nullptr;
    return e.error_code == rpc::code::join_refused && code && code->is_string() &&
           code->get_string() == "left";
}

}  // namespace

std::optional<node::removed_peer> node::next_removed_peer() {
    auto const now_ms = unix_time_ms();
    auto const& table = engine_.members().table();
    // A member's address is no way back to anyone else (a peer that came back there with a new
    // identity): joining through it would only fetch a welcome every interval.
    std::set<std::string> member_addresses;
    for (auto const& peer : table.alive_peers()) member_addresses.insert(peer.addr);
    std::vector<removed_peer> removed;
    for (auto const& peer : store_.remembered_peers(options_.max_peers)) {
        // A goodbye we heard second hand (its owner signed the tombstone, a verdict carries
        // only its live entry's signature): not called back, as if we had heard it ourselves.
        // A join would make a node that left, still running, a member again.
        if (auto const* known = table.find(peer.entry.id);
            known && known->state == wire::peer_state::left && crypto::verifies(*known)) {
            store_.forget_peer(peer.entry.id);
            continue;
        }
        if (peer.entry.id == identity_.id || table.is_alive(peer.entry.id) ||
            member_addresses.contains(peer.entry.addr) ||
            now_ms - peer.last_seen_ms > reconnect_window_ms)
            continue;
        if (auto a = parse_address(peer.entry.addr))
            removed.push_back({peer.entry.id, std::move(*a)});
    }
    if (removed.empty()) return std::nullopt;
    return removed[reconnect_turn_++ % removed.size()];
}

awaitable<void> node::rejoin_loop() {
    // The contacts may come up after us (boot order, a restart): keep trying, gently.
    bool joined = options_.join.empty();
    auto backoff = std::chrono::milliseconds(1s);
    while (!stopping_) {
        bool tried = false, ok = false;
        if (alone()) {
            std::vector<join_target> targets;
            if (!joined) targets = options_.join;
            // Remembered peers are tried quietly: a node alone for days must not fill the log.
            std::size_t const given = targets.size();
            for (auto& contact : remembered_contacts()) targets.push_back({contact, std::nullopt});
            for (std::size_t i = 0; i < targets.size() && !stopping_ && alone() && !ok; ++i) {
                tried = true;
                ok = static_cast<bool>(
                    co_await join(targets[i].contact, targets[i].key,
                                  i < given ? log_level::warning : log_level::info));
            }
            if (ok) joined = true;
        } else if (joined && engine_.summary().state == engine::node_state::active) {
            // Serf's reconnect: a peer removed as unreachable may only have been cut off, for
            // longer than --redial-removed kept its link. Then nothing else would bring the
            // two sides together again: each holds the other's tombstones and dials nobody.
            // A join through one of them does (engine::membership::rejoin); a failure is
            // the common case (a peer gone for good) and only worth a debug line. A peer that
            // left (we missed its goodbye) refuses, and is not called back again.
            if (auto const peer = next_removed_peer()) {
                auto const joined_it =
                    co_await join(peer->contact, std::nullopt, log_level::debug, true);
                if (!joined_it && refused_as_left(joined_it.error())) store_.forget_peer(peer->id);
            }
        }
        // Until the first join, the --join targets with a backoff; then every rejoin_interval.
        auto const wait = joined ? std::chrono::milliseconds(options_.rejoin_interval) : backoff;
        if (tried && !ok && !stopping_)
            log(joined ? log_level::info : log_level::warning, "could not join through any ",
                joined ? "remembered" : "--join or remembered",
                " peer; running alone, retrying in ", wait.count() / 1000, " s");
        if (!joined && tried) backoff = std::min<std::chrono::milliseconds>(backoff * 2, 30s);
        join_retry_.expires_after(wait);
        co_await join_retry_.async_wait(use_nothrow);
    }
}

// ---------------------------------------------------------------- effects

void node::run_effects() {
    // Effects never feed the engine synchronously, but a sink might one day: the outer call
    // drains whatever the inner one would have.
    if (running_effects_) return;
    running_effects_ = true;
    while (engine_.has_effects()) {
        effects_ = engine_.take_effects(std::move(effects_));
        for (auto& effect : effects_) execute(effect);
    }
    end_turn();
    running_effects_ = false;
}

void node::end_turn() {
    auto const now_ms = unix_time_ms();
    if (peers_changed_ && now_ms - peers_saved_ms_ >= peers_save_ms) save_peers();
    if (store_.prune_due(now_ms)) store_.prune(now_ms);
    reserve_event_numbers();
    // Group commit: the writes of the next commit_delay go to the writer in one batch. A
    // front end hands them over sooner, before it acknowledges (make_durable()).
    if (store_.unflushed() && !commit_armed_) {
        commit_armed_ = true;
        commit_wake_.cancel();
    }
}

awaitable<void> node::group_commit() {
    asio::steady_timer delay(executor_);
    while (!stopping_) {
        if (!commit_armed_) {
            co_await commit_wake_.async_wait(use_nothrow);  // end_turn() wakes it
            continue;
        }
        delay.expires_after(commit_delay);
        co_await delay.async_wait(use_nothrow);
        commit_armed_ = false;
        store_.flush();  // never waits: the writer thread commits
    }
}

// Heads (acks, anti-entropy) tell a peer what this node has stored, and the peer counts
// its messages delivered on that word: what they claim is committed before they leave
// (docs/PROTOCOL.md, "Delivery"). They go out a few times a second at most. With writes
// not yet committed, the frame is held until the writer has committed them (this thread
// goes on meanwhile); true when it was held.
bool node::hold_heads(wire::message const& message, held_frame&& held) {
    if (!std::holds_alternative<wire::heads_msg>(message) || !store_.uncommitted()) return false;
    if (!held.frame) return true;  // over the limit: nothing to send anyway
    held_heads_.push_back(std::move(held));
    if (!releasing_heads_) {
        releasing_heads_ = true;
        asio::co_spawn(executor_, release_heads(), log_exception{"heads"});
    }
    return true;
}

awaitable<void> node::release_heads() {
    while (!held_heads_.empty() && !stopping_) {
        auto frames = std::exchange(held_heads_, {});
        co_await make_durable();  // what the frames claim, and any write before them
        if (stopping_) break;
        for (auto& h : frames) {
            if (!h.peer.empty()) {
                send_to(h.peer, std::move(h.frame), h.first);
            } else if (auto* to = connection(h.connection)) {
                to->send(std::move(h.frame));
            }
        }
    }
    held_heads_.clear();
    releasing_heads_ = false;
}

void node::settled(engine::message_delivery const& delivery) {
    for (auto* w : waiters_)
        if (delivery.first_seq <= w->seq && w->seq <= delivery.seq) {
            w->outcome = delivery;
            w->outcome->first_seq = w->outcome->seq = w->seq;
            w->timer->cancel();
        }
}

awaitable<rpc::result<engine::message_delivery>> node::wait_delivery(
    std::uint64_t seq, std::chrono::milliseconds timeout) {
    auto status = engine_.delivery_of(seq);
    // Settled already: with nobody to wait for, or given up and kept.
    if (!status) co_return engine::message_delivery{identity_.id, seq, seq, 0, {}, true};
    if (status->settled) co_return *status;
    if (waiters_.size() >= max_delivery_waiters)
        co_return rpc::error{rpc::code::too_many_clients,
                             "too many sends waiting for their delivery (" +
                                 std::to_string(max_delivery_waiters) + "); try again later"};
    asio::steady_timer timer(executor_, timeout);
    delivery_waiter w{seq, &timer, std::nullopt};
    waiters_.push_back(&w);
    co_await timer.async_wait(use_nothrow);
    std::erase(waiters_, &w);
    if (w.outcome) co_return *w.outcome;
    if (stopping_) co_return rpc::error{rpc::code::internal_error, "the daemon is stopping"};
    status = engine_.delivery_of(seq);
    if (!status) co_return engine::message_delivery{identity_.id, seq, seq, 0, {}, true};
    co_return *status;  // not settled: who had not stored it when the time ran out
}

void node::note_peer_event(engine::node_event const& event) {
    if (auto const* left = std::get_if<engine::peer_left>(&event)) {
        // A peer that said goodbye is not called back; one that vanished is (it may be us
        // who were away).
        if (left->reason == engine::leave_reason::left && left->peer.id != identity_.id)
            store_.forget_peer(left->peer.id);
        return;
    }
    peers_changed_ = true;
}

void node::save_peers() {
    peers_saved_ms_ = unix_time_ms();
    peers_changed_ = false;
    store_.remember_peers(engine_.members().table().alive_peers(), peers_saved_ms_,
                          options_.max_peers);
}

// The engine sizes what it sends to fit the frame limit (a welcome's history shrinks to leave
// room for the table); should a frame still exceed it, it is refused here, at the sender,
// rather than make the receiver close the connection and lose everything queued behind it.
peer_connection* node::connection(engine::connection_id id) {
    if (current_ && current_->id() == id) return current_;
    auto const it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second;
}

frame_ptr node::frame_within_limit(wire::message const& message) {
    auto frame = make_frame(message);
    if (frame->size() <= wire::frame_header_size + wire::default_frame_limit) return frame;
    log(log_level::error, "not sending a ", wire::type_name(message), " frame of ", frame->size(),
        " bytes: over the frame limit");
    return nullptr;
}

void node::execute(engine::effect& effect) {
    std::visit(
        [&](auto& fx) {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, engine::send_to_peer>) {
                auto frame = frame_within_limit(*fx.message);
                if (hold_heads(*fx.message, {fx.peer, {}, frame, fx.first})) return;
                if (frame) send_to(fx.peer, std::move(frame), fx.first);
            } else if constexpr (std::is_same_v<T, engine::reply_on>) {
                auto frame = frame_within_limit(*fx.message);
                if (hold_heads(*fx.message, {{}, fx.connection, frame, false})) return;
                // Most answer the frame being handled; an indirect probe's ack answers a
                // requester whose ping_req came earlier, on its own connection.
                if (auto* to = connection(fx.connection))
                    if (frame) to->send(std::move(frame));
            } else if constexpr (std::is_same_v<T, engine::broadcast>) {
                auto const frame = frame_within_limit(*fx.message);  // once, for every link
                for (auto& [id, link] : links_)
                    if (frame && id != fx.except) link->send(frame);
            } else if constexpr (std::is_same_v<T, engine::dial_peer>) {
                dial(fx.peer, fx.target);
            } else if constexpr (std::is_same_v<T, engine::redirect_link>) {
                if (auto it = links_.find(fx.peer); it != links_.end())
                    it->second->retarget(fx.target);
            } else if constexpr (std::is_same_v<T, engine::hang_up>) {
                hang_up(fx.peer, fx.flush);
            } else if constexpr (std::is_same_v<T, engine::close_connection>) {
                if (auto* to = connection(fx.connection)) {
                    if (fx.flush)
                        to->close_when_flushed();
                    else
                        to->close();
                }
            } else if constexpr (std::is_same_v<T, engine::arm_timer>) {
                arm(fx.timer, fx.at);
            } else if constexpr (std::is_same_v<T, engine::emit_event>) {
                if (auto const* d = std::get_if<engine::message_delivery>(&fx.event))
                    settled(*d);
                else if (!std::holds_alternative<engine::message_arrived>(fx.event))
                    note_peer_event(fx.event);
                events_.append(std::move(fx.event));
            } else if constexpr (std::is_same_v<T, engine::store_message>) {
                // The engine asks to show a message right after storing it (chat_room.cpp:
                // store_message, then its emit_event): that event gets the next number.
                store_.append(fx.chat, fx.arrived_unix_ms, events_.last_seq() + 1, fx.late);
            } else if constexpr (std::is_same_v<T, engine::store_seal>) {
                store_.append_seal(fx.seal);
            } else if constexpr (std::is_same_v<T, engine::adopt_network_key>) {
                adopt_from_peer(fx);
            } else {
                static_assert(std::is_same_v<T, engine::log_line>);
                log(to_log_level(fx.level), fx.text);
            }
        },
        effect);
}

void node::send_to(std::string const& peer, frame_ptr frame, bool first) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    if (first)
        it->second->send_first(std::move(frame));
    else
        it->second->send(std::move(frame));
}

void node::dial(std::string const& peer, address const& target) {
    if (stopping_ || links_.contains(peer)) return;
    auto link = std::make_shared<peer_link>(executor_, *this, *this, settings_, peer, target);
    links_.emplace(peer, link);
    link->start();
}

void node::hang_up(std::string const& peer, bool flush) {
    auto it = links_.find(peer);
    if (it == links_.end()) return;
    if (flush) {
        std::erase_if(departing_, [](auto const& link) { return link->finished(); });
        it->second->stop_when_flushed();
        departing_.push_back(it->second);
    } else {
        it->second->stop();
    }
    links_.erase(it);
}

asio::steady_timer& node::timer(engine::timer_kind kind) {
    switch (kind) {
        case engine::timer_kind::gossip:
            return timers_[0];
        case engine::timer_kind::seal:
            return timers_[1];
        case engine::timer_kind::probe:
            return timers_[2];
        case engine::timer_kind::ack:
            return timers_[3];
    }
    return timers_[0];
}

void node::arm(engine::timer_kind kind, engine::steady_time at) {
    timer(kind).expires_at(at);  // cancels the wait in timer_loop, which waits anew
}

}  // namespace p2pchat::daemon
