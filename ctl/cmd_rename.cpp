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

    auto client = connect(ctx);
    if (!client) return report(client.error());
    // The daemon validates the name: one rule, one error message, wherever it is called from.
    auto r = client->call("rename", {{"name", a->positionals.front()}});
    return r ? 0 : report(r.error());
}

}  // namespace p2pchat::ctl
