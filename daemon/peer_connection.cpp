#include "daemon/peer_connection.hpp"

#include "daemon/frame_reader.hpp"
#include "daemon/log.hpp"

namespace p2pchat::daemon {

namespace {

// Frames gathered into one write: fewer syscalls under load, bounded latency otherwise.
constexpr std::size_t max_frames_per_write = 64;

}  // namespace

void log_exception::operator()(std::exception_ptr e) const {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (std::exception const& ex) {
        log(log_level::error, what, ": ", ex.what());
    }
}

frame_ptr make_frame(wire::message const& m) {
    return std::make_shared<std::string const>(wire::encode_frame(wire::encode(m)));
}

namespace {
std::uint64_t last_connection_id = 0;  // io thread only
}  // namespace

// What the reader does with what it reads.
struct peer_connection::reader_sink {
    peer_connection& c;

    void on_read(std::size_t bytes) { c.handler_.on_read(bytes); }
    bool on_frame(wire::message&& message) {
        // Once we only say goodbye, nothing more this peer sends is acted on (a burst of
        // joins must not build a welcome each). Returning here would cancel the writer.
        if (!c.closing_) c.handler_.on_frame(std::move(message), c);
        return c.socket_->is_open();
    }
    void on_malformed(bad_input, std::string_view why) { c.handler_.on_malformed(c, why); }
    bool on_buffered(std::size_t) {
        c.account();
        if (c.budget_.exhausted() && c.decoder_->memory() > memory_budget::share_when_exhausted) {
            c.handler_.on_malformed(c, "a large record while the node is over its memory budget");
            return false;
        }
        return true;
    }
};

// How the writer drains this connection's outbox.
struct peer_connection::writer_hooks {
    peer_connection& c;

    void refill(outbox&) {}
    bool finish() {
        if (!c.closing_) return false;
        // The goodbye is out: end our side; the peer's close ends the reader.
        boost::system::error_code ignored;
        c.socket_->shutdown(tcp::socket::shutdown_send, ignored);
        c.last_error_ = asio::error::eof;
        return true;
    }
    bool seal(std::vector<shared_buffer> const& batch, std::string& out) {
        return crypto::seal_records(c.sealer_, batch, out);
    }
    void written(boost::system::error_code ec, std::size_t bytes, std::size_t frames) {
        c.account();
        // On error the batch is back in the queue, so a link that redials sends it again
        // (receivers drop what they already had).
        if (ec)
            c.last_error_ = ec;
        else
            c.handler_.on_written(bytes, frames);
    }
};

peer_connection::peer_connection(frame_handler& handler, std::shared_ptr<memory_budget> budget,
                                 std::size_t queue_limit)
    : handler_(handler),
      queue_limit_(queue_limit),
      budget_(std::move(budget)),
      id_(++last_connection_id) {}

void peer_connection::account() {
    budget_.update(outbox_.bytes() + (decoder_ ? decoder_->memory() : 0));
}

awaitable<boost::system::error_code> peer_connection::run(tcp::socket socket,
                                                          crypto::transport_keys keys) {
    boost::system::error_code ignored;
    auto const endpoint = socket.remote_endpoint(ignored);
    remote_address_ = endpoint.address();
    remote_host_ = remote_address_.to_string();
    socket.set_option(tcp::no_delay(true), ignored);
    socket_ = std::make_unique<tcp::socket>(std::move(socket));
    decoder_.emplace(keys.receive);
    sealer_ = keys.send;
    last_error_ = {};
    closing_ = false;
    // Told at the end by a plain call, not a guard's destructor: a frame destroyed unfinished
    // (the io_context going away at exit) must not call a node that is already gone.
    handler_.on_opened(*this);
    // The writer runs beside the reader; whichever ends first closes the socket, which ends
    // the other. A plain spawn costs about 1 KiB less per connection than `reader || writer`
    // (no parallel group, no per-branch cancellation state): that is most of a node's memory
    // per peer (bench B5).
    asio::steady_timer writer_done(socket_->get_executor(), asio::steady_timer::time_point::max());
    bool writer_running = true;
    asio::co_spawn(socket_->get_executor(), write_frames(writer_done, writer_running),
                   log_exception{"peer connection writer"});
    reader_sink sink{*this};
    auto const ec = co_await read_frames(*socket_, *decoder_, sink);
    if (ec) last_error_ = ec;
    socket_->close(ignored);
    outbox_.wake();
    while (writer_running) co_await writer_done.async_wait(use_nothrow);
    handler_.on_closed(*this);
    decoder_.reset();
    sealer_ = {};
    account();
    co_return last_error_;
}

awaitable<void> peer_connection::write_frames(asio::steady_timer& done, bool& running) {
    writer_hooks hooks{*this};
    try {
        co_await outbox_.write_to(*socket_, max_frames_per_write, hooks);
    } catch (std::exception const& e) {
        log(log_level::error, "peer connection writer: ", e.what());
    }
    running = false;
    boost::system::error_code ignored;
    socket_->close(ignored);
    done.cancel();
}

void peer_connection::send(frame_ptr frame) {
    outbox_.push_back(std::move(frame));
    // Over the byte limit the oldest frames go: a stuck peer never holds unbounded memory;
    // and while the node as a whole is over its budget, each queue keeps only its newest.
    std::size_t const limit = budget_.exhausted()
                                  ? std::min(queue_limit_, memory_budget::share_when_exhausted)
                                  : queue_limit_;
    if (std::size_t const dropped = outbox_.drop_oldest_over(limit))
        handler_.on_dropped_frames(dropped);
    account();
}

void peer_connection::send_first(frame_ptr frame) {
    outbox_.push_front(std::move(frame));
    account();
}

void peer_connection::clear_queue() {
    outbox_.clear();
    account();
}

void peer_connection::close() {
    boost::system::error_code ignored;
    if (socket_) socket_->close(ignored);
    outbox_.wake();
}

void peer_connection::close_when_flushed() {
    closing_ = true;
    outbox_.wake();
}

std::string peer_connection::describe() const {
    std::string out = remote_address_.to_string();
    if (!peer_id_.empty()) out += " (" + peer_id_.substr(0, 8) + ")";
    return out;
}

}  // namespace p2pchat::daemon
