#include "common/seen_messages.hpp"

#include <algorithm>

namespace p2pchat {

void seen_messages::absorb(window& w) {
    while (!w.above.empty() && *w.above.begin() == w.watermark + 1) {
        w.watermark = *w.above.begin();
        w.above.erase(w.above.begin());
    }
}

bool seen_messages::insert(std::string const& origin, std::uint64_t seq) {
    if (!origins_.contains(origin) && origins_.size() >= max_origins_) {
        auto oldest = origins_.begin();
        for (auto it = origins_.begin(); it != origins_.end(); ++it)
            if (it->second.last_use < oldest->second.last_use) oldest = it;
        origins_.erase(oldest);
    }
    window& w = origins_[origin];
    w.last_use = ++uses_;
    if (seq <= w.watermark) return false;
    if (seq - w.watermark > new_run_distance) {
        // A new run of seqs far ahead (a restarted origin starts at its start time): what
        // was missing below it will not come any more.
        w.watermark = seq - 1;
        w.above.erase(w.above.begin(), w.above.upper_bound(w.watermark));
    }
    if (seq == w.watermark + 1) {
        w.watermark = seq;
        absorb(w);  // seqs that were waiting for this one
        return true;
    }
    if (!w.above.insert(seq).second) return false;
    if (w.above.size() > max_gaps_) {
        w.watermark = *w.above.begin();
        w.above.erase(w.above.begin());
        absorb(w);
    }
    return true;
}

void seen_messages::start_at(std::string const& origin, std::uint64_t seq) {
    if (seq == 0 || follows(origin)) return;
    // Makes room like any new origin, and takes seq - 1 as the top.
    if (seq > 1)
        insert(origin, seq - 1);
    else if (!origins_.contains(origin))
        insert(origin, 0);
    window& w = origins_[origin];
    w.started = true;
    w.watermark = std::max(w.watermark, seq - 1);
    w.above.erase(w.above.begin(), w.above.upper_bound(w.watermark));
    absorb(w);
}

bool seen_messages::follows(std::string const& origin) const {
    auto it = origins_.find(origin);
    return it != origins_.end() && (it->second.watermark > 0 || it->second.started);
}

bool seen_messages::contains(std::string const& origin, std::uint64_t seq) const {
    auto it = origins_.find(origin);
    if (it == origins_.end()) return false;
    return seq <= it->second.watermark || it->second.above.contains(seq);
}

std::uint64_t seen_messages::watermark(std::string const& origin) const {
    auto it = origins_.find(origin);
    return it == origins_.end() ? 0 : it->second.watermark;
}

}  // namespace p2pchat
