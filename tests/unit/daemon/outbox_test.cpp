#include "daemon/outbox.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <vector>

namespace p2pchat::daemon {
namespace {

shared_buffer text(std::string s) { return std::make_shared<std::string const>(std::move(s)); }

// An in-memory AsyncWriteStream: every write completes at once (posted) and is recorded.
struct recording_stream {
    using executor_type = asio::any_io_executor;
    explicit recording_stream(executor_type e) : executor(std::move(e)) {}

    executor_type executor;
    std::vector<std::string> writes;  // what each write carried
    bool open = true;
    bool fail_next = false;

    executor_type get_executor() { return executor; }
    bool is_open() const { return open; }

    template <class Buffers, class Token>
    auto async_write_some(Buffers const& buffers, Token&& token) {
        return asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, Buffers const& b) {
                std::string data;
                for (auto it = asio::buffer_sequence_begin(b); it != asio::buffer_sequence_end(b);
                     ++it)
                    data.append(static_cast<char const*>(it->data()), it->size());
                boost::system::error_code ec;
                std::size_t n = data.size();
                if (fail_next) {
                    ec = asio::error::broken_pipe;
                    n = 0;
                } else {
                    writes.push_back(std::move(data));
                }
                asio::post(executor, [h = std::move(handler), ec, n]() mutable { h(ec, n); });
            },
            token, buffers);
    }
};

// Ends the writer once the queue is empty and `done` is set; counts what it was told.
struct test_hooks {
    bool done = true;
    std::vector<shared_buffer> refill_with;
    std::size_t writes = 0, buffers = 0, bytes = 0;
    boost::system::error_code last_error;

    void refill(outbox& box) {
        for (auto& b : refill_with) box.push_back(std::move(b));
        refill_with.clear();
    }
    bool finish() const { return done; }
    void written(boost::system::error_code ec, std::size_t n, std::size_t count) {
        last_error = ec;
        if (ec) return;
        ++writes;
        buffers += count;
        bytes += n;
    }
};

// co_spawn completion: a writer that throws fails the test (io.run() rethrows).
void rethrow(std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
}

void drain(outbox& box, recording_stream& stream, std::size_t max_per_write, test_hooks& hooks,
           asio::io_context& io) {
    asio::co_spawn(io, box.write_to(stream, max_per_write, hooks), rethrow);
    io.run();
}

TEST(Outbox, CountsBytesAndKeepsOrderFrontFirst) {
    outbox box;
    EXPECT_TRUE(box.empty());
    box.push_back(text("bb"));
    box.push_back(text("ccc"));
    box.push_front(text("a"));
    EXPECT_EQ(box.size(), 3u);
    EXPECT_EQ(box.bytes(), 6u);

    asio::io_context io;
    recording_stream stream{io.get_executor()};
    test_hooks hooks;
    drain(box, stream, 64, hooks, io);
    ASSERT_EQ(stream.writes.size(), 1u) << "one gathered write";
    EXPECT_EQ(stream.writes[0], "abbccc");
    EXPECT_EQ(hooks.buffers, 3u);
    EXPECT_EQ(hooks.bytes, 6u);
    EXPECT_TRUE(box.empty());
    EXPECT_EQ(box.bytes(), 0u);
}

TEST(Outbox, DropsTheOldestOverTheLimitButKeepsTheNewest) {
    outbox box;
    for (char c : std::string("abcd")) box.push_back(text(std::string(10, c)));
    EXPECT_EQ(box.drop_oldest_over(25), 2u);
    EXPECT_EQ(box.size(), 2u);
    EXPECT_EQ(box.bytes(), 20u);
    box.push_back(text(std::string(100, 'e')));
    EXPECT_EQ(box.drop_oldest_over(25), 2u) << "the newest stays even when alone over the limit";
    EXPECT_EQ(box.size(), 1u);
    EXPECT_EQ(box.bytes(), 100u);
    box.clear();
    EXPECT_TRUE(box.empty());
    EXPECT_EQ(box.bytes(), 0u);
}

TEST(Outbox, GathersAtMostMaxPerWrite) {
    outbox box;
    for (char c : std::string("abcde")) box.push_back(text(std::string(1, c)));
    asio::io_context io;
    recording_stream stream{io.get_executor()};
    test_hooks hooks;
    drain(box, stream, 2, hooks, io);
    EXPECT_EQ(stream.writes, (std::vector<std::string>{"ab", "cd", "e"}));
    EXPECT_EQ(hooks.writes, 3u);
}

TEST(Outbox, RefillsWhenEmptyBeforeFinishing) {
    outbox box;
    box.push_back(text("x"));
    asio::io_context io;
    recording_stream stream{io.get_executor()};
    test_hooks hooks;
    hooks.refill_with = {text("y"), text("z")};
    drain(box, stream, 64, hooks, io);
    EXPECT_EQ(stream.writes, (std::vector<std::string>{"x", "yz"}));
}

TEST(Outbox, AFailedWritePutsTheBatchBackInFront) {
    outbox box;
    box.push_back(text("one"));
    box.push_back(text("two"));
    asio::io_context io;
    recording_stream stream{io.get_executor()};
    stream.fail_next = true;
    test_hooks hooks;
    drain(box, stream, 64, hooks, io);
    EXPECT_EQ(hooks.last_error, asio::error::broken_pipe);
    EXPECT_EQ(box.size(), 2u);
    EXPECT_EQ(box.bytes(), 6u);

    // The next writer sends them again, in order.
    stream.fail_next = false;
    io.restart();
    drain(box, stream, 64, hooks, io);
    EXPECT_EQ(stream.writes, (std::vector<std::string>{"onetwo"}));
}

TEST(Outbox, WaitsForMoreUntilWokenAndTold) {
    outbox box;
    asio::io_context io;
    recording_stream stream{io.get_executor()};
    test_hooks hooks;
    hooks.done = false;
    asio::co_spawn(io, box.write_to(stream, 64, hooks), rethrow);
    io.poll();  // the writer waits: nothing queued, not finished
    EXPECT_TRUE(stream.writes.empty());
    box.push_back(text("late"));  // wakes it
    io.poll();
    EXPECT_EQ(stream.writes, (std::vector<std::string>{"late"}));
    hooks.done = true;
    box.wake();
    io.run();  // ends: empty and finished
    EXPECT_TRUE(io.stopped());
}

}  // namespace
}  // namespace p2pchat::daemon
