#include "common/engine/message_store.hpp"

#include <string_view>

namespace p2pchat::engine {

namespace {

// Bytes a string takes in JSON: a control character is written as \u00XX (six bytes), or as
// a two-byte escape, and so are the quote and the backslash. A text of 64 KiB of control
// characters takes 384 KiB in a frame.
std::size_t json_size(std::string_view s) {
    std::size_t n = s.size();
    for (unsigned char c : s) {
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            n += 1;
        else if (c < 0x20)
            n += 5;
    }
    return n;
}

}  // namespace

std::size_t approx_size(wire::chat_msg const& chat) {
    // What the message adds to a welcome frame, escapes included: the history's byte budget
    // must keep the frame under the frame limit whatever the texts hold.
    return json_size(chat.text) + json_size(chat.name) + 200;  // 200: ids and JSON around them
}

std::size_t approx_size(wire::peer_entry const& entry) {
    // 200: the id, the signature, the incarnation and the JSON around them.
    return json_size(entry.name) + json_size(entry.addr) + 200;
}

void memory_store::append(wire::chat_msg chat) {
    if (capacity_ == 0) return;
    if (messages_.size() == capacity_) messages_.pop_front();
    messages_.push_back(std::move(chat));
}

std::vector<wire::chat_msg> memory_store::newest(std::size_t max_count,
                                                 std::size_t max_bytes) const {
    std::size_t bytes = 0;
    auto first = messages_.end();
    while (first != messages_.begin() &&
           static_cast<std::size_t>(messages_.end() - first) < max_count) {
        bytes += approx_size(*std::prev(first));
        if (bytes > max_bytes) break;
        --first;
    }
    return {first, messages_.end()};
}

std::optional<std::string> memory_store::chain_of(std::string_view origin,
                                                  std::uint64_t seq) const {
    // Newest first: what a welcome asks about is just older than the history it carries.
    for (auto it = messages_.rbegin(); it != messages_.rend(); ++it)
        if (it->seq == seq && it->origin == origin) return it->chain;
    return std::nullopt;
}

}  // namespace p2pchat::engine
