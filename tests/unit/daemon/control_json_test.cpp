#include "daemon/control_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace p2pchat::daemon {
namespace {

namespace json = boost::json;

// The fast path that writes a message event's line by hand must say exactly what the generic
// path (to_json, then the two fields the log stamps) says, escapes included.
TEST(ControlJson, AMessageBodyWrittenByHandIsTheGenericOne) {
    for (auto [self, late] : {std::pair{false, false}, {true, false}, {false, true}}) {
        engine::message_arrived m{{std::string(64, 'c'),
                                   1796194352987001,
                                   42,
                                   1796194354925,
                                   "çarlos \"the\" ✓",
                                   "line\nbreak \\ \x01 tab\t ✓",
                                   {}},
                                  self,
                                  late};
        auto generic = to_json(engine::node_event{m});
        generic["seq"] = 7;
        generic["time_ms"] = 1796194354936;
        std::string fast;
        append_message_body(fast, m, 7, 1796194354936);
        EXPECT_EQ(fast, json::serialize(generic));
        EXPECT_EQ(json::parse(fast), json::value(generic));
    }
}

}  // namespace
}  // namespace p2pchat::daemon
