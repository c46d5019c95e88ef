#include "common/rpc/rpc.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/throw_exception.hpp>
#include <cmath>
#include <stdexcept>

namespace p2pchat::rpc {

namespace json = boost::json;

namespace {

entry parse_request(json::value const& v) {
    if (!v.is_object())
        return bad_call{nullptr, {code::invalid_request, "request is not an object"}};
    auto const& o = v.get_object();
    json::value id = nullptr;
    bool has_id = false;
    if (auto const* idv = o.if_contains("id")) {
        // Boost.JSON reads 1e400 as infinity and 0e400 as NaN, and writes them back as
        // Infinity and NaN, which are not JSON: such an id cannot be echoed in a reply.
        bool const finite = !idv->is_double() || std::isfinite(idv->get_double());
        if (!(idv->is_string() || idv->is_number() || idv->is_null()) || !finite)
            return bad_call{nullptr,
                            {code::invalid_request, "id must be a string, number or null"}};
        id = *idv;
        has_id = true;
    }
    auto const* version = o.if_contains("jsonrpc");
    if (!version || !version->is_string() || version->get_string() != "2.0")
        return bad_call{id, {code::invalid_request, "jsonrpc must be \"2.0\""}};
    auto const* method = o.if_contains("method");
    if (!method || !method->is_string())
        return bad_call{id, {code::invalid_request, "method must be a string"}};
    call c;
    if (has_id) c.id = id;
    c.method = std::string(method->get_string());
    if (auto const* params = o.if_contains("params")) {
        if (params->is_object()) {
            c.params = params->get_object();
        } else if (!(params->is_array() && params->get_array().empty())) {
            return bad_call{
                id, {code::invalid_params, "params must be an object (by name)"}, !has_id};
        }
    }
    return c;
}

}  // namespace

parsed_line parse_line(std::string_view line) {
    parsed_line out;
    json::error_code ec;
    // The tree is temporary: what a call keeps (id, method, params) is copied out into
    // default storage. A stack arena spares the per-node heap allocations on every request
    // (`send` from a pipe runs this once per line).
    unsigned char arena[4096];
    json::monotonic_resource scratch(arena, sizeof arena);
    json::value const v = json::parse(line, ec, &scratch);
    if (ec) {
        out.entries.push_back(
            bad_call{nullptr, {code::parse_error, "parse error: " + ec.message()}});
        return out;
    }
    if (v.is_array()) {
        auto const& a = v.get_array();
        if (a.empty()) {
            out.entries.push_back(bad_call{nullptr, {code::invalid_request, "empty batch"}});
            return out;
        }
        if (a.size() > max_batch_calls) {
            out.entries.push_back(
                bad_call{nullptr,
                         {code::invalid_request, "batch of " + std::to_string(a.size()) +
                                                     " calls; the limit is " +
                                                     std::to_string(max_batch_calls)}});
            return out;
        }
        out.batch = true;
        out.entries.reserve(a.size());
        for (auto const& item : a) out.entries.push_back(parse_request(item));
        return out;
    }
    out.entries.push_back(parse_request(v));
    return out;
}

void throw_exception_from_error(error const& e, boost::source_location const& loc) {
    boost::throw_exception(std::logic_error("unchecked failure: " + e.message), loc);
}

json::object make_result(json::value const& id, json::value result) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json::object make_error(json::value const& id, error const& e) {
    json::object err{{"code", static_cast<int>(e.error_code)}, {"message", e.message}};
    if (!e.data.is_null()) err["data"] = e.data;
    return {{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(err)}};
}

json::object make_notification(std::string_view method, json::value params) {
    return {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}};
}

int exit_status_for(int rpc_code) {
    switch (static_cast<code>(rpc_code)) {
        case code::parse_error:
        case code::invalid_request:
        case code::method_not_found:
        case code::internal_error:
            return exit_status::software;
        case code::too_many_clients:
            return exit_status::unavailable;
        case code::not_allowed:
            return exit_status::no_permission;
        case code::invalid_params:
        case code::text_too_long:
        case code::peer_unreachable:
        case code::join_refused:
        case code::timed_out:
        case code::subscriber_too_slow:
            return exit_status::refused;
    }
    return exit_status::refused;  // application codes added later by newer daemons
}

}  // namespace p2pchat::rpc
