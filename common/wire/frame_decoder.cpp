#include "common/wire/frame_decoder.hpp"

namespace p2pchat::wire {

namespace {
constexpr std::size_t retained_bytes = 1024;
}  // namespace

void frame_decoder::feed(std::string_view bytes) {
    // Compact before growing so a long-lived connection does not keep every byte it saw.
    if (consumed_ > 0 && consumed_ * 2 >= buffer_.size()) {
        buffer_.erase(0, consumed_);
        consumed_ = 0;
    }
    buffer_.append(bytes);
}

std::optional<std::string> frame_decoder::next() {
    if (error_ != frame_error::none || buffered() < frame_header_size) return std::nullopt;
    auto const* p = reinterpret_cast<unsigned char const*>(buffer_.data() + consumed_);
    std::size_t const length = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                               (std::size_t{p[2]} << 8) | std::size_t{p[3]};
    if (length == 0) {
        error_ = frame_error::empty_frame;
        return std::nullopt;
    }
    if (length > limit_) {
        error_ = frame_error::frame_too_large;
        return std::nullopt;
    }
    if (buffered() < frame_header_size + length) return std::nullopt;
    std::string frame = buffer_.substr(consumed_ + frame_header_size, length);
    consumed_ += frame_header_size + length;
    if (consumed_ == buffer_.size()) {
        // Drained. Give back room a big frame (a welcome, a full peer list) made: a node
        // keeps two connections per peer, and each holding its largest frame for good
        // added up (bench B5). Small buffers are kept to spare the allocator.
        if (buffer_.capacity() > retained_bytes)
            std::string().swap(buffer_);
        else
            buffer_.clear();
        consumed_ = 0;
    }
    return frame;
}

std::string encode_frame(std::string_view payload) {
    auto const n = static_cast<std::uint32_t>(payload.size());
    std::string out;
    out.reserve(frame_header_size + payload.size());
    out.push_back(static_cast<char>((n >> 24) & 0xff));
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
    out.append(payload);
    return out;
}

}  // namespace p2pchat::wire
