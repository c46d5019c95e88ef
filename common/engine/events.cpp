#include "common/engine/events.hpp"

#include "common/engine/effects.hpp"

namespace p2pchat::engine {

std::string_view to_string(peer_status s) {
    switch (s) {
        case peer_status::self:
            return "self";
        case peer_status::alive:
            return "alive";
        case peer_status::connecting:
            return "connecting";
        case peer_status::left:
            return "left";
    }
    return "alive";
}

std::string_view to_string(leave_reason r) {
    switch (r) {
        case leave_reason::left:
            return "left";
        case leave_reason::unreachable:
            return "unreachable";
    }
    return "left";
}

std::string_view kind_name(effect const& e) {
    return std::visit(
        [](auto const& fx) -> std::string_view {
            using T = std::decay_t<decltype(fx)>;
            if constexpr (std::is_same_v<T, send_to_peer>) return "send";
            if constexpr (std::is_same_v<T, reply_on>) return "reply";
            if constexpr (std::is_same_v<T, broadcast>) return "broadcast";
            if constexpr (std::is_same_v<T, dial_peer>) return "dial";
            if constexpr (std::is_same_v<T, redirect_link>) return "redirect";
            if constexpr (std::is_same_v<T, hang_up>) return "hang_up";
            if constexpr (std::is_same_v<T, close_connection>) return "close";
            if constexpr (std::is_same_v<T, arm_timer>) return "arm_timer";
            if constexpr (std::is_same_v<T, emit_event>) return "event";
            if constexpr (std::is_same_v<T, store_message>) return "store";
            if constexpr (std::is_same_v<T, store_seal>) return "store_seal";
            if constexpr (std::is_same_v<T, adopt_network_key>) return "adopt_key";
            if constexpr (std::is_same_v<T, log_line>) return "log";
        },
        e);
}

}  // namespace p2pchat::engine
