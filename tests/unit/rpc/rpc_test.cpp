#include "common/rpc/rpc.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace p2pchat::rpc {
namespace {

namespace json = boost::json;

call const& as_call(entry const& e) {
    EXPECT_TRUE(std::holds_alternative<call>(e))
        << "bad call: " << std::get<bad_call>(e).err.message;
    static call const none;
    return std::holds_alternative<call>(e) ? std::get<call>(e) : none;
}

bad_call const& as_bad(entry const& e) {
    EXPECT_TRUE(std::holds_alternative<bad_call>(e))
        << "accepted call to " << std::get<call>(e).method;
    static bad_call const none;
    return std::holds_alternative<bad_call>(e) ? std::get<bad_call>(e) : none;
}

call parse_one_call(std::string_view line) {
    auto p = parse_line(line);
    EXPECT_FALSE(p.batch);
    EXPECT_EQ(p.entries.size(), 1u);
    return p.entries.empty() ? call{} : as_call(p.entries.front());
}

bad_call parse_one_bad(std::string_view line) {
    auto p = parse_line(line);
    EXPECT_FALSE(p.batch) << line;
    EXPECT_EQ(p.entries.size(), 1u) << line;
    return p.entries.empty() ? bad_call{} : as_bad(p.entries.front());
}

void expect_bad(std::string_view line, code want, json::value const& want_id = nullptr) {
    SCOPED_TRACE(std::string(line));
    auto const b = parse_one_bad(line);
    EXPECT_EQ(b.err.error_code, want) << b.err.message;
    EXPECT_EQ(b.id, want_id);
    EXPECT_FALSE(b.err.message.empty());
}

TEST(RpcBatchLimit, OverTheLimitIsRefusedWhole) {
    std::string batch = "[";
    for (std::size_t i = 0; i <= max_batch_calls; ++i)
        batch += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":1,"method":"status"})";
    batch += "]";
    auto const parsed = parse_line(batch);
    ASSERT_EQ(parsed.entries.size(), 1u);
    auto const* bad = std::get_if<bad_call>(&parsed.entries[0]);
    ASSERT_NE(bad, nullptr);
    EXPECT_EQ(bad->err.error_code, code::invalid_request);
    // At the limit it is fine.
    batch = "[";
    for (std::size_t i = 0; i < max_batch_calls; ++i)
        batch += std::string(i ? "," : "") + R"({"jsonrpc":"2.0","id":1,"method":"status"})";
    batch += "]";
    EXPECT_EQ(parse_line(batch).entries.size(), max_batch_calls);
}

TEST(RpcParse, CallWithParamsByName) {
    auto c = parse_one_call(R"({"jsonrpc":"2.0","id":1,"method":"send","params":{"text":"hi"}})");
    ASSERT_TRUE(c.id);
    EXPECT_EQ(*c.id, json::value(1));
    EXPECT_EQ(c.method, "send");
    EXPECT_EQ(c.params, (json::object{{"text", "hi"}}));
}

TEST(RpcParse, IdKindsAreKeptAsGiven) {
    auto s = parse_one_call(R"({"jsonrpc":"2.0","id":"abc","method":"status"})");
    ASSERT_TRUE(s.id);
    EXPECT_EQ(*s.id, json::value("abc"));
    auto n = parse_one_call(R"({"jsonrpc":"2.0","id":null,"method":"status"})");
    ASSERT_TRUE(n.id);  // an explicit null id is a request, not a notification
    EXPECT_TRUE(n.id->is_null());
    auto neg = parse_one_call(R"({"jsonrpc":"2.0","id":-7,"method":"status"})");
    EXPECT_EQ(*neg.id, json::value(-7));
    auto big = parse_one_call(R"({"jsonrpc":"2.0","id":18446744073709551615,"method":"status"})");
    EXPECT_EQ(*big.id, json::value(18446744073709551615ull));
    auto frac = parse_one_call(R"({"jsonrpc":"2.0","id":1.5,"method":"status"})");
    EXPECT_EQ(*frac.id, json::value(1.5));
}

// Found by the JSON-RPC fuzzer (fuzz/rpc_parse_line.cpp): Boost.JSON 1.81 parses 1e400 as
// infinity and 0e400 as NaN, and serializes them as Infinity and NaN, so echoing such an id
// wrote a reply line that is not JSON.
TEST(RpcParse, AnIdThatIsNoFiniteNumberIsInvalid) {
    for (std::string_view line : {R"({"jsonrpc":"2.0","id":1e400,"method":"status"})",
                                  R"({"jsonrpc":"2.0","id":-1e400,"method":"status"})",
                                  R"({"jsonrpc":"2.0","id":0e400,"method":"status"})"}) {
        expect_bad(line, code::invalid_request);
        auto const reply = json::serialize(make_error(parse_one_bad(line).id, {}));
        json::error_code ec;
        EXPECT_TRUE(json::parse(reply, ec).is_object()) << reply;
    }
    EXPECT_EQ(*parse_one_call(R"({"jsonrpc":"2.0","id":1e300,"method":"status"})").id,
              json::value(1e300));
}

TEST(RpcParse, ParamsAbsentOrEmptyArrayMeanNone) {
    auto a = parse_one_call(R"({"jsonrpc":"2.0","id":1,"method":"peers"})");
    EXPECT_TRUE(a.params.empty());
    auto b = parse_one_call(R"({"jsonrpc":"2.0","id":1,"method":"peers","params":[]})");
    EXPECT_TRUE(b.params.empty());
    auto c = parse_one_call(R"({"jsonrpc":"2.0","id":1,"method":"peers","params":{}})");
    EXPECT_TRUE(c.params.empty());
}

TEST(RpcParse, MemberOrderAndWhitespaceDoNotMatter) {
    auto c = parse_one_call(
        " \t{ \"params\" : {\"a\":1}, \"method\":\"x\", \"id\":\"q\", "
        "\"jsonrpc\":\"2.0\" }\r\n");
    EXPECT_EQ(c.method, "x");
    EXPECT_EQ(*c.id, json::value("q"));
    EXPECT_EQ(c.params.at("a"), json::value(1));
}

TEST(RpcParse, NotificationHasNoId) {
    auto c = parse_one_call(R"({"jsonrpc":"2.0","method":"send","params":{"text":"x"}})");
    EXPECT_FALSE(c.id);
    EXPECT_EQ(c.method, "send");
}

TEST(RpcParse, ParseErrors) {
    for (std::string_view line :
         {std::string_view(""), std::string_view("   "), std::string_view("{"),
          std::string_view("not json"), std::string_view(R"({"jsonrpc":"2.0",})"),
          std::string_view(R"({"jsonrpc":"2.0","id":1,"method":"status"} {})"),
          std::string_view(R"([{"jsonrpc":"2.0","method":"sum"},{"jsonrpc":"2.0","method")"),
          std::string_view("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}"),
          std::string_view("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"send\",\"params\":"
                           "{\"text\":\"\xed\xa0\x80\"}}")}) {
        expect_bad(line, code::parse_error);
        EXPECT_EQ(parse_one_bad(line).err.message.rfind("parse error", 0), 0u);
    }
}

TEST(RpcParse, NotAnObjectIsInvalidRequest) {
    expect_bad("1", code::invalid_request);
    expect_bad(R"("send")", code::invalid_request);
    expect_bad("null", code::invalid_request);
    expect_bad("true", code::invalid_request);
}

TEST(RpcParse, BadIdIsInvalidRequestWithNullId) {
    expect_bad(R"({"jsonrpc":"2.0","id":{"a":1},"method":"status"})", code::invalid_request);
    expect_bad(R"({"jsonrpc":"2.0","id":[1],"method":"status"})", code::invalid_request);
    expect_bad(R"({"jsonrpc":"2.0","id":true,"method":"status"})", code::invalid_request);
}

TEST(RpcParse, VersionMustBeTheString2Point0) {
    expect_bad(R"({"id":4,"method":"status"})", code::invalid_request, 4);
    expect_bad(R"({"jsonrpc":"1.0","id":4,"method":"status"})", code::invalid_request, 4);
    expect_bad(R"({"jsonrpc":2.0,"id":4,"method":"status"})", code::invalid_request, 4);
    expect_bad(R"({"jsonrpc":null,"id":"s","method":"status"})", code::invalid_request, "s");
    // Without an id the error still goes back, under a null id (JSON-RPC 2.0, section 5).
    expect_bad(R"({"jsonrpc":"1.0","method":"status"})", code::invalid_request);
    EXPECT_FALSE(parse_one_bad(R"({"jsonrpc":"1.0","method":"status"})").notification);
}

TEST(RpcParse, MethodMustBeAString) {
    expect_bad(R"({"jsonrpc":"2.0","id":4})", code::invalid_request, 4);
    expect_bad(R"({"jsonrpc":"2.0","id":4,"method":1})", code::invalid_request, 4);
    expect_bad(R"({"jsonrpc":"2.0","id":4,"method":null})", code::invalid_request, 4);
    expect_bad(R"({"jsonrpc":"2.0","id":4,"method":["send"]})", code::invalid_request, 4);
    expect_bad(R"({"jsonrpc": "2.0", "method": 1, "params": "bar"})", code::invalid_request);
}

TEST(RpcParse, ParamsByPositionAreRefused) {
    expect_bad(R"({"jsonrpc":"2.0","id":9,"method":"send","params":["hi"]})", code::invalid_params,
               9);
    expect_bad(R"({"jsonrpc":"2.0","id":9,"method":"send","params":"hi"})", code::invalid_params,
               9);
    expect_bad(R"({"jsonrpc":"2.0","id":9,"method":"send","params":3})", code::invalid_params, 9);
    expect_bad(R"({"jsonrpc":"2.0","id":9,"method":"send","params":null})", code::invalid_params,
               9);
    EXPECT_FALSE(
        parse_one_bad(R"({"jsonrpc":"2.0","id":9,"method":"send","params":[1]})").notification);
}

TEST(RpcParse, NotificationWithBadParamsGetsNoReply) {
    // Well-formed notification, unusable params: JSON-RPC says notifications are never
    // answered, not even with an error.
    auto const b = parse_one_bad(R"({"jsonrpc":"2.0","method":"send","params":["hi"]})");
    EXPECT_EQ(b.err.error_code, code::invalid_params);
    EXPECT_TRUE(b.notification);
}

TEST(RpcParse, BatchKeepsOrderAndMixesCallsNotificationsAndErrors) {
    auto p = parse_line(R"([
        {"jsonrpc":"2.0","id":1,"method":"send","params":{"text":"a"}},
        {"jsonrpc":"2.0","method":"send","params":{"text":"b"}},
        {"foo":"boo"},
        1,
        {"jsonrpc":"2.0","id":"x","method":"peers","params":[1]},
        {"jsonrpc":"2.0","id":2,"method":"status"}
    ])");
    EXPECT_TRUE(p.batch);
    ASSERT_EQ(p.entries.size(), 6u);
    EXPECT_EQ(*as_call(p.entries[0]).id, json::value(1));
    EXPECT_FALSE(as_call(p.entries[1]).id);
    EXPECT_EQ(as_call(p.entries[1]).params.at("text"), json::value("b"));
    EXPECT_EQ(as_bad(p.entries[2]).err.error_code, code::invalid_request);
    EXPECT_EQ(as_bad(p.entries[3]).err.error_code, code::invalid_request);
    EXPECT_EQ(as_bad(p.entries[4]).err.error_code, code::invalid_params);
    EXPECT_EQ(as_bad(p.entries[4]).id, json::value("x"));
    EXPECT_EQ(as_call(p.entries[5]).method, "status");
}

TEST(RpcParse, BatchOfOneIsStillABatch) {
    auto p = parse_line(R"([{"jsonrpc":"2.0","id":1,"method":"status"}])");
    EXPECT_TRUE(p.batch);
    ASSERT_EQ(p.entries.size(), 1u);
    EXPECT_EQ(as_call(p.entries[0]).method, "status");
}

TEST(RpcParse, BatchOfInvalidValues) {
    auto p = parse_line("[1,2,3]");
    EXPECT_TRUE(p.batch);
    ASSERT_EQ(p.entries.size(), 3u);
    for (auto const& e : p.entries) {
        EXPECT_EQ(as_bad(e).err.error_code, code::invalid_request);
        EXPECT_TRUE(as_bad(e).id.is_null());
    }
    auto nested = parse_line(R"([[{"jsonrpc":"2.0","id":1,"method":"status"}]])");
    EXPECT_TRUE(nested.batch);
    ASSERT_EQ(nested.entries.size(), 1u);
    EXPECT_EQ(as_bad(nested.entries[0]).err.error_code, code::invalid_request);
}

TEST(RpcParse, EmptyBatchIsOneInvalidRequest) {
    auto p = parse_line(" [ ] ");
    EXPECT_FALSE(p.batch);  // answered with a single error object, not an array
    ASSERT_EQ(p.entries.size(), 1u);
    EXPECT_EQ(as_bad(p.entries[0]).err.error_code, code::invalid_request);
    EXPECT_TRUE(as_bad(p.entries[0]).id.is_null());
}

TEST(RpcReply, ResultShape) {
    auto const r = make_result(7, json::object{{"seq", 3}});
    EXPECT_EQ(r, (json::object{{"jsonrpc", "2.0"}, {"id", 7}, {"result", {{"seq", 3}}}}));
    EXPECT_EQ(make_result("s", nullptr).at("result"), json::value(nullptr));
    EXPECT_EQ(make_result(nullptr, 1).at("id"), json::value(nullptr));
    EXPECT_EQ(json::serialize(make_result(1, true)), R"({"jsonrpc":"2.0","id":1,"result":true})");
}

TEST(RpcReply, ErrorShape) {
    auto const e = make_error(3, error{code::method_not_found, "no such method: x", nullptr});
    EXPECT_EQ(e, (json::object{{"jsonrpc", "2.0"},
                               {"id", 3},
                               {"error", {{"code", -32601}, {"message", "no such method: x"}}}}));
    EXPECT_FALSE(e.at("error").as_object().contains("data"));
    EXPECT_FALSE(e.contains("result"));

    auto const with_data = make_error(
        "j", error{code::join_refused, "join refused", json::object{{"code", "table_full"}}});
    EXPECT_EQ(with_data.at("id"), json::value("j"));
    auto const& err = with_data.at("error").as_object();
    EXPECT_EQ(err.at("code"), json::value(1003));
    EXPECT_EQ(err.at("message"), json::value("join refused"));
    EXPECT_EQ(err.at("data"), (json::object{{"code", "table_full"}}));
    EXPECT_EQ(err.size(), 3u);
}

TEST(RpcReply, ErrorForABadCallEchoesItsId) {
    auto p = parse_line(R"({"jsonrpc":"1.0","id":"abc","method":"status"})");
    auto const& b = as_bad(p.entries.at(0));
    auto const reply = make_error(b.id, b.err);
    EXPECT_EQ(reply.at("id"), json::value("abc"));
    EXPECT_EQ(reply.at("error").at("code"), json::value(-32600));
    auto parse = parse_line("{");
    auto const& pb = as_bad(parse.entries.at(0));
    EXPECT_EQ(make_error(pb.id, pb.err).at("id"), json::value(nullptr));
    EXPECT_EQ(make_error(pb.id, pb.err).at("error").at("code"), json::value(-32700));
}

TEST(RpcReply, NotificationShape) {
    auto const n = make_notification("event", json::object{{"seq", 1}, {"type", "message"}});
    EXPECT_EQ(n, (json::object{{"jsonrpc", "2.0"},
                               {"method", "event"},
                               {"params", {{"seq", 1}, {"type", "message"}}}}));
    EXPECT_FALSE(n.contains("id"));
}

TEST(RpcCodes, NumericValuesMatchControlMd) {
    EXPECT_EQ(static_cast<int>(code::parse_error), -32700);
    EXPECT_EQ(static_cast<int>(code::invalid_request), -32600);
    EXPECT_EQ(static_cast<int>(code::method_not_found), -32601);
    EXPECT_EQ(static_cast<int>(code::invalid_params), -32602);
    EXPECT_EQ(static_cast<int>(code::internal_error), -32603);
    EXPECT_EQ(static_cast<int>(code::too_many_clients), -32000);
    EXPECT_EQ(static_cast<int>(code::text_too_long), 1001);
    EXPECT_EQ(static_cast<int>(code::peer_unreachable), 1002);
    EXPECT_EQ(static_cast<int>(code::join_refused), 1003);
    EXPECT_EQ(static_cast<int>(code::timed_out), 1004);
    EXPECT_EQ(static_cast<int>(code::subscriber_too_slow), 1005);
    EXPECT_EQ(max_line_bytes, 1048576u);
}

TEST(RpcCodes, ExitStatusesMatchTheCliSpec) {
    EXPECT_EQ(exit_status::ok, 0);
    EXPECT_EQ(exit_status::refused, 1);
    EXPECT_EQ(exit_status::not_running, 3);
    EXPECT_EQ(exit_status::usage, 64);
    EXPECT_EQ(exit_status::data_error, 65);
    EXPECT_EQ(exit_status::unavailable, 69);
    EXPECT_EQ(exit_status::software, 70);
    EXPECT_EQ(exit_status::io_error, 74);
    EXPECT_EQ(exit_status::no_permission, 77);
}

TEST(RpcCodes, ExitStatusTable) {
    // Errors that mean the client and daemon do not understand each other: protocol error.
    EXPECT_EQ(exit_status_for(-32700), exit_status::software);
    EXPECT_EQ(exit_status_for(-32600), exit_status::software);
    EXPECT_EQ(exit_status_for(-32601), exit_status::software);
    EXPECT_EQ(exit_status_for(-32603), exit_status::software);
    // The daemon is there but will not serve us.
    EXPECT_EQ(exit_status_for(-32000), exit_status::unavailable);
    // The daemon understood and refused.
    EXPECT_EQ(exit_status_for(-32602), exit_status::refused);
    for (int c = 1001; c <= 1005; ++c) EXPECT_EQ(exit_status_for(c), exit_status::refused) << c;
    // Codes a newer daemon may add.
    EXPECT_EQ(exit_status_for(1006), exit_status::refused);
    EXPECT_EQ(exit_status_for(-32099), exit_status::refused);
    EXPECT_EQ(exit_status_for(0), exit_status::refused);
}

}  // namespace
}  // namespace p2pchat::rpc
