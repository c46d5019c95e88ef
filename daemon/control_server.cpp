#include "daemon/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <boost/intrusive/list.hpp>
#include <boost/json/serialize.hpp>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "common/address.hpp"
#include "common/invite.hpp"
#include "common/paths.hpp"
#include "common/rpc/rpc.hpp"
#include "daemon/accept_loop.hpp"
#include "daemon/control_json.hpp"
#include "daemon/log.hpp"
#include "daemon/messages_method.hpp"
#include "daemon/node.hpp"
#include "daemon/outbox.hpp"

namespace p2pchat::daemon {

namespace json = boost::json;
using local_protocol = asio::local::stream_protocol;

namespace {

constexpr std::size_t max_queued_bytes = 4 * 1024 * 1024;
constexpr std::size_t max_history = 10000;
// The longest a `send` may wait for its delivery (wait_ms).
constexpr std::uint64_t max_wait_ms = 600'000;
constexpr std::size_t read_chunk_bytes = 64 * 1024;
// Lines gathered into one write.
constexpr std::size_t max_lines_per_write = 256;

using line_ptr = shared_buffer;
namespace bi = boost::intrusive;

line_ptr to_line(json::object const& o) {
    return std::make_shared<std::string const>(json::serialize(o) + "\n");
}

rpc::error invalid_params(std::string message) {
    return {rpc::code::invalid_params, std::move(message)};
}

// Reads an optional non-negative integer param.
bool read_count(json::object const& params, std::string_view key, std::uint64_t& out) {
    auto const* v = params.if_contains(key);
    if (!v) return true;
    if (v->is_uint64())
        out = v->get_uint64();
    else if (v->is_int64() && v->get_int64() >= 0)
        out = static_cast<std::uint64_t>(v->get_int64());
    else
        return false;
    return true;
}

// Params a method does not know are refused rather than ignored: a misspelt optional param
// ({"backlg": 5}) would otherwise silently mean its default.
std::optional<rpc::error> unknown_param(json::object const& params, std::string_view method,
                                        std::vector<std::string_view> const& known) {
    for (auto const& [key, value] : params) {
        if (std::find(known.begin(), known.end(), std::string_view(key)) != known.end()) continue;
        std::string takes;
        for (auto k : known) takes += (takes.empty() ? "" : ", ") + std::string(k);
        return invalid_params("unknown param \"" + std::string(key) + "\" for " +
                              std::string(method) +
                              (takes.empty() ? " (it takes none)" : " (it takes " + takes + ")"));
    }
    return std::nullopt;
}

// Reads an optional boolean param.
bool read_flag(json::object const& params, std::string_view key, bool& out) {
    auto const* v = params.if_contains(key);
    if (!v) return true;
    if (!v->is_bool()) return false;
    out = v->get_bool();
    return true;
}

bool read_string(json::object const& params, std::string_view key, std::string& out) {
    auto const* v = params.if_contains(key);
    if (!v || !v->is_string()) return false;
    out = std::string(v->get_string());
    return true;
}

}  // namespace

// One connected client. Lives as long as its coroutines (each holds a shared_ptr); holds the
// shared state, so it never outlives the list it is linked in.
class control_server::client : public std::enable_shared_from_this<client> {
  public:
    client(socket_type socket, std::shared_ptr<shared_state> server)
        : socket_(std::move(socket)),
          drained_(socket_.get_executor()),
          grace_(socket_.get_executor()),
          server_(std::move(server)) {}

    // A refused client is told why in one error line, then the connection ends.
    awaitable<void> run(std::optional<rpc::error> refusal) {
        auto self = shared_from_this();
        if (refusal) {
            queue(to_line(rpc::make_error(nullptr, *refusal)));
            closing_ = true;
            co_await write_lines();
            co_return;
        }
        co_await (read_lines() || write_lines());
        boost::system::error_code ignored;
        socket_.close(ignored);
    }

    shared_state& server() { return *server_; }

    // Ends the session now (the server stops): no call reaches the node after this, nothing
    // more is read or written, and every coroutine of this client ends at its next turn.
    void close() {
        stopped_ = true;
        closing_ = true;
        subscribed_ = false;
        subscription_ = {};
        boost::system::error_code ignored;
        socket_.close(ignored);
        out_.wake();
        drained_.cancel();
        grace_.cancel();
    }

  private:
    awaitable<void> read_lines() {
        std::string buffer;
        std::size_t pos = 0;  // start of the first line in buffer not yet answered
        for (;;) {
            // Backpressure: a client that sends requests without reading replies stops being
            // read until it catches up, so its replies never pile up without bound.
            while (out_.bytes() > max_queued_bytes && socket_.is_open()) {
                drained_.expires_at(asio::steady_timer::time_point::max());
                co_await drained_.async_wait(use_nothrow);
            }
            if (stopped_) co_return;
            // Every complete line already read is answered before reading again. A pipelining
            // client (`send` from a pipe) then has a whole read's worth of requests handled in
            // one turn, and what they queue leaves in one write per link and one reply write,
            // instead of one write per message on every socket (which cost ~9 syscalls per
            // message with 9 peers: bench B2/B3).
            std::size_t const nl = buffer.find('\n', pos);
            std::size_t const length = (nl == std::string::npos ? buffer.size() : nl) - pos;
            if (length > rpc::max_line_bytes) {
                queue(to_line(rpc::make_error(
                    nullptr, {rpc::code::invalid_request, "request line too long (limit 1 MiB)"})));
                closing_ = true;
                // Let the writer send the error; it ends the session when done.
                asio::steady_timer hold(socket_.get_executor(), std::chrono::seconds(1));
                co_await hold.async_wait(use_nothrow);
                co_return;
            }
            if (nl == std::string::npos) {
                buffer.erase(0, pos);  // once per read, not once per line
                pos = 0;
                std::size_t const old = buffer.size();
                buffer.resize(old + read_chunk_bytes);
                auto [ec, n] = co_await socket_.async_read_some(
                    asio::buffer(buffer.data() + old, read_chunk_bytes), use_nothrow);
                buffer.resize(old + n);
                if (ec) co_return;  // EOF or reset: the client went away
                continue;
            }
            std::string_view line(buffer.data() + pos, nl - pos);
            pos = nl + 1;
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line.find_first_not_of(" \t") != std::string_view::npos)
                co_await answer(rpc::parse_line(line));
            if (closing_) co_return;
        }
    }

    // How the writer drains this client's outbox: subscribed events are pulled from the
    // shared log whenever what was queued has been sent; each write makes room for the reader.
    struct writer_hooks {
        client& c;

        void refill(outbox&) {
            if (c.subscribed_) c.pull_events();
        }
        bool finish() const { return c.closing_; }
        void written(boost::system::error_code, std::size_t, std::size_t) { c.drained_.cancel(); }
        // No reply leaves before what it acknowledges is committed (a `send`'s message): one
        // commit for every request a read brought, not one per request. The writer waits;
        // the io thread and this client's reader go on.
        awaitable<void> before_write() {
            if (std::exchange(c.answered_, false)) co_await c.node().make_durable();
        }
    };

    awaitable<void> write_lines() {
        writer_hooks hooks{*this};
        co_await out_.write_to(socket_, max_lines_per_write, hooks);
    }

    void queue(line_ptr line) { out_.push_back(std::move(line)); }

    daemon::node& node();

    // Subscribers read the shared event log through a cursor: nothing is copied per client,
    // and the writer pulls the next events whenever it has sent what was queued.
    void event_appended() {
        if (closing_) return;
        // Checked here too: a client that stopped reading leaves its writer blocked and
        // would never get to pull_events() to find out.
        if (cursor_ < node().events().discarded_through()) {
            drop_slow_subscriber();
            return;
        }
        out_.wake();
    }

    // Too far behind: say so (best effort), drop what waits, and hang up.
    void drop_slow_subscriber() {
        log(log_level::warning, "control client too slow for events; dropping it");
        out_.clear();
        subscribed_ = false;
        queue(to_line(rpc::make_notification(
            "error", json::object{{"code", static_cast<int>(rpc::code::subscriber_too_slow)},
                                  {"message", "subscriber too slow, dropped"}})));
        closing_ = true;
        // A client that does not read may never let the writer finish: hang up anyway.
        asio::co_spawn(socket_.get_executor(), hang_up_soon(shared_from_this()),
                       log_exception{"control client"});
    }

    awaitable<void> answer(rpc::parsed_line parsed) {
        // A batch's replies go back as one line, built as they come; past the client's queue
        // budget the remaining calls are answered with an error instead of growing it.
        std::string batch_line;
        answered_ = true;  // what the replies acknowledge is committed before they are written
        for (auto& entry : parsed.entries) {
            if (stopped_) co_return;
            std::optional<json::object> reply;
            if (auto* bad = std::get_if<rpc::bad_call>(&entry)) {
                if (!bad->notification) reply = rpc::make_error(bad->id, bad->err);
            } else {
                auto& c = std::get<rpc::call>(entry);
                // join waits on the network: run it apart so this client's other requests go on.
                if (c.method == "join" && !parsed.batch) {
                    asio::co_spawn(socket_.get_executor(),
                                   answer_join(shared_from_this(), std::move(c)),
                                   log_exception{"control join"});
                    co_return;
                }
                if (c.method == "send" && c.id && !parsed.batch && c.params.contains("wait_ms") &&
                    !unknown_param(c.params, "send", {"text", "wait_ms"})) {
                    auto s = start_send(c.params);
                    if (auto* e = std::get_if<rpc::error>(&s)) {
                        queue(to_line(rpc::make_error(*c.id, *e)));
                        co_return;
                    }
                    asio::co_spawn(socket_.get_executor(),
                                   answer_delivery(shared_from_this(), *c.id,
                                                   std::move(std::get<sent_message>(s))),
                                   log_exception{"control send"});
                    co_return;
                }
                // The common `send` (alone, no wait) is answered without a coroutine of its
                // own or a JSON object for its result.
                if (c.method == "send" && c.id && !parsed.batch && !c.params.contains("wait_ms") &&
                    !unknown_param(c.params, "send", {"text", "wait_ms"})) {
                    auto s = start_send(c.params);
                    if (auto* e = std::get_if<rpc::error>(&s))
                        queue(to_line(rpc::make_error(*c.id, *e)));
                    else {
                        auto const& sent = std::get<sent_message>(s);
                        queue(std::make_shared<std::string const>(
                            send_result_line(*c.id, sent.receipt, sent.peers)));
                    }
                    continue;
                }
                reply = co_await invoke(c);
            }
            if (!reply) continue;
            if (!parsed.batch) {
                queue(to_line(*reply));
                continue;
            }
            if (batch_line.size() > max_queued_bytes)
                reply = rpc::make_error(
                    reply->at("id"),
                    {rpc::code::internal_error, "batch reply too large; send fewer calls"});
            batch_line += batch_line.empty() ? '[' : ',';
            batch_line += json::serialize(*reply);
        }
        if (!batch_line.empty()) queue(std::make_shared<std::string const>(batch_line + "]\n"));
    }

    static awaitable<void> hang_up_soon(std::shared_ptr<client> self) {
        self->grace_.expires_after(std::chrono::seconds(1));
        co_await self->grace_.async_wait(use_nothrow);
        boost::system::error_code ignored;
        self->socket_.close(ignored);
        self->out_.wake();
    }

    // A `send` done: what its result says, and how long to hold it for the message's delivery.
    struct sent_message {
        engine::send_receipt receipt;
        std::size_t peers = 0;  // who it went to; 0 tells the sender that nobody received it
        std::optional<std::chrono::milliseconds> wait;

        json::object result() const { return send_result(receipt, peers); }
    };

    // The sending half of `send`, done in the order the client's requests came.
    std::variant<rpc::error, sent_message> start_send(json::object const& p) {
        std::string text;
        if (!read_string(p, "text", text)) return invalid_params("send needs a \"text\" string");
        std::optional<std::chrono::milliseconds> wait;
        if (p.contains("wait_ms")) {
            std::uint64_t ms = 0;
            if (!read_count(p, "wait_ms", ms) || ms > max_wait_ms)
                return invalid_params("wait_ms must be an integer from 0 to " +
                                      std::to_string(max_wait_ms));
            wait = std::chrono::milliseconds(ms);
        }
        auto r = node().send(std::move(text));
        if (!r) return r.error();
        return sent_message{std::move(*r), node().live_peers(), wait};
    }

    // The waiting half: the result says whether every member alive at send time stored the
    // message (docs/CONTROL.md, "Delivery").
    awaitable<json::object> wait_delivery(sent_message const& sent) {
        co_await node().make_durable();  // our own copy first: the others' acks take a while
        auto d = co_await node().wait_delivery(sent.receipt.seq, *sent.wait);
        auto result = sent.result();
        if (!d) {
            result["delivered"] = false;
            result["error"] = d.error().message;
            co_return result;
        }
        auto body = to_json(*d);
        for (auto key : {"delivered", "members", "missing"}) result[key] = std::move(body[key]);
        result["settled"] = d->settled;
        co_return result;
    }

    // A `send` with wait_ms outside a batch: sent now, answered when its delivery settles,
    // while the client's other requests go on.
    static awaitable<void> answer_delivery(std::shared_ptr<client> self, json::value id,
                                           sent_message sent) {
        auto result = co_await self->wait_delivery(sent);
        if (self->stopped_) co_return;
        self->answered_ = true;
        self->queue(to_line(rpc::make_result(id, std::move(result))));
    }

    static awaitable<void> answer_join(std::shared_ptr<client> self, rpc::call c) {
        auto reply = co_await self->invoke(c);
        if (!reply) co_return;
        self->answered_ = true;
        self->queue(to_line(*reply));
    }

    // Runs one call. Returns the reply, or nothing for a notification.
    awaitable<std::optional<json::object>> invoke(rpc::call const& c) {
        json::value const id = c.id.value_or(nullptr);
        auto reply = [&](std::variant<json::value, rpc::error> r) -> std::optional<json::object> {
            if (!c.id) return std::nullopt;
            if (auto* e = std::get_if<rpc::error>(&r)) return rpc::make_error(id, *e);
            return rpc::make_result(id, std::move(std::get<json::value>(r)));
        };
        auto const& p = c.params;
        static std::map<std::string_view, std::vector<std::string_view>> const known{
            {"send", {"text", "wait_ms"}},
            {"status", {}},
            {"peers", {}},
            {"rename", {"name"}},
            {"join", {"address"}},
            {"leave", {}},
            {"history", {"limit", "since", "delivery"}},
            {"messages", {"limit", "before", "since_ms", "until_ms", "from", "grep"}},
            {"subscribe", {"backlog", "since", "delivery"}}};
        if (auto it = known.find(c.method); it != known.end())
            if (auto bad = unknown_param(p, c.method, it->second)) co_return reply(std::move(*bad));
        if (c.method == "send") {
            auto s = start_send(p);
            if (auto* e = std::get_if<rpc::error>(&s)) co_return reply(std::move(*e));
            auto const& sent = std::get<sent_message>(s);
            // Not a conditional expression around co_await: GCC 12 miscompiles that.
            if (!sent.wait) co_return reply(sent.result());
            auto result = co_await wait_delivery(sent);
            co_return reply(std::move(result));
        }
        if (c.method == "status") co_return reply(to_json(node().status()));
        if (c.method == "peers") {
            json::array peers;
            for (auto const& peer : node().peers()) peers.emplace_back(to_json(peer));
            co_return reply(json::object{{"peers", std::move(peers)}});
        }
        if (c.method == "rename") {
            std::string name;
            if (!read_string(p, "name", name))
                co_return reply(invalid_params("rename needs a \"name\" string"));
            auto r = node().rename(std::move(name));
            if (!r) co_return reply(r.error());
            co_return reply(json::object{{"name", *r}});
        }
        if (c.method == "join") {
            std::string text;
            if (!read_string(p, "address", text))
                co_return reply(invalid_params("join needs an \"address\" string"));
            if (looks_like_invite(text)) {
                auto const i = parse_invite(text);
                if (!i)
                    co_return reply(invalid_params(
                        "not a valid invite (p2pchat:KEY@HOST[:PORT]); ask for a new one"));
                auto r = co_await node().join(i->contact, i->key);
                if (!r) co_return reply(r.error());
                co_return reply(json::object{{"peers", *r}});
            }
            auto contact = parse_address(text);
            if (!contact || contact->port == 0)
                co_return reply(invalid_params("not HOST[:PORT]: '" + text + "'"));
            auto r = co_await node().join(*contact);
            if (!r) co_return reply(r.error());
            co_return reply(json::object{{"peers", *r}});
        }
        if (c.method == "invite") {
            std::optional<address> contact;
            if (p.contains("address")) {
                std::string text;
                if (!read_string(p, "address", text))
                    co_return reply(invalid_params("\"address\" must be a string"));
                contact = parse_address(text);
                if (!contact || contact->port == 0)
                    co_return reply(invalid_params("not HOST[:PORT]: '" + text + "'"));
            }
            bool new_key = false;
            if (auto const* v = p.if_contains("new_key")) {
                if (!v->is_bool()) co_return reply(invalid_params("\"new_key\" must be a boolean"));
                new_key = v->as_bool();
            }
            auto r = node().invite(contact, new_key);
            if (!r) co_return reply(r.error());
            co_return reply(json::object{{"invite", *r}});
        }
        if (c.method == "leave") co_return reply(json::object{{"peers", node().leave()}});
        if (c.method == "history") {
            std::uint64_t limit = 100, since = 0;
            if (!read_count(p, "limit", limit) || !read_count(p, "since", since))
                co_return reply(invalid_params("limit and since must be non-negative integers"));
            bool deliveries = false;
            if (!read_flag(p, "delivery", deliveries))
                co_return reply(invalid_params("\"delivery\" must be a boolean"));
            limit = std::min<std::uint64_t>(limit, max_history);
            auto const events = p.contains("since")
                                    ? node().events().after(since, limit, deliveries)
                                    : node().events().newest(limit, deliveries);
            // A byte budget keeps one reply within a client's queue: `since` pages forward
            // from the oldest, the default keeps the newest.
            bool const from_oldest = p.contains("since");
            std::size_t bytes = 0, taken = 0;
            while (taken < events.size()) {
                auto const* e = events[from_oldest ? taken : events.size() - 1 - taken];
                if (bytes + e->line->size() > max_queued_bytes) break;
                bytes += e->line->size();
                ++taken;
            }
            std::size_t const first = from_oldest ? 0 : events.size() - taken;
            json::array out;
            for (std::size_t i = first; i < first + taken; ++i) out.emplace_back(events[i]->body());
            co_return reply(
                json::object{{"events", std::move(out)}, {"truncated", taken < events.size()}});
        }
        if (c.method == "messages")
            co_return reply(co_await messages_method(node(), p, max_queued_bytes / 2));
        if (c.method == "subscribe") {
            std::uint64_t backlog = 0, since = 0;
            if (!read_count(p, "backlog", backlog) || !read_count(p, "since", since))
                co_return reply(invalid_params("backlog and since must be non-negative integers"));
            if (!read_flag(p, "delivery", deliveries_))
                co_return reply(invalid_params("\"delivery\" must be a boolean"));
            auto& log = node().events();
            // Replay streams from a cursor into the shared log as the writer drains, so a
            // long backlog neither piles up here nor counts against the live-event limit.
            // Numbers may have gaps (a restart): the backlog is counted in events held.
            // The backlog counts the events this client reads (deliveries only if asked).
            std::uint64_t const last = log.last_seq();
            auto const backlog_events =
                log.newest(std::min<std::uint64_t>(backlog, max_history), deliveries_);
            cursor_ = p.contains("since")      ? std::min(since, last)
                      : backlog_events.empty() ? last
                                               : backlog_events.front()->seq - 1;
            cursor_ = std::max(cursor_, log.first_seq() - 1);  // older events are gone
            subscribed_ = true;
            out_.wake();
            std::weak_ptr<client> weak = shared_from_this();
            subscription_ = log.subscribe([weak](event const&) {
                if (auto self = weak.lock()) self->event_appended();
            });
            co_return reply(json::object{{"seq", log.last_seq()}});
        }
        co_return reply(rpc::error{rpc::code::method_not_found, "method not found: " + c.method});
    }

    // Queues the next events after the cursor. If the log has already discarded the next one,
    // this client fell a whole log (--event-log-size, 16 MiB) behind: it is dropped, nobody waits
    // for it.
    void pull_events() {
        auto& log = node().events();
        if (cursor_ < log.discarded_through()) {
            drop_slow_subscriber();
            return;
        }
        auto const next = log.after(cursor_, 256, deliveries_);
        for (auto const* e : next) {
            queue(e->line);
            cursor_ = e->seq;
        }
        // Only deliveries this client skips came after: it is past them all.
        if (next.empty()) cursor_ = log.last_seq();
    }

    socket_type socket_;
    bool answered_ = false;       // requests handled since the last write: commit before the next
    asio::steady_timer drained_;  // wakes the reader: the writer made room
    asio::steady_timer grace_;    // how long a dropped subscriber gets for its goodbye
    std::shared_ptr<shared_state> server_;
    // In server_->live; declared after server_ so that it unlinks before server_ lets go.
    bi::list_member_hook<bi::link_mode<bi::auto_unlink>> link_;
    friend struct control_server::shared_state;
    outbox out_;
    bool closing_ = false;  // say what is queued, then end
    bool stopped_ = false;  // close(): the server stops
    event_log::subscription subscription_;
    // Subscribed clients: the seq of the last event queued to this client.
    std::uint64_t cursor_ = 0;
    bool subscribed_ = false;
    bool deliveries_ = false;  // subscribed with "delivery": true
};

// What the accept loop and every session share; it outlives the control_server while any of
// them still runs, so none of them refers to the control_server itself.
struct control_server::shared_state : std::enable_shared_from_this<shared_state> {
    shared_state(asio::any_io_executor executor, daemon::node& n) : acceptor(executor), node(n) {}

    void accepted(socket_type socket);
    static awaitable<void> serve(std::shared_ptr<client> c, std::optional<rpc::error> refusal);
    // The socket file's group, when the file lets its group in (SocketGroup=, or 0660). Read
    // at each connection that needs it, so that a change by the administrator counts at once.
    std::optional<gid_t> shared_group() const;
    // Root, our own user, and the members of the socket's group may talk to us.
    std::optional<rpc::error> refusal_for(int fd) const;

    local_protocol::acceptor acceptor;
    daemon::node& node;
    std::string path;  // of the socket file
    std::size_t clients = 0;
    // Every client object still alive (not owned: a client unlinks itself when destroyed).
    bi::list<client, bi::member_hook<client, decltype(client::link_), &client::link_>,
             bi::constant_time_size<false>>
        live;
};

daemon::node& control_server::client::node() { return server_->node; }

control_server::control_server(asio::any_io_executor executor, node& node, std::string path)
    : shared_(std::make_shared<shared_state>(executor, node)), path_(std::move(path)) {
    auto& acceptor = shared_->acceptor;
    // Is a daemon already answering here? Then refuse to start rather than steal its socket.
    boost::system::error_code ec;
    {
        local_protocol::socket probe(executor);
        probe.connect(local_protocol::endpoint(path_), ec);
        if (!ec) throw std::runtime_error("another p2pchatd is already running on " + path_);
    }
    if (ec != asio::error::connection_refused && ec != asio::error::not_found &&
        ec != boost::system::errc::no_such_file_or_directory)
        throw std::runtime_error("cannot use control socket " + path_ + ": " + ec.message());
    if (auto const problem = private_socket_dir_problem(path_, true); !problem.empty())
        throw std::runtime_error(problem);
    ::unlink(path_.c_str());  // stale file from a crashed daemon
    acceptor.open(local_protocol(), ec);
    if (!ec) acceptor.bind(local_protocol::endpoint(path_), ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw std::runtime_error("cannot create control socket " + path_ + ": " + ec.message());
    ::chmod(path_.c_str(), 0660);
    shared_->path = path_;
    node.set_socket_path(path_);
}

control_server::control_server(asio::any_io_executor executor, node& node, int inherited_fd)
    : shared_(std::make_shared<shared_state>(executor, node)), owns_file_(false) {
    auto& acceptor = shared_->acceptor;
    boost::system::error_code ec;
    acceptor.assign(local_protocol(), inherited_fd, ec);
    if (ec)
        throw std::runtime_error("cannot use the control socket passed by systemd: " +
                                 ec.message());
    path_ = acceptor.local_endpoint(ec).path();
    shared_->path = path_;
    node.set_socket_path(path_);
}

int inherited_control_socket() {
    char** names = nullptr;
    int const n = sd_listen_fds_with_names(1, &names);
    int found = -1;
    for (int i = 0; i < n; ++i) {
        int const fd = SD_LISTEN_FDS_START + i;
        if (found < 0 && sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) > 0)
            found = fd;
        else
            ::close(fd);  // not ours to use; don't leak it
    }
    if (names) {
        for (int i = 0; i < n; ++i) std::free(names[i]);
        std::free(names);
    }
    return found;
}

control_server::~control_server() { stop(); }

std::size_t control_server::clients() const { return shared_->clients; }

void control_server::start() {
    asio::co_spawn(shared_->acceptor.get_executor(),
                   accept_loop(shared_, "control socket accept failed: "),
                   log_exception{"control socket"});
}

void control_server::stop_accepting() {
    if (!shared_->acceptor.is_open()) return;
    boost::system::error_code ignored;
    shared_->acceptor.close(ignored);
    if (owns_file_) ::unlink(path_.c_str());
}

void control_server::stop() {
    stop_accepting();
    std::vector<std::shared_ptr<client>> sessions;
    for (auto& c : shared_->live)
        if (auto alive = c.weak_from_this().lock()) sessions.push_back(std::move(alive));
    for (auto& c : sessions) c->close();
}

std::optional<gid_t> control_server::shared_state::shared_group() const {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IRWXG) != 0) return st.st_gid;
    return std::nullopt;
}

std::optional<rpc::error> control_server::shared_state::refusal_for(int fd) const {
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return rpc::error{rpc::code::not_allowed, "cannot tell who is calling"};
    log(log_level::debug, "control client pid ", cred.pid, " uid ", cred.uid);
    if (cred.uid == 0 || cred.uid == ::geteuid()) return std::nullopt;
    auto const group = shared_group();
    if (group) {
        if (cred.gid == *group) return std::nullopt;
        // The caller's supplementary groups, as the kernel reports them (Linux 4.13).
        std::vector<gid_t> groups(64);
        socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) != 0 &&
            errno == ERANGE) {
            groups.resize(size / sizeof(gid_t));
            ::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size);
        }
        groups.resize(size / sizeof(gid_t));
        if (std::find(groups.begin(), groups.end(), *group) != groups.end()) return std::nullopt;
    }
    log(log_level::notice, "refused a control client: pid ", cred.pid, " uid ", cred.uid,
        " is not root, this daemon's user", group ? " or in its socket's group" : "");
    return rpc::error{rpc::code::not_allowed,
                      "permission denied: uid " + std::to_string(cred.uid) +
                          " may not use this p2pchatd (only root, its user" +
                          (group ? " and the members of its socket's group)" : ")")};
}

void control_server::shared_state::accepted(socket_type socket) {
    auto refusal = refusal_for(socket.native_handle());
    if (!refusal && clients >= max_clients)
        refusal = rpc::error{rpc::code::too_many_clients, "too many clients (64); try again later"};
    auto c = std::make_shared<client>(std::move(socket), shared_from_this());
    live.push_back(*c);
    ++clients;
    asio::co_spawn(acceptor.get_executor(), serve(std::move(c), std::move(refusal)),
                   log_exception{"control client"});
}

awaitable<void> control_server::shared_state::serve(std::shared_ptr<client> c,
                                                    std::optional<rpc::error> refusal) {
    co_await c->run(std::move(refusal));
    --c->server().clients;
}

}  // namespace p2pchat::daemon
