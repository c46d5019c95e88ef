#include "ctl/stored_history.hpp"

#include <algorithm>

#include "ctl/format.hpp"

namespace p2pchat::ctl {

namespace json = boost::json;

namespace {
constexpr std::size_t page_limit = 1000;  // the daemon's maximum
}

result<stored_history> fetch_history(rpc_client& client, history_query const& q) {
    json::object params;
    if (q.since_ms) params["since_ms"] = *q.since_ms;
    if (q.until_ms) params["until_ms"] = *q.until_ms;
    if (q.from) params["from"] = *q.from;
    if (q.grep) params["grep"] = *q.grep;
    stored_history out;
    std::vector<json::array> pages;  // newest first
    std::size_t held = 0;
    for (bool first = true;; first = false) {
        std::size_t const want = q.count ? *q.count - held : page_limit;
        if (want == 0) break;
        params["limit"] = std::min(want, page_limit);
        auto r = client.call("messages", params);
        if (!r) return r.error();
        auto const* reply = r->if_object();
        auto const* messages = reply ? reply->if_contains("messages") : nullptr;
        if (!messages || !messages->is_array()) return unexpected_reply("messages");
        if (first) out.event_seq = static_cast<std::uint64_t>(int_field(*reply, "event_seq"));
        held += messages->as_array().size();
        pages.push_back(std::move(r->as_object()["messages"].as_array()));
        auto const* more = reply->if_contains("more");
        auto const* before = reply->if_contains("before");
        if (!more || !more->is_bool() || !more->as_bool() || !before) break;
        params["before"] = *before;
    }
    for (auto page = pages.rbegin(); page != pages.rend(); ++page)
        for (auto& m : *page)
            if (m.is_object()) out.messages.push_back(std::move(m.as_object()));
    return out;
}

}  // namespace p2pchat::ctl
