#include "common/address.hpp"
#include "common/rpc/rpc.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

result<boost::json::object> join_params(std::string_view target) {
    // Where invites (issue #9) will be told apart from addresses: an invite is not a
    // HOST[:PORT], so it will be recognised here and sent as {"invite": ...}. Until the
    // daemon knows invites, everything must be an address.
    auto contact = parse_address(target);
    if (!contact || contact->port == 0)
        return failure{
            rpc::exit_status::usage,
            "not HOST[:PORT] (PORT 1-65535, IPv6 as [ADDR]:PORT): '" + std::string(target) + "'"};
    return boost::json::object{{"address", target}};
}

int run_join(context& ctx, args_t args) {
    auto a = parse_args(args, {}, "join");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "join")) return 0;
    if (a->positionals.size() != 1)
        return report(usage_error(
            "join", a->positionals.empty() ? "missing HOST[:PORT]" : "too many arguments"));

    auto params = join_params(a->positionals.front());
    if (!params) return report(usage_error("join", params.error().message));
    auto client = connect(ctx);
    if (!client) return report(client.error());
    auto r = client->call("join", std::move(*params));
    if (!r) return report(r.error());
    if (!r->is_object()) return report(unexpected_reply("join"));
    auto const n = int_field(r->as_object(), "peers");
    auto printed = print("joined: " + std::to_string(n) + (n == 1 ? " peer\n" : " peers\n"));
    return printed ? 0 : report(printed.error());
}

}  // namespace p2pchat::ctl
