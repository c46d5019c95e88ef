#include "ctl/commands.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

int run_join(context& ctx, args_t args) {
    auto a = parse_args(args, {}, "join");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "join")) return 0;
    if (a->positionals.size() != 1)
        return report(usage_error(
            "join", a->positionals.empty() ? "missing HOST[:PORT]" : "too many arguments"));

    auto client = connect(ctx);
    if (!client) return report(client.error());
    auto r = client->call("join", {{"address", a->positionals.front()}});
    if (!r) return report(r.error());
    if (!r->is_object()) return report(unexpected_reply("join"));
    auto const n = int_field(r->as_object(), "peers");
    auto printed = print("joined: " + std::to_string(n) + (n == 1 ? " peer\n" : " peers\n"));
    return printed ? 0 : report(printed.error());
}

}  // namespace p2pchat::ctl
