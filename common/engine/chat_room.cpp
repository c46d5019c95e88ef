#include "common/engine/chat_room.hpp"

#include <algorithm>

#include "common/text.hpp"

namespace p2pchat::engine {

chat_room::chat_room(std::string self_id, std::int64_t started_unix_ms, message_store const& store,
                     effects& out)
    : self_id_(std::move(self_id)),
      store_(store),
      out_(out),
      next_seq_(static_cast<std::uint64_t>(started_unix_ms) * 1000 + 1) {}

rpc::result<send_receipt> chat_room::send(std::string text, std::string name, instant now) {
    if (auto problem = message_problem(text))
        return rpc::error{
            text.size() > max_text_bytes ? rpc::code::text_too_long : rpc::code::invalid_params,
            std::move(*problem)};
    wire::chat_msg chat{.origin = self_id_,
                        .seq = next_seq_++,
                        .lamport = ++lamport_,
                        .time_ms = now.unix_ms,
                        .name = std::move(name),
                        .text = std::move(text)};
    seen_.insert(chat.origin, chat.seq);
    ++sent_;
    send_receipt receipt{self_id_ + ":" + std::to_string(chat.seq), chat.seq, chat.lamport};
    out_.push(broadcast{make_outgoing(chat), {}});
    show(std::move(chat), true);
    return receipt;
}

bool chat_room::accept(wire::chat_msg const& chat) {
    if (!seen_.insert(chat.origin, chat.seq)) return false;
    lamport_ = std::max(lamport_, chat.lamport) + 1;
    return true;
}

void chat_room::receive(wire::chat_msg&& chat) {
    if (!accept(chat)) return;
    ++received_;
    show(std::move(chat), false);
}

void chat_room::receive_history(std::vector<wire::chat_msg>&& history) {
    for (auto& chat : history) {
        if (!accept(chat)) continue;
        bool const self = chat.origin == self_id_;
        show(std::move(chat), self);
    }
}

void chat_room::show(wire::chat_msg chat, bool self) {
    out_.push(store_message{chat});
    out_.push(emit_event{message_arrived{std::move(chat), self}});
}

std::vector<wire::chat_msg> chat_room::welcome_history() const {
    return store_.newest(welcome_history_count, welcome_history_bytes);
}

}  // namespace p2pchat::engine
