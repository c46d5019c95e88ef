#include <cctype>

#include "common/address.hpp"
#include "common/rpc/rpc.hpp"
#include "ctl/commands.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

namespace {

// An invite's shape, p2pchat:KEY@HOST[:PORT] with KEY 43 base64url characters, checked here
// so that a mistyped one is a usage error; the daemon decodes it (p2pchatctl links no crypto).
bool invite_shape(std::string_view text) {
    if (!text.starts_with("p2pchat:")) return false;
    text.remove_prefix(8);
    auto const at = text.find('@');
    if (at != 43) return false;
    for (char c : text.substr(0, at))
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
    auto contact = parse_address(text.substr(at + 1));
    return contact && contact->port != 0;
}

}  // namespace

result<boost::json::object> join_params(std::string_view target) {
    // Invites and addresses travel the same way; the daemon tells them apart.
    if (target.starts_with("p2pchat:")) {
        if (!invite_shape(target))
            return failure{rpc::exit_status::usage,
                           "not a valid invite (p2pchat:KEY@HOST[:PORT]): ask for a new one"};
        return boost::json::object{{"address", target}};
    }
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
        return report(usage_error("join", a->positionals.empty() ? "missing HOST[:PORT] or INVITE"
                                                                 : "too many arguments"));

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
