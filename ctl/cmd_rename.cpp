#include "common/text.hpp"
#include "ctl/commands.hpp"

namespace p2pchat::ctl {

int run_rename(context& ctx, args_t args) {
    auto a = parse_args(args, {}, "rename");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "rename")) return 0;
    if (a->positionals.size() != 1)
        return report(usage_error("rename", a->positionals.empty()
                                                ? "missing NAME"
                                                : "too many arguments (quote a NAME with spaces)"));

    // The daemon's rule (common/text.hpp), checked here too so a bad NAME is a usage error.
    if (auto problem = screen_name_problem(a->positionals.front()))
        return report(usage_error("rename", *problem));
    auto client = connect(ctx);
    if (!client) return report(client.error());
    auto r = client->call("rename", {{"name", a->positionals.front()}});
    return r ? 0 : report(r.error());
}

}  // namespace p2pchat::ctl
