#include "daemon/control_json.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "common/rpc/rpc.hpp"

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

// The same for the reply to `send`, whatever the caller's id is.
TEST(ControlJson, ASendReplyWrittenByHandIsTheGenericOne) {
    engine::send_receipt const receipt{std::string(64, 'a') + ":12", 12, 1796194352987001};
    for (json::value id : {json::value(7), json::value("req \"7\""), json::value(nullptr),
                           json::value(-3), json::value(2.5)}) {
        auto const generic = json::serialize(rpc::make_result(id, send_result(receipt, 9))) + "\n";
        EXPECT_EQ(send_result_line(id, receipt, 9), generic);
    }
}

}  // namespace
}  // namespace p2pchat::daemon
