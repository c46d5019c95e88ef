#pragma once
// A connection's outgoing queue and its one writer: shared, immutable buffers (a broadcast
// serializes once and every connection holds the same bytes) queued with a byte count, and a
// writer loop that gathers many of them into each write. Peer connections queue frames,
// control clients NDJSON lines; what differs between them (limits, what to do when the queue
// runs empty, accounting) is the caller's, passed to write_to() as hooks.
//
// Memory: holds nothing until used and gives its storage back when drained after a burst.
// A std::deque allocates about 600 bytes as soon as it exists; a node keeps two mostly idle
// connections per peer, so that alone was over 1 KiB per peer (bench B5). The writer's
// wake-up timer lives in the writer's own coroutine frame, not here: the outbox only points
// at it while the writer waits.
//
// Threading: the io thread only. Invariant: bytes() is the sum of the sizes of the queued
// buffers; at most one writer runs per outbox.
#include <boost/asio/write.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "daemon/asio.hpp"

namespace p2pchat::daemon {

using shared_buffer = std::shared_ptr<std::string const>;

class outbox {
  public:
    bool empty() const { return head_ == items_.size(); }
    std::size_t size() const { return items_.size() - head_; }
    std::size_t bytes() const { return bytes_; }

    // Queue at the back (or the front: a greeting that must go first) and wake the writer.
    void push_back(shared_buffer b);
    void push_front(shared_buffer b);
    // Drops the oldest buffers while more than `limit` bytes are queued, always keeping the
    // newest one. Returns how many were dropped.
    std::size_t drop_oldest_over(std::size_t limit);
    // Drops everything queued and frees the storage.
    void clear();
    // Wakes a waiting writer so it looks at its stream and its hooks again (after a close).
    void wake() {
        if (waiter_) waiter_->cancel();
    }

    // The writer: while `stream` is open, takes up to `max_per_write` buffers from the front
    // and writes them with one gathered write. Hooks (called on the io thread, never across a
    // suspension):
    //   void refill(outbox&)  the queue ran empty: queue more if there is more
    //   bool finish()         still empty: true ends the writer, false waits for more
    //   void written(boost::system::error_code, std::size_t bytes, std::size_t buffers)
    //                         after every write; after an error the batch is back at the
    //                         front of the queue (a link that redials sends it again) and
    //                         the writer ends
    //   awaitable<void> before_write()   (optional) the batch is about to be written: a
    //                         control client's replies wait for the store's commit here
    //   bool seal(std::vector<shared_buffer> const& batch, std::string& out)   (optional)
    //                         encrypts the batch into `out`, which is written instead;
    //                         false ends the writer (the cipher is spent)
    // Returns when the stream is closed, finish() said so, or a write failed.
    template <class Stream, class Hooks>
    awaitable<void> write_to(Stream& stream, std::size_t max_per_write, Hooks& hooks);

  private:
    shared_buffer pop_front();

    std::vector<shared_buffer> items_;  // items_[head_..] are queued, oldest first
    std::size_t head_ = 0;
    std::size_t bytes_ = 0;
    asio::steady_timer* waiter_ = nullptr;  // in the writer's frame, while it waits
};

template <class Stream, class Hooks>
awaitable<void> outbox::write_to(Stream& stream, std::size_t max_per_write, Hooks& hooks) {
    constexpr bool sealed =
        requires(Hooks & h, std::vector<shared_buffer> const& b, std::string& o) {
        h.seal(b, o);
    };
    asio::steady_timer wakeup(stream.get_executor());
    std::vector<shared_buffer> batch;
    std::vector<asio::const_buffer> buffers;
    std::string records;  // what a sealing writer writes instead of the batch
    while (stream.is_open()) {
        if (empty()) hooks.refill(*this);
        if (empty()) {
            if (hooks.finish()) co_return;
            wakeup.expires_at(asio::steady_timer::time_point::max());
            waiter_ = &wakeup;
            co_await wakeup.async_wait(use_nothrow);
            waiter_ = nullptr;
            continue;
        }
        while (!empty() && batch.size() < max_per_write) {
            if constexpr (!sealed) buffers.emplace_back(asio::buffer(*items_[head_]));
            batch.push_back(pop_front());
        }
        if constexpr (requires(Hooks & h) { h.before_write(); }) co_await hooks.before_write();
        if constexpr (sealed) {
            records.clear();
            if (!hooks.seal(batch, records)) co_return;
            buffers.emplace_back(asio::buffer(records));
        }
        auto [ec, n] = co_await asio::async_write(stream, buffers, use_nothrow);
        if (ec)
            for (auto it = batch.rbegin(); it != batch.rend(); ++it) push_front(std::move(*it));
        hooks.written(ec, n, batch.size());
        if (ec) co_return;
        batch.clear();
        buffers.clear();
        // A burst's records can be large (a welcome): do not keep that room for good.
        if (records.capacity() > 256 * 1024) std::string().swap(records);
    }
}

}  // namespace p2pchat::daemon
