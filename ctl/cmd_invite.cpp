#include "ctl/commands.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

int run_invite(context& ctx, args_t args) {
    static constexpr option_spec specs[] = {{"address", 0, true}, {"new-key", 0, false}};
    auto a = parse_args(args, specs, "invite");
    if (!a) return report(a.error());
    if (handle_common(ctx, *a, "invite")) return 0;
    if (!a->positionals.empty()) return report(usage_error("invite", "too many arguments"));

    auto client = connect(ctx);
    if (!client) return report(client.error());
    boost::json::object params;
    if (a->has("address")) params["address"] = a->options.at("address");
    if (a->has("new-key")) params["new_key"] = true;
    auto r = client->call("invite", std::move(params));
    if (!r) return report(r.error());
    if (!r->is_object()) return report(unexpected_reply("invite"));
    // The one line a newcomer needs, alone on stdout so that `$(p2pchatctl invite)` works.
    auto printed = print(std::string(string_field(r->as_object(), "invite")) + "\n");
    return printed ? 0 : report(printed.error());
}

}  // namespace p2pchat::ctl
