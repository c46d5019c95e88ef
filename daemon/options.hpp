#pragma once
// p2pchatd's settings, from the command line and the config file (Boost.Program_options).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/address.hpp"
#include "common/crypto/noise.hpp"
#include "daemon/log.hpp"

namespace p2pchat::daemon {

// Which D-Bus bus the interface is published on.
enum class bus_kind { none, user, system };
bool parse_bus_kind(std::string_view text, bus_kind& out);

// A node to join at start-up: an address, or an invite (an address and the network key).
struct join_target {
    address contact;
    std::optional<crypto::key> key;
};

struct options {
    std::string name;
    // --name was given (on the command line or in the config file): it wins over the name
    // the state directory keeps; without it the kept name wins over the login name.
    bool name_given = false;
    address listen{"0.0.0.0", default_port};
    std::vector<join_target> join;
    // The address other nodes are told to dial (--advertise); port 0: the listening port.
    std::optional<address> advertise;
    std::string state_dir;
    // The network key file the administrator gives (empty: look elsewhere, see
    // network_key_file.hpp); closed_network: never run an open network.
    std::string network_key_file;
    bool closed_network = false;
    std::string socket_path;
    std::size_t max_peers = 256;
    log_level level = log_level::info;
    std::chrono::milliseconds gossip_interval{2000};
    // 16 MiB: about 50 000 chat events, five times the longest backlog a client may ask for
    // (10 000) and what a restart replays. History beyond it is in the store. It was 64 MiB,
    // which left a daemon 90 MB larger after its first 200 000 messages, and the page faults
    // while the log filled cost a stream a quarter of its CPU (docs/BENCHMARKS.md).
    std::size_t event_log_bytes = 16 * 1024 * 1024;
    std::chrono::seconds peer_timeout{30};  // only with the failure detector off
    // Failure detection (docs/FAILURE_DETECTION.md); a probe interval of 0 turns it off.
    std::chrono::milliseconds probe_interval{1000};
    std::chrono::milliseconds probe_timeout{500};
    bus_kind dbus = bus_kind::none;
    // History retention (docs/STORAGE.md): 0 is no limit.
    std::uint64_t history_max_messages = 100'000;
    std::chrono::days history_max_age{365};
    // A node alone tries the peers it remembers this often; one with peers tries one
    // remembered peer that is not a member (docs/STORAGE.md, "Rejoining", "Reconnecting").
    std::chrono::seconds rejoin_interval{30};
    // A peer removed as unreachable is redialled this long (memberlist's "gossip to the dead",
    // docs/FAILURE_DETECTION.md).
    std::chrono::seconds redial_removed{120};
};

// What the command line asked for: run with these options, or print text and exit.
struct parsed_options {
    std::optional<options> run;
    std::string output;  // --help / --version text
    int exit_status = 0;
};

// Throws usage_error (exit 64) for a bad command line, std::runtime_error (exit 1) for an
// unreadable or invalid config file.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};
parsed_options parse_options(int argc, char const* const argv[]);

}  // namespace p2pchat::daemon
