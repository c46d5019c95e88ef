#include "ctl/commands.hpp"

namespace p2pchat::ctl {

int run_leave(context& ctx, args_t args) {
    auto a = parse_args(args, {}, "leave");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "leave")) return 0;
    if (!a->positionals.empty())
        return report(usage_error(
            "leave", "unexpected argument '" + std::string(a->positionals.front()) + "'"));

    auto client = connect(ctx);
    if (!client) return report(client.error());
    auto r = client->call("leave");
    return r ? 0 : report(r.error());
}

}  // namespace p2pchat::ctl
