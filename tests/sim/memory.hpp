#pragma once
// Which node the current allocations are charged to, for the per-node memory figures of
// docs/SCALING.md. The runtime charges a node while its engine handles an input and while
// its store keeps a message. The counting allocator (counting_allocator.cpp) is linked into
// p2pchat-sim only; elsewhere nothing counts and live_bytes() says so (-1).
#include <cstdint>

namespace p2pchat::sim::memory {

inline constexpr int max_accounts = 8192;

// 0: nobody. Node i is account i + 1.
extern thread_local int current_account;

struct usage {
    std::int64_t bytes = -1;  // -1: no counting allocator in this program
    std::int64_t allocations = 0;
};
usage live(int account);

class charge {
  public:
    explicit charge(int account) : previous_(current_account) { current_account = account; }
    ~charge() { current_account = previous_; }
    charge(charge const&) = delete;
    charge& operator=(charge const&) = delete;

  private:
    int previous_;
};

}  // namespace p2pchat::sim::memory
