#include "common/wire/messages.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/crypto/signatures.hpp"
#include "common/text.hpp"
#include "tests/support/identities.hpp"

namespace p2pchat::wire {
namespace {

namespace json = boost::json;

// 64 times the same character: for what makes an id well-formed or not.
std::string repeated(char c) { return std::string(64, c); }
// The id of a real identity (tests/support/identities.hpp), which signs what it sends.
std::string const& node_id(char c) { return test::id_of(c); }

peer_entry entry(char c, std::string name, std::uint64_t inc,
                 peer_state state = peer_state::alive) {
    return test::signed_entry(c, std::move(name), "127.0.0.1:7447", inc, state);
}

chat_msg chat(std::uint64_t seq, std::string text) {
    return test::chained_chat('a', seq, seq + 10, std::move(text), {}, "alice", 1764111111123);
}

// What a rename or a leave carries: the signature of the entry that results.
rename_msg renaming(char c, std::string name, std::uint64_t inc) {
    auto const sig = entry(c, name, inc).sig;
    return {node_id(c), std::move(name), inc, sig};
}
leave_msg leaving(char c, std::uint64_t inc) {
    return {node_id(c), inc, entry(c, "n", inc, peer_state::left).sig};
}

// A decoded message compared with the one encoded, member by member.
void expect_same(message const& got, message const& want) {
    ASSERT_EQ(got.index(), want.index()) << type_name(got) << " vs " << type_name(want);
    if (auto const* w = std::get_if<join_msg>(&want)) {
        EXPECT_EQ(std::get<join_msg>(got).from, w->from);
    } else if (auto const* w = std::get_if<welcome_msg>(&want)) {
        auto const& g = std::get<welcome_msg>(got);
        EXPECT_EQ(g.from, w->from);
        EXPECT_EQ(g.peers, w->peers);
        EXPECT_EQ(g.history, w->history);
        EXPECT_EQ(g.seals, w->seals);
        EXPECT_EQ(g.anchors, w->anchors);
        EXPECT_EQ(g.heads, w->heads);
    } else if (auto const* w = std::get_if<refused_msg>(&want)) {
        EXPECT_EQ(std::get<refused_msg>(got).code, w->code);
        EXPECT_EQ(std::get<refused_msg>(got).reason, w->reason);
    } else if (auto const* w = std::get_if<hello_msg>(&want)) {
        EXPECT_EQ(std::get<hello_msg>(got).from, w->from);
    } else if (auto const* w = std::get_if<peers_msg>(&want)) {
        EXPECT_EQ(std::get<peers_msg>(got).peers, w->peers);
        EXPECT_EQ(std::get<peers_msg>(got).full, w->full);
    } else if (auto const* w = std::get_if<digest_msg>(&want)) {
        EXPECT_EQ(std::get<digest_msg>(got).hash, w->hash);
        EXPECT_EQ(std::get<digest_msg>(got).count, w->count);
    } else if (auto const* w = std::get_if<chat_msg>(&want)) {
        EXPECT_EQ(std::get<chat_msg>(got), *w);
    } else if (auto const* w = std::get_if<rename_msg>(&want)) {
        EXPECT_EQ(std::get<rename_msg>(got).id, w->id);
        EXPECT_EQ(std::get<rename_msg>(got).name, w->name);
        EXPECT_EQ(std::get<rename_msg>(got).inc, w->inc);
        EXPECT_EQ(std::get<rename_msg>(got).sig, w->sig);
    } else if (auto const* w = std::get_if<leave_msg>(&want)) {
        EXPECT_EQ(std::get<leave_msg>(got).id, w->id);
        EXPECT_EQ(std::get<leave_msg>(got).inc, w->inc);
        EXPECT_EQ(std::get<leave_msg>(got).sig, w->sig);
    } else if (auto const* w = std::get_if<seal_msg>(&want)) {
        EXPECT_EQ(std::get<seal_msg>(got), *w);
    } else if (auto const* w = std::get_if<heads_msg>(&want)) {
        EXPECT_EQ(std::get<heads_msg>(got).heads, w->heads);
        EXPECT_EQ(std::get<heads_msg>(got).answer, w->answer);
        EXPECT_EQ(std::get<heads_msg>(got).ack, w->ack);
    } else if (auto const* w = std::get_if<history_msg>(&want)) {
        EXPECT_EQ(std::get<history_msg>(got).messages, w->messages);
        EXPECT_EQ(std::get<history_msg>(got).seals, w->seals);
        EXPECT_EQ(std::get<history_msg>(got).anchors, w->anchors);
        EXPECT_EQ(std::get<history_msg>(got).more, w->more);
    } else if (auto const* w = std::get_if<ping_msg>(&want)) {
        EXPECT_EQ(std::get<ping_msg>(got), *w);
    } else if (auto const* w = std::get_if<ack_msg>(&want)) {
        EXPECT_EQ(std::get<ack_msg>(got), *w);
    } else if (auto const* w = std::get_if<ping_req_msg>(&want)) {
        EXPECT_EQ(std::get<ping_req_msg>(got), *w);
    } else if (auto const* w = std::get_if<nack_msg>(&want)) {
        EXPECT_EQ(std::get<nack_msg>(got), *w);
    } else if (auto const* w = std::get_if<unknown_msg>(&want)) {
        EXPECT_EQ(std::get<unknown_msg>(got).type, w->type);
    }
}

// One representative of every known message type.
std::vector<message> samples() {
    auto const a = entry('a', "alice", 1764111111123);
    auto b = entry('b', "bob", 7, peer_state::left);
    b.addr = "[::1]:7448";
    test::sign(b);
    auto c = entry('c', "çarlos ✓", std::numeric_limits<std::uint64_t>::max());
    c.addr = "example.org:1";
    test::sign(c);
    auto const first = chat(1, "hi");
    auto second = chat(2, "line\nbreak \"quoted\" ✓");
    test::rechain(second, first.chain);
    return {
        join_msg{a},
        welcome_msg{a,
                    {a, b, c},
                    {first, second},
                    {test::seal_of(second)},
                    {{first.origin, first.seq, std::string(43, 'A')}},
                    {{first.origin, 7}, {b.id, 0}}},
        welcome_msg{a, {}, {}, {}, {}, {}},
        refused_msg{"table_full", "the table holds 256 peers"},
        hello_msg{c},
        peers_msg{{b}, false},
        peers_msg{{a, b, c}, true},
        peers_msg{{}, true},
        digest_msg{std::string(64, 'f'), 3},
        test::chained_chat('9', 1, 0, "t", {}, "x", -5),
        test::seal_of(first),
        chat(42, std::string(max_text_bytes, 'z')),
        renaming('d', "dora", 12),
        leaving('e', 99),
        network_key_msg{std::string(43, 'A')},
        heads_msg{{{first.origin, 2}, {std::string(64, 'e'), 0}}, true},
        heads_msg{{}, false},
        heads_msg{{{first.origin, 7}}, true, true},  // an ack
        history_msg{{first, second},
                    {test::seal_of(second)},
                    {{first.origin, 1, std::string(43, 'B')}},
                    true},
        history_msg{{}, {}, {}, false},
        ping_msg{1, {}},
        ping_msg{std::numeric_limits<std::uint64_t>::max(),
                 {{a, b}, {{node_id('c'), 7, node_id('a')}}}},
        ack_msg{9, {{c}, {}}},
        ping_req_msg{10, node_id('b'), {{}, {{node_id('b'), 7, node_id('a')}}}},
        nack_msg{10},
    };
}

json::object as_object(std::string const& payload) {
    json::value v = json::parse(payload);
    EXPECT_TRUE(v.is_object());
    return v.is_object() ? v.get_object() : json::object();
}

TEST(WireCodec, RoundTripEveryMessageType) {
    for (auto const& m : samples()) {
        SCOPED_TRACE(std::string(type_name(m)));
        auto const payload = encode(m);
        auto r = decode(payload);
        ASSERT_TRUE(r) << r.error().message() << " in " << payload;
        expect_same(*r, m);
        EXPECT_EQ(encode(*r), payload);  // encoding is deterministic
    }
}

TEST(WireCodec, EveryTypeIsCoveredBySamples) {
    std::vector<bool> seen(std::variant_size_v<message>, false);
    for (auto const& m : samples()) seen[m.index()] = true;
    seen[std::variant_size_v<message> - 1] = true;  // unknown_msg: not sent, see below
    for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_TRUE(seen[i]) << "variant index " << i;
}

TEST(WireCodec, EncodedObjectsCarryVersionTypeAndProtocolFieldNames) {
    struct expectation {
        message m;
        char const* type;
        std::vector<char const*> keys;
    };
    std::vector<expectation> const cases = {
        {join_msg{entry('a', "a", 1)}, "join", {"from"}},
        {welcome_msg{entry('a', "a", 1), {}, {}, {}, {}, {}},
         "welcome",
         {"from", "peers", "history", "seals", "anchors"}},
        {refused_msg{"version", "too new"}, "refused", {"code", "reason"}},
        {hello_msg{entry('a', "a", 1)}, "hello", {"from"}},
        {peers_msg{{}, true}, "peers", {"peers", "full"}},
        {digest_msg{"00", 1}, "digest", {"hash", "count"}},
        {chat(1, "x"), "chat", {"origin", "seq", "lamport", "time", "name", "text", "chain"}},
        {test::seal_of(chat(1, "x")), "seal", {"origin", "seq", "chain", "sig"}},
        {renaming('a', "n", 2), "rename", {"id", "name", "inc", "sig"}},
        {leaving('a', 2), "leave", {"id", "inc", "sig"}},
        {ping_msg{1, {}}, "ping", {"seq", "entries", "suspects"}},
        {ack_msg{1, {}}, "ack", {"seq", "entries", "suspects"}},
        {ping_req_msg{1, node_id('b'), {}}, "ping_req", {"seq", "target", "entries", "suspects"}},
        {nack_msg{1}, "nack", {"seq"}},
    };
    for (auto const& c : cases) {
        auto const o = as_object(encode(c.m));
        EXPECT_EQ(o.size(), c.keys.size() + 2) << c.type;
        ASSERT_TRUE(o.contains("v"));
        EXPECT_EQ(o.at("v"), json::value(1));
        ASSERT_TRUE(o.contains("type"));
        EXPECT_EQ(o.at("type"), json::value(c.type));
        EXPECT_EQ(type_name(c.m), c.type);
        for (auto const* k : c.keys) EXPECT_TRUE(o.contains(k)) << c.type << " lacks " << k;
    }
}

TEST(WireCodec, PeerEntryShape) {
    auto const e = entry('a', "alice", 5, peer_state::left);
    auto const o = as_object(encode(join_msg{e}));
    auto const& from = o.at("from").as_object();
    EXPECT_EQ(from.size(), 6u);
    EXPECT_EQ(from.at("id"), json::value(node_id('a')));
    EXPECT_EQ(from.at("name"), json::value("alice"));
    EXPECT_EQ(from.at("addr"), json::value("127.0.0.1:7447"));
    EXPECT_EQ(from.at("inc").to_number<std::uint64_t>(), 5u);
    EXPECT_EQ(from.at("state"), json::value("left"));
    EXPECT_EQ(from.at("sig"), json::value(e.sig));
    auto const alive = as_object(encode(join_msg{entry('a', "alice", 5)}));
    EXPECT_EQ(alive.at("from").at("state"), json::value("alive"));
}

TEST(WireCodec, AJoinSaysWhenItIsAReconnect) {
    auto const plain = encode(join_msg{entry('a', "alice", 3)});
    EXPECT_EQ(plain.find("reconnect"), std::string::npos)
        << "older nodes' frames stay as they were";
    auto const r = decode(plain);
    ASSERT_TRUE(r);
    EXPECT_FALSE(std::get<join_msg>(*r).reconnect);
    auto const again = decode(encode(join_msg{entry('a', "alice", 3), true}));
    ASSERT_TRUE(again);
    EXPECT_TRUE(std::get<join_msg>(*again).reconnect);
    EXPECT_EQ(std::get<join_msg>(*again).from, entry('a', "alice", 3));
}

TEST(WireCodec, UnknownTypeDecodesToUnknownMsg) {
    auto r = decode(R"({"v":1,"type":"future","nonce":17,"nested":{"a":[1,2]}})");
    ASSERT_TRUE(r) << r.error().message();
    ASSERT_TRUE(std::holds_alternative<unknown_msg>(*r));
    EXPECT_EQ(std::get<unknown_msg>(*r).type, "future");
    EXPECT_EQ(type_name(*r), "unknown");
}

TEST(WireCodec, TypeNamesAreCaseSensitive) {
    auto r = decode(R"({"v":1,"type":"CHAT"})");
    ASSERT_TRUE(r);
    EXPECT_TRUE(std::holds_alternative<unknown_msg>(*r));
}

TEST(WireCodec, NewerVersionWithExtraFieldsIsStillRead) {
    auto o = as_object(encode(chat(3, "hello")));
    o["v"] = 2;
    o["reactions"] = json::array{"👍"};
    auto r = decode(json::serialize(o));
    ASSERT_TRUE(r) << r.error().message();
    expect_same(*r, chat(3, "hello"));
}

void expect_error(std::string_view payload, decode_errc want) {
    auto r = decode(payload);
    ASSERT_FALSE(r) << "accepted: " << payload;
    EXPECT_EQ(r.error(), make_error_code(want))
        << "got \"" << r.error().message() << "\" for " << payload;
}

TEST(WireCodec, NotJson) {
    expect_error("", decode_errc::not_json);
    expect_error("hello", decode_errc::not_json);
    expect_error(R"({"v":1,"type":"chat")", decode_errc::not_json);
    expect_error(R"({"v":1,"type":"x"} {})", decode_errc::not_json);
    expect_error(R"({"v":1,"type":"x",})", decode_errc::not_json);
}

TEST(WireCodec, InvalidUtf8IsNotJson) {
    expect_error("{\"v\":1,\"type\":\"x\",\"s\":\"\xff\"}", decode_errc::not_json);
    expect_error("{\"v\":1,\"type\":\"x\",\"s\":\"\xc0\xaf\"}", decode_errc::not_json);  // overlong
    expect_error("{\"v\":1,\"type\":\"x\",\"s\":\"\xed\xa0\x80\"}",
                 decode_errc::not_json);  // surrogate
    expect_error("{\"v\":1,\"type\":\"x\",\"s\":\"\xe2\x82\"}",
                 decode_errc::not_json);  // truncated
}

TEST(WireCodec, NotAnObject) {
    expect_error("[]", decode_errc::not_an_object);
    expect_error(R"([{"v":1,"type":"chat"}])", decode_errc::not_an_object);
    expect_error("42", decode_errc::not_an_object);
    expect_error(R"("chat")", decode_errc::not_an_object);
    expect_error("null", decode_errc::not_an_object);
    expect_error("{}", decode_errc::not_an_object);
}

TEST(WireCodec, VersionAndTypeAreRequiredAndTyped) {
    expect_error(R"({"type":"ping"})", decode_errc::not_an_object);
    expect_error(R"({"v":1})", decode_errc::not_an_object);
    expect_error(R"({"v":"1","type":"ping"})", decode_errc::not_an_object);
    expect_error(R"({"v":-1,"type":"ping"})", decode_errc::not_an_object);
    expect_error(R"({"v":0,"type":"ping"})", decode_errc::unsupported_version);
    expect_error(R"({"v":1.5,"type":"ping"})", decode_errc::not_an_object);
    expect_error(R"({"v":null,"type":"ping"})", decode_errc::not_an_object);
    expect_error(R"({"v":1,"type":7})", decode_errc::not_an_object);
    expect_error(R"({"v":1,"type":null})", decode_errc::not_an_object);
    expect_error(R"({"v":1,"type":["chat"]})", decode_errc::not_an_object);
}

// A value of the wrong JSON kind for whatever `v` holds.
json::value wrong_kind(json::value const& v) {
    if (v.is_string()) return 5;
    if (v.is_bool()) return "true";
    if (v.is_array()) return json::object{};
    if (v.is_object()) return json::array{};
    return "12";  // numbers
}

// Fields added after version 1 shipped: an older node leaves them out, so their absence means
// the default (docs/PROTOCOL.md).
bool optional_field(std::string_view type, std::string_view key) {
    return (type == "heads" && key == "ack") || (type == "welcome" && key == "heads");
}

// For every known type: dropping any field is missing_field (the optional ones decode to their
// default), giving it the wrong JSON kind is bad_field. Covers the nested peer entries and
// history items too.
TEST(WireCodec, EveryFieldIsRequiredAndTyped) {
    for (auto const& m : samples()) {
        auto const original = as_object(encode(m));
        for (auto const& kv : original) {
            if (kv.key() == "v" || kv.key() == "type") continue;
            SCOPED_TRACE(std::string(type_name(m)) + "." + std::string(kv.key()));
            auto without = original;
            without.erase(kv.key());
            if (optional_field(type_name(m), kv.key())) {
                auto r = decode(json::serialize(without));
                ASSERT_TRUE(r) << r.error().message();
                if (auto const* h = std::get_if<heads_msg>(&*r)) {
                    EXPECT_FALSE(h->ack);
                }
                if (auto const* w = std::get_if<welcome_msg>(&*r)) {
                    EXPECT_TRUE(w->heads.empty());
                }
            } else {
                expect_error(json::serialize(without), decode_errc::missing_field);
            }
            auto retyped = original;
            retyped[kv.key()] = wrong_kind(kv.value());
            expect_error(json::serialize(retyped), decode_errc::bad_field);
        }
    }
}

// The same for objects nested one level down: peer entries and history items.
TEST(WireCodec, EveryNestedFieldIsRequiredAndTyped) {
    for (auto const& m : samples()) {
        auto const original = as_object(encode(m));
        for (auto const& outer : original) {
            std::vector<json::object const*> nested;
            if (outer.value().is_object()) nested.push_back(&outer.value().get_object());
            if (outer.value().is_array())
                for (auto const& item : outer.value().get_array())
                    if (item.is_object()) nested.push_back(&item.get_object());
            for (std::size_t n = 0; n < nested.size(); ++n) {
                for (auto const& kv : *nested[n]) {
                    SCOPED_TRACE(std::string(type_name(m)) + "." + std::string(outer.key()) + "[" +
                                 std::to_string(n) + "]." + std::string(kv.key()));
                    // Applies `change` to the same nested object in a copy of the message.
                    auto mutate = [&](auto&& change) {
                        auto copy = original;
                        json::value& slot = copy[outer.key()];
                        json::object* target = slot.is_object() ? &slot.get_object() : nullptr;
                        if (slot.is_array()) {
                            std::size_t seen = 0;
                            for (auto& item : slot.get_array())
                                if (item.is_object() && seen++ == n) target = &item.get_object();
                        }
                        change(*target);
                        return json::serialize(copy);
                    };
                    expect_error(mutate([&](json::object& o) { o.erase(kv.key()); }),
                                 decode_errc::missing_field);
                    expect_error(
                        mutate([&](json::object& o) { o[kv.key()] = wrong_kind(kv.value()); }),
                        decode_errc::bad_field);
                }
            }
        }
    }
}

TEST(WireCodec, ListItemsMustBeObjects) {
    expect_error(R"({"v":1,"type":"peers","full":true,"peers":[1]})", decode_errc::bad_field);
    expect_error(R"({"v":1,"type":"peers","full":true,"peers":[null]})", decode_errc::bad_field);
    auto o = as_object(encode(welcome_msg{entry('a', "a", 1), {}, {}, {}, {}, {}}));
    o["history"] = json::array{"hi"};
    expect_error(json::serialize(o), decode_errc::bad_field);
    o["history"] = json::array{};
    o["peers"] = json::array{json::array{}};
    expect_error(json::serialize(o), decode_errc::bad_field);
}

std::string with_entry_field(std::string_view key, json::value v) {
    auto o = as_object(encode(join_msg{entry('a', "alice", 1)}));
    o["from"].as_object()[key] = std::move(v);
    return json::serialize(o);
}

TEST(WireCodec, PeerEntryValuesAreValidated) {
    for (auto const* bad_id :
         {"", "abc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
          "gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg",
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
        SCOPED_TRACE(bad_id);
        expect_error(with_entry_field("id", bad_id), decode_errc::bad_field);
    }
    for (auto const& bad_name : {std::string(), std::string(65, 'n'), std::string("a\nb"),
                                 std::string("tab\t"), std::string("del\x7f")}) {
        SCOPED_TRACE(bad_name);
        expect_error(with_entry_field("name", json::value(bad_name)), decode_errc::bad_field);
    }
    for (auto const* bad_addr : {"", ":7447", "host:", "host:0", "host:65536", "[::1", "[]:1"}) {
        SCOPED_TRACE(bad_addr);
        expect_error(with_entry_field("addr", bad_addr), decode_errc::bad_field);
    }
    for (auto const* bad_state : {"", "dead", "ALIVE", "Left"}) {
        SCOPED_TRACE(bad_state);
        expect_error(with_entry_field("state", bad_state), decode_errc::bad_field);
    }
    expect_error(with_entry_field("inc", -1), decode_errc::bad_field);
    expect_error(with_entry_field("inc", 1.0), decode_errc::bad_field);
    expect_error(R"({"v":1,"type":"join","from":{"id":")" + node_id('a') +
                     R"(","name":"a","addr":"h:1","state":"alive","inc":18446744073709551616,)"
                     R"("sig":")" +
                     entry('a', "a", 1).sig + R"("}})",
                 decode_errc::bad_field);  // 2^64 does not fit
}

TEST(WireCodec, PeerEntryAcceptsBoundaryValues) {
    auto ok = [](std::string const& payload) {
        auto r = decode(payload);
        EXPECT_TRUE(r) << payload << ": " << r.error().message();
    };
    ok(with_entry_field("name", json::value(std::string(64, 'n'))));
    ok(with_entry_field("name", "n"));
    ok(with_entry_field("addr", "[::1]:7447"));
    ok(with_entry_field("addr", "host.example:65535"));
    ok(with_entry_field("inc", 0));
    ok(with_entry_field("id", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    ok(R"({"v":1,"type":"join","from":{"id":")" + node_id('a') +
       R"(","name":"a","addr":"h:1","state":"alive","inc":18446744073709551615,"sig":")" +
       entry('a', "a", 1).sig + R"("}})");
}

// A node advertises an address others can dial (PROTOCOL.md, "The peer entry"): "every
// interface" is where it listens, not where it can be reached, and receivers no longer put
// the address a connection came from in its place (the signature covers the address).
TEST(WireCodec, AnEntryForEveryInterfaceIsMalformed) {
    for (auto const* unspecified : {"0.0.0.0:7447", "[::]:7447", "0.0.0.0:1"}) {
        SCOPED_TRACE(unspecified);
        expect_error(with_entry_field("addr", unspecified), decode_errc::bad_field);
        // Signed as it is, too: the owner's signature does not make it dialable.
        auto e = entry('a', "alice", 1);
        e.addr = unspecified;
        test::sign(e);
        expect_error(encode(hello_msg{e}), decode_errc::bad_field);
        expect_error(encode(welcome_msg{entry('b', "bob", 1), {e}, {}, {}, {}, {}}),
                     decode_errc::bad_field);
        expect_error(encode(peers_msg{{entry('b', "bob", 1), e}, true}), decode_errc::bad_field);
    }
    // A concrete address on any interface is fine.
    for (auto const* concrete : {"10.0.0.1:7447", "[2001:db8::1]:7447", "[::1]:7447"}) {
        auto r = decode(with_entry_field("addr", concrete));
        EXPECT_TRUE(r) << concrete;
    }
}

std::string with_chat_field(std::string_view key, json::value v) {
    auto o = as_object(encode(chat(1, "hello")));
    o[key] = std::move(v);
    return json::serialize(o);
}

TEST(WireCodec, ChatValuesAreValidated) {
    expect_error(with_chat_field("seq", 0), decode_errc::bad_field);
    expect_error(with_chat_field("seq", -3), decode_errc::bad_field);
    expect_error(with_chat_field("lamport", -1), decode_errc::bad_field);
    expect_error(with_chat_field("origin", "alice"), decode_errc::bad_field);
    expect_error(with_chat_field("name", ""), decode_errc::bad_field);
    expect_error(with_chat_field("name", "a\x1b[31m"), decode_errc::bad_field);
    expect_error(with_chat_field("text", ""), decode_errc::bad_field);
    expect_error(with_chat_field("text", json::value(std::string(max_text_bytes + 1, 't'))),
                 decode_errc::bad_field);
    expect_error(with_chat_field("time", 1.5), decode_errc::bad_field);
    expect_error(with_chat_field("time", 9223372036854775808ull), decode_errc::bad_field);

    auto ok = [](std::string const& payload) {
        auto r = decode(payload);
        EXPECT_TRUE(r) << r.error().message();
        return r;
    };
    ok(with_chat_field("text", json::value(std::string(max_text_bytes, 't'))));
    ok(with_chat_field("text", "multi\nline\ttext is fine"));
    ok(with_chat_field("lamport", 0));
    auto r = ok(with_chat_field("time", -1));
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<chat_msg>(*r).time_ms, -1);
}

// decode()'s fast path for chat (decode_canonical_chat) against the general decoder: the same
// frames accepted, read alike, and the same error for the rest.
void expect_read_alike(std::string const& payload) {
    auto const fast = decode(payload);
    auto const general = decode_any_layout(payload);
    ASSERT_EQ(fast.has_value(), general.has_value()) << payload;
    if (fast)
        expect_same(*fast, *general);
    else
        EXPECT_EQ(fast.error(), general.error()) << payload;
}

TEST(WireCodec, CanonicalChatFrameIsReadOffItsBytes) {
    for (auto const& text : {std::string("hello"), std::string("gr\xc3\xbc\xc3\x9f \xe2\x82\xac"),
                             std::string(max_text_bytes, 't'), std::string("del \x7f is plain")}) {
        auto const sent = chat(7, text);
        auto const frame = encode(sent);
        auto const read = decode_canonical_chat(frame);
        ASSERT_TRUE(read) << frame.substr(0, 200);
        EXPECT_EQ(*read, sent);
        expect_read_alike(frame);
    }
    auto newer = encode(chat(7, "hi"));
    newer.replace(0, 6, R"({"v":12)");
    EXPECT_TRUE(decode_canonical_chat(newer)) << newer;
    expect_read_alike(newer);
}

TEST(WireCodec, OtherChatLayoutsGoToTheGeneralDecoder) {
    auto const frame = encode(chat(7, "hello"));
    auto variant = [&](std::string_view from, std::string_view to) {
        auto s = frame;
        auto const at = s.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        if (at != std::string::npos) s.replace(at, from.size(), to);
        return s;
    };
    std::vector<std::string> const others = {
        // Escapes, white space, another order, numbers JSON spells otherwise.
        encode(chat(7, "say \"hi\"\n")),
        variant("hello", R"(hell\u006f)"),
        variant(R"("seq":7)", R"("seq": 7)"),
        frame + " ",
        " " + frame,
        variant(R"({"v":1,"type":"chat",)", R"({"type":"chat","v":1,)"),
        variant(R"("seq":7)", R"("seq":7.0)"),
        variant(R"("seq":7)", R"("seq":07)"),
        variant(R"("seq":7)", R"("seq":7e0)"),
        variant(R"("seq":7)", R"("seq":18446744073709551615)"),
        variant(R"("seq":7)", R"("seq":18446744073709551616)"),
        variant(R"("time":1764111111123)", R"("time":-1)"),
        variant(R"("time":1764111111123)", R"("time":9223372036854775808)"),
        variant(R"({"v":1)", R"({"v":0)"),
        variant(R"({"v":1)", R"({"v":"1")"),
        variant("\"}", "\",\"extra\":1}"),
    };
    for (auto const& payload : others) {
        EXPECT_FALSE(decode_canonical_chat(payload)) << payload;
        expect_read_alike(payload);
    }
    // The largest numbers the fast path takes: 19 digits, and a time at INT64_MAX.
    for (auto const& payload :
         {variant(R"("seq":7)", R"("seq":1234567890123456789)"),
          variant(R"("time":1764111111123)", R"("time":9223372036854775807)")}) {
        EXPECT_TRUE(decode_canonical_chat(payload)) << payload;
        expect_read_alike(payload);
    }
    // Refused by both, with the general decoder's error: invalid UTF-8, a control character,
    // a bad value in every field.
    for (auto const& payload :
         {variant("hello", "hel\xc0\xafo"), variant("hello", "hel\xed\xa0\x80o"),
          variant("hello", "hel\x01o"), variant("hello", ""), variant("alice", "al\x1b[1mice"),
          variant(R"("seq":7)", R"("seq":0)"), variant(node_id('a'), repeated('A')),
          variant(R"("chain":")", R"("chain":"!)")}) {
        EXPECT_FALSE(decode_canonical_chat(payload)) << payload;
        EXPECT_FALSE(decode(payload)) << payload;
        expect_read_alike(payload);
    }
}

// Every frame one byte away from a canonical one (each byte replaced by characters that
// matter to either reader, or removed) is read alike by both.
TEST(WireCodec, ChatFramesOneByteOffAreReadAlike) {
    auto const frame = encode(chat(7, "h\xc3\xa9llo"));
    for (std::size_t i = 0; i < frame.size(); ++i) {
        for (char c : std::string_view("0 9\"\\-.e}a\x7f\xc3\x01")) {
            auto changed = frame;
            changed[i] = c;
            expect_read_alike(changed);
        }
        auto shorter = frame;
        shorter.erase(i, 1);
        expect_read_alike(shorter);
    }
}

TEST(WireCodec, ChainAndSealValuesAreValidated) {
    expect_error(with_chat_field("chain", ""), decode_errc::bad_field);
    expect_error(with_chat_field("chain", json::string(42, 'A')), decode_errc::bad_field);
    expect_error(with_chat_field("chain", json::string(43, '*')), decode_errc::bad_field);

    auto const good = as_object(encode(test::seal_of(chat(1, "x"))));
    auto with_seal_field = [&](std::string_view key, json::value v) {
        auto o = good;
        o[key] = std::move(v);
        return json::serialize(o);
    };
    EXPECT_TRUE(decode(json::serialize(good)));
    expect_error(with_seal_field("seq", 0), decode_errc::bad_field);
    expect_error(with_seal_field("origin", "alice"), decode_errc::bad_field);
    expect_error(with_seal_field("chain", "short"), decode_errc::bad_field);
    expect_error(with_seal_field("sig", json::string(86, '!')), decode_errc::bad_field);

    auto w = as_object(encode(welcome_msg{entry('a', "a", 1), {}, {}, {}, {}, {}}));
    w["seals"] = json::array{json::value("not a seal")};
    expect_error(json::serialize(w), decode_errc::bad_field);
    w.erase("seals");
    expect_error(json::serialize(w), decode_errc::missing_field);
    w["seals"] = json::array{};
    w["anchors"] = json::array{json::object{{"origin", node_id('a')}, {"seq", 1}, {"chain", "x"}}};
    expect_error(json::serialize(w), decode_errc::bad_field);
}

TEST(WireCodec, AWelcomeSaysWhereToFollowEachOrigin) {
    auto const plain = encode(welcome_msg{entry('a', "a", 1), {}, {}, {}, {}, {}});
    EXPECT_EQ(plain.find("heads"), std::string::npos) << "older nodes' frames stay as they were";
    auto const r = decode(plain);
    ASSERT_TRUE(r);
    EXPECT_TRUE(std::get<welcome_msg>(*r).heads.empty());
    std::vector<origin_head> const heads{{std::string(64, 'a'), 0}, {std::string(64, 'b'), 41}};
    auto const again = decode(encode(welcome_msg{entry('a', "a", 1), {}, {}, {}, {}, heads}));
    ASSERT_TRUE(again);
    EXPECT_EQ(std::get<welcome_msg>(*again).heads, heads);

    auto o = as_object(encode(welcome_msg{entry('a', "a", 1), {}, {}, {}, {}, heads}));
    o["heads"].as_array()[0].as_object()["origin"] = "not an id";
    expect_error(json::serialize(o), decode_errc::bad_field);
    o["heads"] = "not a list";
    expect_error(json::serialize(o), decode_errc::bad_field);
}

TEST(WireCodec, HistoryItemsAreValidatedLikeChat) {
    auto w = welcome_msg{entry('a', "a", 1), {}, {chat(1, "ok")}, {}, {}, {}};
    auto o = as_object(encode(w));
    o["history"].as_array()[0].as_object()["seq"] = 0;
    expect_error(json::serialize(o), decode_errc::bad_field);
    o["history"].as_array()[0].as_object()["seq"] = 1;
    o["history"].as_array()[0].as_object()["text"] = "";
    expect_error(json::serialize(o), decode_errc::bad_field);
}

TEST(WireCodec, RenameAndLeaveValuesAreValidated) {
    auto rn = as_object(encode(renaming('a', "new", 2)));
    rn["name"] = std::string(65, 'x');
    expect_error(json::serialize(rn), decode_errc::bad_field);
    rn["name"] = "ok";
    rn["id"] = "short";
    expect_error(json::serialize(rn), decode_errc::bad_field);

    auto lv = as_object(encode(leaving('a', 2)));
    lv["id"] = repeated('A');
    expect_error(json::serialize(lv), decode_errc::bad_field);
    lv["id"] = node_id('a');
    lv["inc"] = -2;
    expect_error(json::serialize(lv), decode_errc::bad_field);
}

TEST(WireCodec, ErrorCategory) {
    EXPECT_STREQ(decode_category().name(), "p2pchat.wire");
    for (auto e : {decode_errc::not_json, decode_errc::not_an_object, decode_errc::missing_field,
                   decode_errc::bad_field}) {
        boost::system::error_code const ec = e;  // implicit via is_error_code_enum
        EXPECT_TRUE(ec.failed());
        EXPECT_EQ(&ec.category(), &decode_category());
        EXPECT_FALSE(ec.message().empty());
        EXPECT_NE(ec.message(), "unknown wire error");
    }
    EXPECT_NE(make_error_code(decode_errc::not_json), make_error_code(decode_errc::bad_field));
}

TEST(WireCodec, IsNodeId) {
    EXPECT_TRUE(is_node_id(repeated('0')));
    EXPECT_TRUE(is_node_id("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    EXPECT_TRUE(is_node_id(node_id('a')));
    EXPECT_FALSE(is_node_id(""));
    EXPECT_FALSE(is_node_id(repeated('a').substr(1)));
    EXPECT_FALSE(is_node_id(repeated('a') + "a"));
    EXPECT_FALSE(is_node_id(repeated('A')));
    EXPECT_FALSE(is_node_id(repeated('g')));
    std::string with_space = repeated('a');
    with_space[10] = ' ';
    EXPECT_FALSE(is_node_id(with_space));
}

}  // namespace
}  // namespace p2pchat::wire
