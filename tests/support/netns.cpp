#include "tests/support/netns.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "tests/support/process.hpp"

namespace p2pchat::test {
namespace {

namespace fs = std::filesystem;

std::string find_program(std::initializer_list<char const*> candidates) {
    for (auto const* path : candidates)
        if (::access(path, X_OK) == 0) return path;
    return {};
}

std::string const& ip_path() {
    static std::string const path =
        find_program({"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"});
    return path;
}

std::string const& nft_path() {
    static std::string const path = find_program({"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"});
    return path;
}

// Runs ip(8) with these arguments; the failure, if any, as one line ("" on success).
std::string try_ip(std::vector<std::string> args, std::string_view input = {}) {
    args.insert(args.begin(), ip_path());
    auto const r = run_process(args, input, 20s);
    if (r.status == 0) return {};
    std::string command;
    for (auto const& a : args) command += (command.empty() ? "" : " ") + a;
    return command + " exited with " + std::to_string(r.status) + ": " + r.err;
}

void ip(std::vector<std::string> args, std::string_view input = {}) {
    if (auto const error = try_ip(std::move(args), input); !error.empty())
        throw std::runtime_error(error);
}

constexpr std::string_view lab_prefix = "p2pct";

// Deletes the namespaces of labs whose process is gone: a test killed by a timeout does not
// unwind, and its namespaces would stay until the next boot.
void sweep_abandoned_labs() {
    std::error_code ec;
    for (auto const& entry : fs::directory_iterator("/run/netns", ec)) {
        auto const name = entry.path().filename().string();
        if (name.rfind(lab_prefix, 0) != 0) continue;
        auto const pid = std::atoi(name.c_str() + lab_prefix.size());
        if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
        (void)try_ip({"netns", "del", name});
    }
}

std::string address_list(std::vector<std::string> const& addresses) {
    std::string out = "{ ";
    for (std::size_t i = 0; i < addresses.size(); ++i) out += (i ? ", " : "") + addresses[i];
    return out + " }";
}

}  // namespace

std::string netns_lab::unavailable() {
    static std::string const why = [] {
        if (std::getenv("P2PCHAT_NO_NETNS")) return std::string("P2PCHAT_NO_NETNS is set");
        if (::geteuid() != 0) return std::string("not running as root");
        if (ip_path().empty()) return std::string("ip(8) not found (iproute2)");
        if (nft_path().empty()) return std::string("nft(8) not found (nftables)");
        std::string const probe = std::string(lab_prefix) + std::to_string(::getpid()) + "probe";
        if (auto error = try_ip({"netns", "add", probe}); !error.empty()) return error;
        auto error = try_ip({"netns", "exec", probe, nft_path(), "list", "ruleset"});
        (void)try_ip({"netns", "del", probe});
        return error;
    }();
    return why;
}

netns_lab::netns_lab(int nodes) {
    static std::atomic<int> labs{0};
    prefix_ = std::string(lab_prefix) + std::to_string(::getpid()) + "x" + std::to_string(labs++);
    hub_ = prefix_ + "hub";
    sweep_abandoned_labs();
    try {
        ip({"netns", "add", hub_});
        ip({"-n", hub_, "link", "add", "br0", "type", "bridge"});
        ip({"-n", hub_, "link", "set", "br0", "up"});
        for (int i = 0; i < nodes; ++i) {
            auto const& ns = names_.emplace_back(prefix_ + "n" + std::to_string(i));
            auto const port = "v" + std::to_string(i);
            ip({"netns", "add", ns});
            ip({"-n", hub_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
                ns});
            ip({"-n", hub_, "link", "set", port, "master", "br0", "up"});
            ip({"-n", ns, "addr", "add", address(i) + "/24", "dev", "eth0"});
            ip({"-n", ns, "link", "set", "eth0", "up"});
            ip({"-n", ns, "link", "set", "lo", "up"});
        }
    } catch (...) {
        remove();
        throw;
    }
}

netns_lab::~netns_lab() { remove(); }

void netns_lab::remove() {
    for (auto const& ns : names_) (void)try_ip({"netns", "del", ns});
    names_.clear();
    if (!hub_.empty()) (void)try_ip({"netns", "del", hub_});
    hub_.clear();
}

std::string netns_lab::address(int i) const { return "10.47.0." + std::to_string(i + 1); }

std::vector<std::string> netns_lab::exec_prefix(int i) const {
    return {ip_path(), "netns", "exec", name(i)};
}

void netns_lab::nft(int i, std::string const& script) const {
    ip({"netns", "exec", name(i), nft_path(), "-f", "-"}, script);
}

void netns_lab::partition(std::vector<int> const& side, cut how) {
    auto const inside = [&](int i) { return std::find(side.begin(), side.end(), i) != side.end(); };
    for (int i = 0; i < size(); ++i) {
        std::vector<std::string> across;
        for (int j = 0; j < size(); ++j)
            if (inside(i) != inside(j)) across.push_back(address(j));
        if (!across.empty()) cut_off(i, across, how);
    }
}

void netns_lab::sever(int a, int b, cut how) {
    cut_off(a, {address(b)}, how);
    cut_off(b, {address(a)}, how);
}

void netns_lab::cut_off(int i, std::vector<std::string> const& addresses, cut how) {
    auto const set = address_list(addresses);
    // A reset cut answers TCP with a reset and lets resets through (the other side's
    // answers; its own chain would drop them otherwise); anything else is dropped.
    auto const rules = [&](std::string const& field) {
        std::string r;
        if (how == cut::reset)
            r += "ip " + field + " " + set + " tcp flags rst accept\n" + "ip " + field + " " + set +
                 " meta l4proto tcp reject with tcp reset\n";
        return r + "ip " + field + " " + set + " drop\n";
    };
    nft(i,
        "table inet p2pfault {\n"
        "chain input {\ntype filter hook input priority 0; policy accept;\n" +
            rules("saddr") +
            "}\n"
            "chain output {\ntype filter hook output priority 0; policy accept;\n" +
            rules("daddr") + "}\n}\n");
}

void netns_lab::loss(int i, int percent) {
    auto const rule = [&](std::string const& dir) {
        return dir + " \"eth0\" numgen random mod 100 < " + std::to_string(percent) + " drop\n";
    };
    nft(i,
        "table inet p2ploss {\n"
        "chain input {\ntype filter hook input priority 0; policy accept;\n" +
            rule("iifname") +
            "}\n"
            "chain output {\ntype filter hook output priority 0; policy accept;\n" +
            rule("oifname") + "}\n}\n");
}

void netns_lab::heal() {
    // Declaring a table first makes deleting it harmless when it was never made.
    for (int i = 0; i < size(); ++i)
        nft(i,
            "table inet p2pfault\ndelete table inet p2pfault\n"
            "table inet p2ploss\ndelete table inet p2ploss\n");
}

}  // namespace p2pchat::test
