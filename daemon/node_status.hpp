#pragma once
// What `status` reports, as a C++ value: the engine's summary plus what only the runtime
// knows (I/O counters, the control socket, subscribers). Front ends read its fields; the
// control socket turns it into JSON (control_json.hpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/engine/node.hpp"

namespace p2pchat::daemon {

struct traffic_counters {
    std::uint64_t malformed_frames = 0;
    // Connections that never completed a handshake: strangers, floods, timeouts.
    std::uint64_t rejected_connections = 0;
    std::uint64_t dropped_frames = 0;
    std::uint64_t bytes_sent = 0;  // peer traffic, frames and joins included
    std::uint64_t frames_sent = 0;
    std::uint64_t bytes_received = 0;
};

struct node_status {
    engine::node_summary node;
    traffic_counters traffic;
    std::string socket;
    bool network_open = true;  // no network key: anyone who can reach the node may join
    std::int64_t uptime_s = 0;
    std::size_t subscribers = 0;
    std::uint64_t event_seq = 0;
    std::uint64_t stored_messages = 0;  // in the history database
    std::uint64_t storage_errors = 0;   // failed reads and writes of it since the start
};

}  // namespace p2pchat::daemon
