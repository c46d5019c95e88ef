#pragma once
// Splits a TCP byte stream into protocol frames: a 4-byte big-endian length, then that many
// bytes of JSON. Pure and incremental: feed whatever the socket returned, take out whole
// frames. Not thread-safe; one decoder per connection.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace p2pchat::wire {

inline constexpr std::size_t default_frame_limit = 1024 * 1024;
inline constexpr std::size_t frame_header_size = 4;

enum class frame_error { none, empty_frame, frame_too_large };

class frame_decoder {
  public:
    explicit frame_decoder(std::size_t limit = default_frame_limit) : limit_(limit) {}

    // Appends received bytes. Cheap: frames are cut lazily by next().
    void feed(std::string_view bytes);

    // The next complete frame's payload, or nullopt when more bytes are needed or the
    // stream is broken (then error() says why and the connection must be closed).
    std::optional<std::string> next();

    frame_error error() const { return error_; }
    std::size_t buffered() const { return buffer_.size() - consumed_; }

  private:
    std::size_t limit_;
    std::string buffer_;
    std::size_t consumed_ = 0;
    frame_error error_ = frame_error::none;
};

// Prepends the length header to a payload. The payload must not exceed the limit.
std::string encode_frame(std::string_view payload);

}  // namespace p2pchat::wire
