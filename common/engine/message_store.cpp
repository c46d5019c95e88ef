#include "common/engine/message_store.hpp"

#include <algorithm>
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

void memory_store::append(wire::chat_msg const& chat, std::int64_t) {
    if (auto& tip = tips_[chat.origin]; chat.seq > tip.seq) tip = {chat.seq, chat.chain};
    if (capacity_ == 0) return;
    auto [it, inserted] = by_id_.try_emplace(id{chat.origin, chat.seq}, held{chat, ++appends_});
    if (!inserted) return;
    by_order_.emplace(std::pair{order_key{chat.lamport, chat.origin}, chat.seq}, &it->first);
    by_age_.emplace(it->second.appended, &it->first);
    if (by_id_.size() <= capacity_) return;
    auto const oldest = by_age_.begin();
    auto const gone = by_id_.find(*oldest->second);
    by_order_.erase({order_key{gone->second.chat.lamport, gone->first.first}, gone->first.second});
    // Its seal proves nothing any more: a seal is checked from the message it names.
    if (auto seal = seals_.find(id_view(gone->first.first, gone->first.second));
        seal != seals_.end())
        seals_.erase(seal);
    by_age_.erase(oldest);
    by_id_.erase(gone);
}

void memory_store::append_seal(wire::seal_msg const& seal) {
    seals_.try_emplace(id{seal.origin, seal.seq}, seal);
}

std::vector<wire::chat_msg> memory_store::newest(std::size_t max_count,
                                                 std::size_t max_bytes) const {
    std::vector<wire::chat_msg> out;
    std::size_t bytes = 0;
    for (auto it = by_order_.rbegin(); it != by_order_.rend() && out.size() < max_count; ++it) {
        auto const& chat = by_id_.find(*it->second)->second.chat;
        bytes += approx_size(chat);
        if (bytes > max_bytes) break;
        out.push_back(chat);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::optional<std::string> memory_store::chain_of(std::string_view origin,
                                                  std::uint64_t seq) const {
    auto it = by_id_.find(id_view(origin, seq));
    if (it == by_id_.end()) return std::nullopt;
    return it->second.chat.chain;
}

std::vector<wire::chat_msg> memory_store::range(std::string_view origin, std::uint64_t from_seq,
                                                std::size_t max_count,
                                                std::size_t max_bytes) const {
    std::vector<wire::chat_msg> out;
    std::size_t bytes = 0;
    auto it = by_id_.lower_bound(id_view(origin, from_seq));
    if (it != by_id_.end()) from_seq = it->first.second;
    for (; it != by_id_.end() && it->first.first == origin && it->first.second == from_seq &&
           out.size() < max_count;
         ++it, ++from_seq) {
        bytes += approx_size(it->second.chat);
        if (bytes > max_bytes && !out.empty()) break;
        out.push_back(it->second.chat);
    }
    return out;
}

std::vector<wire::seal_msg> memory_store::seals(std::string_view origin, std::uint64_t low,
                                                std::uint64_t high) const {
    std::vector<wire::seal_msg> out;
    for (auto it = seals_.lower_bound(id_view(origin, low));
         it != seals_.end() && it->first.first == origin && it->first.second <= high; ++it)
        out.push_back(it->second);
    return out;
}

std::optional<chain_tip> memory_store::tip_of(std::string_view origin) const {
    auto it = tips_.find(origin);
    if (it == tips_.end()) return std::nullopt;
    return it->second;
}

void memory_store::for_each_id(id_visitor const& visit) const {
    for (auto const& [key, message] : by_id_) visit(key.first, key.second, message.chat.lamport);
}

}  // namespace p2pchat::engine
