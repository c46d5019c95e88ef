#include <boost/json/serialize.hpp>

#include "ctl/commands.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

int run_peers(context& ctx, args_t args) {
    static constexpr option_spec specs[] = {{"json", 0, false}};
    auto a = parse_args(args, specs, "peers");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "peers")) return 0;
    if (!a->positionals.empty())
        return report(usage_error(
            "peers", "unexpected argument '" + std::string(a->positionals.front()) + "'"));

    auto client = connect(ctx);
    if (!client) return report(client.error());
    auto r = client->call("peers");
    if (!r) return report(r.error());
    auto const* peers = r->is_object() ? r->as_object().if_contains("peers") : nullptr;
    if (!peers || !peers->is_array()) return report(unexpected_reply("peers"));

    auto printed = a->has("json") ? print(boost::json::serialize(*r) + "\n")
                                  : print(peers_table(peers->as_array()));
    return printed ? 0 : report(printed.error());
}

}  // namespace p2pchat::ctl
