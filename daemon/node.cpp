#include "daemon/node.hpp"

#include <random>

#include "daemon/join_client.hpp"
#include "daemon/log.hpp"

namespace p2pchat::daemon {

using namespace std::chrono_literals;

namespace {

constexpr auto join_timeout = 10s;
constexpr auto shutdown_grace = 2s;
// The store serves the history a welcome carries (engine::chat_room): that many messages.
constexpr std::size_t stored_messages = engine::chat_room::welcome_history_count;

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

engine::node_config engine_config(options const& opts, node_identity const& identity,
                                  address const& bound) {
    return {.id = identity.id,
            .name = opts.name,
            .listen = to_string(bound),
            .max_peers = opts.max_peers,
            .gossip_interval = opts.gossip_interval,
            .peer_timeout = opts.peer_timeout,
            .seed = std::random_device{}()};
}

}  // namespace

node::node(asio::any_io_executor executor, options const& opts, node_identity identity)
    : executor_(executor),
      options_(opts),
      identity_(std::move(identity)),
      socket_path_(opts.socket_path),
      started_ms_(unix_time_ms()),
      // Two inbound connections per peer leave room for joins and reconnects in flight.
      listener_(executor, *this, opts.listen, 2 * opts.max_peers + 64),
      store_(stored_messages),
      engine_(engine_config(opts, identity_, listener_.local_address()), now(), store_),
      events_(1'000'000, opts.event_log_bytes),
      gossip_timer_(executor, asio::steady_timer::time_point::max()),
      join_retry_(executor) {}

engine::instant node::now() { return {std::chrono::steady_clock::now(), unix_time_ms()}; }

void node::start() {
    listener_.start();
    engine_.start(now());
    run_effects();
    asio::co_spawn(executor_, timer_loop(engine::timer_kind::gossip), log_exception{"gossip"});
    if (!options_.join.empty())
        asio::co_spawn(executor_, startup_joins(), log_exception{"start-up join"});
}

awaitable<void> node::shutdown() {
    stopping_ = true;
    engine_.stop(now());
    run_effects();  // the goodbyes, and every link told to hang up once they are written
    listener_.stop();
    gossip_timer_.cancel();
    join_retry_.cancel();
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
}

// ---------------------------------------------------------------- operations

rpc::result<engine::send_receipt> node::send(std::string text) {
    auto receipt = engine_.send(std::move(text), now());
    run_effects();
    return receipt;
}

rpc::result<std::string> node::rename(std::string name) {
    auto renamed = engine_.rename(std::move(name), now());
    run_effects();
    return renamed;
}

awaitable<rpc::result<std::size_t>> node::join(address contact) {
    // Named, not a temporary inside the co_await: GCC 12 destroys such temporaries twice.
    auto request = make_frame(engine_.join_request());
    traffic_.bytes_sent += request->size();
    ++traffic_.frames_sent;
    auto answer = co_await request_join(executor_, contact, std::move(request), join_timeout);
    if (!answer) {
        // Every failed join, from p2pchatctl, D-Bus or --join, with its reason.
        log(log_level::warning, "join through ", to_string(contact),
            " failed: ", answer.error().message);
        co_return answer.error();
    }
    traffic_.bytes_received += answer->bytes_read;
    auto joined = engine_.joined(std::move(answer->welcome), to_string(contact),
                                 answer->contact.to_string(), now());
    run_effects();
    co_return joined;
}

std::size_t node::leave() {
    auto const told = engine_.leave(now());
    run_effects();
    return told;
}

node_status node::status() const {
    return {engine_.summary(),     traffic_,
            socket_path_,          (unix_time_ms() - started_ms_) / 1000,
            events_.subscribers(), events_.last_seq()};
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

void node::on_link_up(std::string const& peer) {
    engine_.on_link_up(peer, now());
    run_effects();
}

void node::on_link_down(std::string const& peer) {
    engine_.on_link_down(peer, now());
    run_effects();
}

awaitable<void> node::timer_loop(engine::timer_kind timer) {
    auto& t = gossip_timer_;  // the one kind there is
    while (!stopping_) {
        auto [ec] = co_await t.async_wait(use_nothrow);
        if (stopping_) break;
        if (ec) continue;                                     // re-armed: wait for the new time
        t.expires_at(asio::steady_timer::time_point::max());  // until the engine re-arms it
        engine_.on_timer(timer, now());
        run_effects();
    }
}

awaitable<void> node::startup_joins() {
    // The contacts may come up after us (boot order, a restart): keep trying, gently.
    auto backoff = std::chrono::milliseconds(1s);
    while (!stopping_) {
        for (auto const& contact : options_.join) {
            auto const result = co_await join(contact);  // logs a failure itself
            if (result || stopping_) co_return;
        }
        log(log_level::warning,
            "could not join through any --join peer; running alone, retrying in ",
            backoff.count() / 1000, " s");
        join_retry_.expires_after(backoff);
        co_await join_retry_.async_wait(use_nothrow);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, 30s);
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
    running_effects_ = false;
}

void node::execute(engine::effect& effect) {
    std::visit(
        [&](auto& fx) {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, engine::send_to_peer>) {
                send_to(fx.peer, make_frame(*fx.message), fx.first);
            } else if constexpr (std::is_same_v<T, engine::reply_on>) {
                // Replies answer the frame being handled, on its connection.
                if (current_ && current_->id() == fx.connection)
                    current_->send(make_frame(*fx.message));
            } else if constexpr (std::is_same_v<T, engine::broadcast>) {
                auto const frame = make_frame(*fx.message);  // once, for every link
                for (auto& [id, link] : links_)
                    if (id != fx.except) link->send(frame);
            } else if constexpr (std::is_same_v<T, engine::dial_peer>) {
                dial(fx.peer, fx.target);
            } else if constexpr (std::is_same_v<T, engine::redirect_link>) {
                if (auto it = links_.find(fx.peer); it != links_.end())
                    it->second->retarget(fx.target);
            } else if constexpr (std::is_same_v<T, engine::hang_up>) {
                hang_up(fx.peer, fx.flush);
            } else if constexpr (std::is_same_v<T, engine::close_connection>) {
                if (current_ && current_->id() == fx.connection) {
                    if (fx.flush)
                        current_->close_when_flushed();
                    else
                        current_->close();
                }
            } else if constexpr (std::is_same_v<T, engine::arm_timer>) {
                arm(fx.timer, fx.at);
            } else if constexpr (std::is_same_v<T, engine::emit_event>) {
                events_.append(std::move(fx.event));
            } else if constexpr (std::is_same_v<T, engine::store_message>) {
                store_.append(std::move(fx.chat));
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
    auto link = std::make_shared<peer_link>(executor_, *this, *this, peer, target);
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

void node::arm(engine::timer_kind timer, engine::steady_time at) {
    switch (timer) {
        case engine::timer_kind::gossip:
            gossip_timer_.expires_at(at);  // cancels the wait in timer_loop, which waits anew
            return;
    }
}

}  // namespace p2pchat::daemon
