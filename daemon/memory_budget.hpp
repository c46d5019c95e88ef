#pragma once
// The bytes the node's peer connections hold between the network and the node: records half
// received, and frames queued to be sent. Each connection has its own limits (a record is at
// most 1 MiB, a queue 4 MiB), but hundreds of connections each within them could add up to
// more than a node should hold; this is the one budget they all draw on (docs/SECURITY.md,
// "Bounded under attack"). Over it, a connection holding a large half-received record is
// closed and queues keep only their newest frames.
//
// Single-threaded (the io thread). Shares keep the budget alive, so a connection that ends
// after the node is gone releases its share safely.
#include <cstddef>
#include <memory>

namespace p2pchat::daemon {

class memory_budget {
  public:
    static constexpr std::size_t default_limit = 64 * 1024 * 1024;
    // What a connection may still hold of each kind while the budget is exhausted.
    static constexpr std::size_t share_when_exhausted = 64 * 1024;

    explicit memory_budget(std::size_t limit = default_limit) : limit_(limit) {}

    std::size_t used() const { return used_; }
    std::size_t limit() const { return limit_; }
    bool exhausted() const { return used_ > limit_; }

    // One holder's part of the budget: it says how much it holds now; the budget keeps the
    // sum. Released when destroyed.
    class share {
      public:
        share() = default;
        explicit share(std::shared_ptr<memory_budget> budget) : budget_(std::move(budget)) {}
        share(share&&) = default;
        share& operator=(share&&) = default;
        ~share() { update(0); }

        void update(std::size_t holding) {
            if (!budget_) return;
            budget_->used_ = budget_->used_ - held_ + holding;
            held_ = holding;
        }
        bool exhausted() const { return budget_ && budget_->exhausted(); }

      private:
        std::shared_ptr<memory_budget> budget_;
        std::size_t held_ = 0;
    };

  private:
    std::size_t limit_;
    std::size_t used_ = 0;
};

}  // namespace p2pchat::daemon
