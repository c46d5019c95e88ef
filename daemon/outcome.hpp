#pragma once
// The result of an operation a user asked for: a value, or an error meant for that user
// (mapped to JSON-RPC and D-Bus errors by the front ends).
#include <optional>
#include <string>

#include "common/rpc/rpc.hpp"

namespace p2pchat::daemon {

template <typename T>
struct outcome {
    std::optional<T> value;
    rpc::error error;

    static outcome fail(rpc::code c, std::string message, boost::json::value data = nullptr) {
        return {std::nullopt, {c, std::move(message), std::move(data)}};
    }
};

}  // namespace p2pchat::daemon
