// Fuzzes rpc::parse_line, the control socket's reader of one NDJSON line. Beyond not crashing
// (and not keeping anything in the stack arena it parses into): the result must agree with the
// rules of JSON-RPC 2.0 as docs/CONTROL.md states them, checked here against a parse of the
// same line without the arena, and every entry must make a reply that serializes and parses.
#include <boost/json.hpp>
#include <cmath>
#include <string>

#include "common/rpc/rpc.hpp"
#include "fuzz/input.hpp"

namespace {

using namespace p2pchat;
namespace json = boost::json;

// What one request must become: a call, or a bad_call with this code.
struct verdict {
    bool ok = false;
    rpc::code code = rpc::code::invalid_request;
    json::value id = nullptr;
    bool has_id = false;
};

// Equal, except that doubles may differ in the last bit (Boost.JSON 1.81 does not always parse
// back exactly the double it serialized), and NaN (which it makes of 0e400) equals NaN.
bool same(json::value const& a, json::value const& b) {
    if (a.is_double() && b.is_double()) {
        double const x = a.get_double(), y = b.get_double();
        return x == y || (std::isnan(x) && std::isnan(y)) ||
               std::abs(x - y) <= 1e-12 * std::max(std::abs(x), std::abs(y));
    }
    if (a.is_object() && b.is_object()) {
        auto const &o = a.get_object(), &p = b.get_object();
        if (o.size() != p.size()) return false;
        for (auto const& kv : o) {
            auto const* other = p.if_contains(kv.key());
            if (!other || !same(kv.value(), *other)) return false;
        }
        return true;
    }
    if (a.is_array() && b.is_array()) {
        auto const &x = a.get_array(), &y = b.get_array();
        if (x.size() != y.size()) return false;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (!same(x[i], y[i])) return false;
        return true;
    }
    return a == b;
}

// Boost.JSON 1.81 reads 1e400 as infinity and 0e400 as NaN and writes them as Infinity and
// NaN, which are not JSON: params holding one are left out of the round trip (the parser
// refuses such an id, see judge()).
bool finite(json::value const& v) {
    if (v.is_double()) return std::isfinite(v.get_double());
    if (auto const* o = v.if_object()) {
        for (auto const& kv : *o)
            if (!finite(kv.value())) return false;
    } else if (auto const* a = v.if_array()) {
        for (auto const& x : *a)
            if (!finite(x)) return false;
    }
    return true;
}

// The reply parses back to what was put in.
void round_trip(json::object const& reply, std::string_view key, json::value const& put) {
    if (!finite(put)) return;
    json::error_code ec;
    auto const back = json::parse(json::serialize(reply), ec);
    FUZZ_CHECK(!ec && back.is_object() && same(back.get_object().at(key), put));
}

verdict judge(json::value const& v) {
    verdict out;
    auto const* o = v.if_object();
    if (!o) return out;
    if (auto const* id = o->if_contains("id")) {
        if (!id->is_string() && !id->is_number() && !id->is_null()) return out;
        if (id->is_double() && !std::isfinite(id->get_double())) return out;
        out.id = *id;
        out.has_id = true;
    }
    auto const* version = o->if_contains("jsonrpc");
    if (!version || !version->is_string() || version->get_string() != "2.0") return out;
    auto const* method = o->if_contains("method");
    if (!method || !method->is_string()) return out;
    if (auto const* params = o->if_contains("params")) {
        bool const by_name = params->is_object();
        bool const empty_list = params->is_array() && params->get_array().empty();
        if (!by_name && !empty_list) return out.code = rpc::code::invalid_params, out;
    }
    out.ok = true;
    return out;
}

void check_entry(rpc::entry const& e, json::value const& request) {
    verdict const expected = judge(request);
    if (auto const* c = std::get_if<rpc::call>(&e)) {
        FUZZ_CHECK(expected.ok);
        FUZZ_CHECK(c->id.has_value() == expected.has_id);
        if (c->id) FUZZ_CHECK(*c->id == expected.id);
        auto const& o = request.get_object();
        FUZZ_CHECK(c->method == o.at("method").get_string());
        if (auto const* p = o.if_contains("params"); p && p->is_object())
            FUZZ_CHECK(same(c->params, p->get_object()));
        else
            FUZZ_CHECK(c->params.empty());
        json::value const id = c->id.value_or(nullptr);
        if (finite(id)) round_trip(rpc::make_result(id, c->params), "result", c->params);
    } else {
        auto const& bad = std::get<rpc::bad_call>(e);
        FUZZ_CHECK(!expected.ok);
        FUZZ_CHECK(bad.err.error_code == expected.code);
        FUZZ_CHECK(!bad.err.message.empty());
        // The id is echoed once it is known to be a valid one, null before.
        FUZZ_CHECK(bad.id == expected.id);
        FUZZ_CHECK(bad.notification ==
                   (bad.err.error_code == rpc::code::invalid_params && !expected.has_id));
        round_trip(rpc::make_error(bad.id, bad.err), "id", bad.id);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
    std::string_view const line(reinterpret_cast<char const*>(data), size);
    rpc::parsed_line const parsed = rpc::parse_line(line);
    FUZZ_CHECK(!parsed.entries.empty());

    json::error_code ec;
    json::value const v = json::parse(line, ec);
    if (ec) {
        FUZZ_CHECK(!parsed.batch && parsed.entries.size() == 1);
        auto const& bad = std::get<rpc::bad_call>(parsed.entries[0]);
        FUZZ_CHECK(bad.err.error_code == rpc::code::parse_error && bad.id.is_null());
        return 0;
    }
    if (auto const* a = v.if_array()) {
        if (a->empty() || a->size() > rpc::max_batch_calls) {
            FUZZ_CHECK(!parsed.batch && parsed.entries.size() == 1);
            auto const& bad = std::get<rpc::bad_call>(parsed.entries[0]);
            FUZZ_CHECK(bad.err.error_code == rpc::code::invalid_request && bad.id.is_null());
            return 0;
        }
        FUZZ_CHECK(parsed.batch && parsed.entries.size() == a->size());
        for (std::size_t i = 0; i < a->size(); ++i) check_entry(parsed.entries[i], (*a)[i]);
        return 0;
    }
    FUZZ_CHECK(!parsed.batch && parsed.entries.size() == 1);
    check_entry(parsed.entries[0], v);
    return 0;
}
