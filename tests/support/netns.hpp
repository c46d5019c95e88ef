#pragma once
// Nodes in network namespaces of their own, joined by one bridge, and the faults nftables
// makes inside them (issue #10, item 7): partitions whose packets are silently dropped or
// whose connections are reset, and random loss. The kernel here has no netem: delay comes
// from SIGSTOP (node::suspend).
//
// Layout: a hub namespace holds the bridge; node i has its own namespace whose eth0
// (10.47.0.<i+1>/24) is one end of a veth pair, the other end a port of the bridge. Nothing is
// added to the test's own namespace: the addresses cannot clash with the host's, and every
// lab has its own hub, so labs can run side by side. The control sockets are Unix sockets
// with paths, which a network namespace does not separate: p2pchatctl runs as usual.
//
// Owned by the test that creates it; single-threaded. The destructor deletes every namespace
// it made (their veths and the bridge go with them), also when an assertion fails half-way;
// a lab left behind by a test process that died without unwinding (a ctest timeout) is
// deleted by the next lab made on the machine. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN),
// ip(8) and nft(8): unavailable() says what is missing.
#include <string>
#include <vector>

namespace p2pchat::test {

class netns_lab {
  public:
    // Why namespaces cannot be used here, in one line; empty when they can.
    static std::string unavailable();

    // Creates the hub and `nodes` node namespaces; throws std::runtime_error naming the
    // command that failed and its stderr.
    explicit netns_lab(int nodes);
    ~netns_lab();
    netns_lab(netns_lab const&) = delete;
    netns_lab& operator=(netns_lab const&) = delete;

    int size() const { return static_cast<int>(names_.size()); }
    // Node i's namespace and address (i from 0).
    std::string const& name(int i) const { return names_.at(static_cast<std::size_t>(i)); }
    std::string address(int i) const;
    // What runs a program in node i's namespace: `ip netns exec NS`, which execs the program
    // (the pid stays the program's).
    std::vector<std::string> exec_prefix(int i) const;

    enum class cut {
        drop,   // packets lost silently: connections wait, dials time out
        reset,  // TCP answered with a reset (a firewall's reject): connections break at once
    };
    // Cuts every node in `side` from every other node, both ways.
    void partition(std::vector<int> const& side, cut how);
    // Cuts nodes a and b from each other only: each still reaches everyone else.
    void sever(int a, int b, cut how);
    // Node i loses `percent` % of the packets it sends and receives, at random.
    void loss(int i, int percent);
    // Removes every fault from every node.
    void heal();

  private:
    // Deletes what the lab made (no throw).
    void remove();
    // Node i's rules that cut it from these addresses, both ways.
    void cut_off(int i, std::vector<std::string> const& addresses, cut how);
    // Runs `nft -f -` with this script in node i's namespace.
    void nft(int i, std::string const& script) const;

    std::string prefix_;  // "p2pct<pid>x<n>": unique per lab, and names the owning process
    std::string hub_;
    std::vector<std::string> names_;
};

}  // namespace p2pchat::test
