#include "daemon/peer_connection.hpp"

#include <array>
#include <boost/asio/write.hpp>
#include <vector>

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

peer_connection::peer_connection(frame_handler& handler, std::size_t queue_limit)
    : handler_(handler), queue_limit_(queue_limit), id_(++last_connection_id) {}

awaitable<boost::system::error_code> peer_connection::run(tcp::socket socket) {
    boost::system::error_code ignored;
    auto const endpoint = socket.remote_endpoint(ignored);
    remote_address_ = endpoint.address();
    remote_host_ = remote_address_.to_string();
    socket.set_option(tcp::no_delay(true), ignored);
    socket_ = std::make_unique<tcp::socket>(std::move(socket));
    wakeup_ = std::make_unique<asio::steady_timer>(socket_->get_executor());
    writer_done_ = std::make_unique<asio::steady_timer>(socket_->get_executor());
    decoder_ = wire::frame_decoder{};
    last_error_ = {};
    closing_ = false;
    // The writer runs beside the reader; whichever ends first closes the socket, which ends
    // the other. A plain spawn costs about 1 KiB less per connection than `reader || writer`
    // (no parallel group, no per-branch cancellation state): that is most of a node's memory
    // per peer (bench B5).
    writer_running_ = true;
    asio::co_spawn(socket_->get_executor(), write_frames(), [this](std::exception_ptr e) {
        log_exception{"peer connection writer"}(e);
        writer_running_ = false;
        boost::system::error_code ignored;
        socket_->close(ignored);
        writer_done_->cancel();
    });
    co_await read_frames();
    socket_->close(ignored);
    wake_writer();
    while (writer_running_) {
        writer_done_->expires_at(asio::steady_timer::time_point::max());
        co_await writer_done_->async_wait(use_nothrow);
    }
    co_return last_error_;
}

void peer_connection::send(frame_ptr frame) {
    queued_bytes_ += frame->size();
    queue_.push_back(std::move(frame));
    std::size_t dropped = 0;
    while (queued_bytes_ > queue_limit_ && queue_.size() > 1) {
        queued_bytes_ -= queue_.front()->size();
        queue_.pop_front();
        ++dropped;
    }
    if (dropped) handler_.on_dropped_frames(dropped);
    wake_writer();
}

void peer_connection::send_first(frame_ptr frame) {
    queued_bytes_ += frame->size();
    queue_.push_front(std::move(frame));
    wake_writer();
}

void peer_connection::clear_queue() {
    queue_.clear();
    queued_bytes_ = 0;
}

void peer_connection::close() {
    boost::system::error_code ignored;
    if (socket_) socket_->close(ignored);
    wake_writer();
}

void peer_connection::close_when_flushed() {
    closing_ = true;
    wake_writer();
}

std::string peer_connection::describe() const {
    std::string out = remote_address_.to_string();
    if (!peer_id_.empty()) out += " (" + peer_id_.substr(0, 8) + ")";
    return out;
}

void peer_connection::learn_peer_id(wire::message const& message) {
    if (auto const* hello = std::get_if<wire::hello_msg>(&message))
        peer_id_ = hello->from.id;
    else if (auto const* join = std::get_if<wire::join_msg>(&message))
        peer_id_ = join->from.id;
}

void peer_connection::wake_writer() {
    if (wakeup_) wakeup_->cancel();
}

awaitable<void> peer_connection::read_frames() {
    // One read buffer for every connection on this thread: wait until the socket is
    // readable, read without blocking and hand the bytes to the decoder (which copies them)
    // before yielding again. A 64 KiB buffer in each reader's coroutine frame was most of
    // the daemon's memory per peer (two connections per peer; bench B5).
    thread_local std::array<char, 64 * 1024> buffer;
    boost::system::error_code ignored;
    socket_->non_blocking(true, ignored);
    for (;;) {
        auto [wait_ec] = co_await socket_->async_wait(tcp::socket::wait_read, use_nothrow);
        if (wait_ec) {
            last_error_ = wait_ec;
            co_return;
        }
        boost::system::error_code ec;
        std::size_t const n = socket_->read_some(asio::buffer(buffer), ec);
        if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
        if (ec) {
            last_error_ = ec;
            co_return;
        }
        handler_.on_read(n);
        decoder_.feed({buffer.data(), n});
        while (auto frame = decoder_.next()) {
            auto message = wire::decode(*frame);
            if (!message) {
                handler_.on_malformed(*this, message.error().message());
                last_error_ = message.error();
                co_return;
            }
            if (peer_id_.empty()) learn_peer_id(*message);
            // Once we only say goodbye, nothing more this peer sends is acted on (a burst of
            // joins must not build a welcome each). Returning here would cancel the writer.
            if (!closing_) handler_.on_frame(std::move(*message), *this);
            if (!socket_->is_open()) co_return;
        }
        switch (decoder_.error()) {
            case wire::frame_error::none:
                break;
            case wire::frame_error::empty_frame:
                handler_.on_malformed(*this, "frame of length 0");
                last_error_ = wire::decode_errc::not_an_object;
                co_return;
            case wire::frame_error::frame_too_large:
                handler_.on_malformed(*this, "frame over the 1 MiB limit");
                last_error_ = wire::decode_errc::not_an_object;
                co_return;
        }
    }
}

awaitable<void> peer_connection::write_frames() {
    std::vector<frame_ptr> batch;
    std::vector<asio::const_buffer> buffers;
    while (socket_->is_open()) {
        if (queue_.empty()) {
            if (closing_) {
                boost::system::error_code ignored;
                socket_->shutdown(tcp::socket::shutdown_send, ignored);
                last_error_ = asio::error::eof;
                co_return;
            }
            wakeup_->expires_at(asio::steady_timer::time_point::max());
            co_await wakeup_->async_wait(use_nothrow);
            continue;
        }
        while (!queue_.empty() && batch.size() < max_frames_per_write) {
            queued_bytes_ -= queue_.front()->size();
            buffers.emplace_back(asio::buffer(*queue_.front()));
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        auto [ec, n] = co_await asio::async_write(*socket_, buffers, use_nothrow);
        if (ec) {
            // The connection broke under this write: put the frames back, so a link that
            // redials sends them again (receivers drop what they already had).
            for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
                queued_bytes_ += (*it)->size();
                queue_.push_front(std::move(*it));
            }
            last_error_ = ec;
            co_return;
        }
        handler_.on_written(n, batch.size());
        batch.clear();
        buffers.clear();
    }
}

}  // namespace p2pchat::daemon
