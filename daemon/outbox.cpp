#include "daemon/outbox.hpp"

namespace p2pchat::daemon {

void outbox::push_back(shared_buffer b) {
    bytes_ += b->size();
    items_.push_back(std::move(b));
    wake();
}

void outbox::push_front(shared_buffer b) {
    bytes_ += b->size();
    if (head_ > 0)
        items_[--head_] = std::move(b);
    else
        items_.insert(items_.begin(), std::move(b));
    wake();
}

shared_buffer outbox::pop_front() {
    shared_buffer b = std::move(items_[head_++]);
    bytes_ -= b->size();
    if (head_ == items_.size()) {
        // Drained: a burst's storage goes back, a little is kept for the next few.
        head_ = 0;
        if (items_.capacity() > 64)
            std::vector<shared_buffer>().swap(items_);
        else
            items_.clear();
    } else if (head_ >= 1024 && head_ * 2 >= items_.size()) {
        items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
    return b;
}

std::size_t outbox::drop_oldest_over(std::size_t limit) {
    std::size_t dropped = 0;
    while (bytes_ > limit && size() > 1) {
        pop_front();
        ++dropped;
    }
    return dropped;
}

void outbox::clear() {
    std::vector<shared_buffer>().swap(items_);
    head_ = 0;
    bytes_ = 0;
}

}  // namespace p2pchat::daemon
