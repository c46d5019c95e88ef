#include "daemon/options.hpp"

#include <boost/program_options.hpp>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/invite.hpp"
#include "common/paths.hpp"
#include "common/text.hpp"

namespace p2pchat::daemon {

namespace po = boost::program_options;

namespace {

constexpr char const* default_config = "/etc/p2pchat/p2pchatd.conf";

po::options_description describe() {
    po::options_description d("Options");
    // clang-format off
    d.add_options()
        ("name", po::value<std::string>()->value_name("NAME"), "screen name (default: login name)")
        ("listen", po::value<std::string>()->value_name("HOST:PORT"), "TCP listen address (default 0.0.0.0:7447; port 0 picks one)")
        ("advertise", po::value<std::string>()->value_name("HOST[:PORT]"), "the address other nodes dial (default: the listen address, or this host's first non-loopback IPv4 address when listening on every interface)")
        ("join", po::value<std::vector<std::string>>()->value_name("HOST:PORT|INVITE"), "join the network through this peer, or with this invite, at start-up (repeatable)")
        ("state-dir", po::value<std::string>()->value_name("DIR"), "where the identity key, the network key and the history database live")
        ("history-max-messages", po::value<std::string>()->value_name("N"), "messages the history keeps, the oldest pruned first (default 100000; 0: no limit)")
        ("history-max-age", po::value<std::string>()->value_name("DAYS"), "messages that arrived longer ago are pruned (default 365; 0: no limit)")
        ("network-key", po::value<std::string>()->value_name("FILE"), "the network key (default: $CREDENTIALS_DIRECTORY/network.key or STATE-DIR/network.key if present)")
        ("network", po::value<std::string>()->value_name("open|closed"), "with no network key: run an open network, or create a key (default open)")
        ("socket", po::value<std::string>()->value_name("PATH"), "control socket path")
        ("max-peers", po::value<std::string>()->value_name("N"), "most live peers in the table (default 256, at most 512)")
        ("config", po::value<std::string>()->value_name("FILE"), "config file (default /etc/p2pchat/p2pchatd.conf if present)")
        ("log-level", po::value<std::string>()->value_name("LEVEL"), "debug, info, notice, warning or error (default info)")
        ("dbus", po::value<std::string>()->value_name("BUS"), "publish the D-Bus interface on: none, user or system (default none)")
        ("event-log-size", po::value<std::string>()->value_name("BYTES"), "recent events kept in memory for tail, history and slow readers (default 16 MiB)")
        ("peer-timeout", po::value<std::string>()->value_name("SECONDS"), "with --probe-interval 0: a peer unreachable this long is removed (default 30)")
        ("probe-interval", po::value<std::string>()->value_name("MS"), "failure detection: probe one peer this often, in milliseconds; 0 turns it off (default 1000)")
        ("probe-timeout", po::value<std::string>()->value_name("MS"), "failure detection: wait this long for a direct answer, below the interval (default 500)")
        ("gossip-interval", po::value<std::string>()->value_name("MS"), "anti-entropy period in milliseconds (default 2000)")
        ("rejoin-interval", po::value<std::string>()->value_name("SECONDS"), "this often, a node with no peer left tries every peer it remembers, and one with peers tries one remembered peer that is not a member (default 30)")
        ("redial-removed", po::value<std::string>()->value_name("SECONDS"), "a peer removed as unreachable is redialled this long, so that the sides of a short partition find each other at once (default 120)")
        ("help,h", "print this help and exit")
        ("version", "print the version and exit");
    // clang-format on
    return d;
}

address parse_address_or_throw(std::string const& text, char const* option) {
    auto a = parse_address(text);
    if (!a) throw usage_error(std::string("--") + option + ": not HOST[:PORT]: '" + text + "'");
    return *a;
}

// A whole number in [min, max], digits only: "-1", "+3", "1e3", " 5" and "5x" are refused
// (Boost's lexical_cast would turn "-1" into 2^64-1), and so is anything out of range.
std::uint64_t number_or_throw(po::variables_map const& vm, char const* option, std::uint64_t min,
                              std::uint64_t max, char const* unit = "") {
    std::string const& text = vm[option].as<std::string>();
    std::uint64_t value = 0;
    auto const [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    bool const digits = !text.empty() && text.find_first_not_of("0123456789") == text.npos;
    if (!digits || ec != std::errc{} || end != text.data() + text.size() || value < min ||
        value > max)
        throw usage_error(std::string("--") + option + " wants a whole number from " +
                          std::to_string(min) + " to " + std::to_string(max) + unit + ", not '" +
                          text + "'");
    return value;
}

}  // namespace

bool parse_bus_kind(std::string_view text, bus_kind& out) {
    if (text == "none")
        out = bus_kind::none;
    else if (text == "user")
        out = bus_kind::user;
    else if (text == "system")
        out = bus_kind::system;
    else
        return false;
    return true;
}

parsed_options parse_options(int argc, char const* const argv[]) {
    auto const description = describe();
    po::variables_map vm;
    try {
        // No positional arguments: a stray word is a mistake, not something to ignore.
        po::store(po::command_line_parser(argc, argv)
                      .options(description)
                      .positional(po::positional_options_description{})
                      .run(),
                  vm);
    } catch (po::too_many_positional_options_error const&) {
        // Name the stray word: parse again, collecting what is not an option.
        auto const loose =
            po::command_line_parser(argc, argv).options(description).allow_unregistered().run();
        auto const words = po::collect_unrecognized(loose.options, po::include_positional);
        throw usage_error("unexpected argument '" + (words.empty() ? "?" : words.front()) +
                          "' (p2pchatd takes only options)");
    } catch (po::error const& e) {
        throw usage_error(e.what());
    }
    parsed_options out;
    if (vm.count("help")) {
        std::ostringstream text;
        text << "Usage: p2pchatd [OPTIONS]\nA node of the p2pchat peer-to-peer chat network.\n\n"
             << description << "\nSee p2pchatd(8).\n";
        out.output = text.str();
        return out;
    }
    if (vm.count("version")) {
        out.output = std::string("p2pchatd ") + P2PCHAT_VERSION + "\n";
        return out;
    }

    // Command-line values were stored first, so they win over the file's.
    std::string config_path = vm.count("config") ? vm["config"].as<std::string>() : "";
    if (config_path.empty() && std::filesystem::exists(default_config))
        config_path = default_config;
    if (!config_path.empty()) {
        std::ifstream file(config_path);
        if (!file) throw std::runtime_error("cannot read config file " + config_path);
        try {
            po::store(po::parse_config_file(file, description), vm);
        } catch (po::error const& e) {
            throw std::runtime_error("config file " + config_path + ": " + e.what());
        }
    }

    options o;
    o.name_given = vm.count("name") != 0;
    o.name = o.name_given ? vm["name"].as<std::string>() : default_screen_name();
    if (auto problem = screen_name_problem(o.name)) throw usage_error("--name: " + *problem);
    if (vm.count("listen"))
        o.listen = parse_address_or_throw(vm["listen"].as<std::string>(), "listen");
    if (vm.count("join"))
        for (auto const& j : vm["join"].as<std::vector<std::string>>()) {
            if (looks_like_invite(j)) {
                auto const i = parse_invite(j);
                if (!i) throw usage_error("--join: not a valid invite: '" + j + "'");
                o.join.push_back({i->contact, i->key});
            } else {
                o.join.push_back({parse_address_or_throw(j, "join"), std::nullopt});
            }
        }
    o.state_dir = vm.count("state-dir") ? vm["state-dir"].as<std::string>() : default_state_dir();
    if (vm.count("advertise")) {
        auto const& text = vm["advertise"].as<std::string>();
        auto a = parse_address(text, 0);
        if (!a || is_unspecified_host(a->host))
            throw usage_error("--advertise: not a HOST[:PORT] others can dial: '" + text + "'");
        o.advertise = std::move(*a);
    }
    if (vm.count("network-key")) o.network_key_file = vm["network-key"].as<std::string>();
    if (vm.count("network")) {
        auto const& network = vm["network"].as<std::string>();
        if (network != "open" && network != "closed")
            throw usage_error("--network: expected open or closed");
        o.closed_network = network == "closed";
    }
    o.socket_path = vm.count("socket") ? vm["socket"].as<std::string>() : default_socket_path();
    // Upper bounds: what one process can serve (each peer costs descriptors and memory).
    if (vm.count("max-peers")) o.max_peers = number_or_throw(vm, "max-peers", 1, 512);
    if (vm.count("log-level") && !parse_log_level(vm["log-level"].as<std::string>(), o.level))
        throw usage_error("--log-level: expected debug, info, notice, warning or error");
    if (vm.count("event-log-size"))
        o.event_log_bytes =
            number_or_throw(vm, "event-log-size", 64 * 1024, std::uint64_t{1} << 40, " bytes");
    if (vm.count("peer-timeout"))
        o.peer_timeout =
            std::chrono::seconds(number_or_throw(vm, "peer-timeout", 1, 86400, " seconds"));
    if (vm.count("probe-interval"))
        o.probe_interval = std::chrono::milliseconds(
            number_or_throw(vm, "probe-interval", 0, 600'000, " milliseconds"));
    if (vm.count("probe-timeout"))
        o.probe_timeout = std::chrono::milliseconds(
            number_or_throw(vm, "probe-timeout", 1, 600'000, " milliseconds"));
    if (o.probe_interval.count() > 0 && o.probe_timeout >= o.probe_interval)
        throw usage_error("--probe-timeout: must be below --probe-interval (" +
                          std::to_string(o.probe_interval.count()) + " ms)");
    if (vm.count("gossip-interval"))
        o.gossip_interval = std::chrono::milliseconds(
            number_or_throw(vm, "gossip-interval", 10, 600'000, " milliseconds"));
    if (vm.count("history-max-messages"))
        o.history_max_messages = number_or_throw(vm, "history-max-messages", 0, 1'000'000'000);
    if (vm.count("history-max-age"))
        o.history_max_age =
            std::chrono::days(number_or_throw(vm, "history-max-age", 0, 100'000, " days"));
    if (vm.count("rejoin-interval"))
        o.rejoin_interval =
            std::chrono::seconds(number_or_throw(vm, "rejoin-interval", 1, 86400, " seconds"));
    if (vm.count("redial-removed"))
        o.redial_removed =
            std::chrono::seconds(number_or_throw(vm, "redial-removed", 1, 86400, " seconds"));
    if (vm.count("dbus")) {
        if (!parse_bus_kind(vm["dbus"].as<std::string>(), o.dbus))
            throw usage_error("--dbus: expected none, user or system");
    }
    out.run = std::move(o);
    return out;
}

}  // namespace p2pchat::daemon
