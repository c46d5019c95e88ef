#include <boost/json/serialize.hpp>

#include "common/rpc/rpc.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

int run_status(context& ctx, args_t args) {
    static constexpr option_spec specs[] = {{"json", 0, false}};
    auto a = parse_args(args, specs, "status");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "status")) return 0;
    if (!a->positionals.empty())
        return report(usage_error(
            "status", "unexpected argument '" + std::string(a->positionals.front()) + "'"));

    // Like systemctl status: "not running" is an answer (3), not an outage (69).
    auto client = rpc_client::connect(ctx.socket_path, rpc::exit_status::not_running);
    if (!client) return report(client.error());
    auto r = client->call("status");
    if (!r) return report(r.error());
    if (!r->is_object()) return report(unexpected_reply("status"));

    auto printed = a->has("json") ? print(boost::json::serialize(*r) + "\n")
                                  : print(status_summary(r->as_object()));
    return printed ? 0 : report(printed.error());
}

}  // namespace p2pchat::ctl
