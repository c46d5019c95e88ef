#include "common/engine/message_store.hpp"

namespace p2pchat::engine {

std::size_t approx_size(wire::chat_msg const& chat) {
    return chat.text.size() + chat.name.size() + 200;  // 200: ids and JSON around them
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

}  // namespace p2pchat::engine
