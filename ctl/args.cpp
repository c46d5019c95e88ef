#include "ctl/args.hpp"

#include "common/rpc/rpc.hpp"

namespace p2pchat::ctl {

failure usage_error(std::string_view command, std::string const& what) {
    std::string hint =
        command.empty() ? "p2pchatctl --help" : "p2pchatctl " + std::string(command) + " --help";
    return failure{rpc::exit_status::usage, what + " (see " + hint + ")"};
}

result<parsed_args> parse_args(std::span<char const* const> args,
                               std::span<option_spec const> specs, std::string_view command) {
    static constexpr option_spec socket_spec{"socket", 0, true};
    auto find_long = [specs](std::string_view name) -> option_spec const* {
        if (name == socket_spec.long_name) return &socket_spec;
        for (auto const& s : specs)
            if (s.long_name == name) return &s;
        return nullptr;
    };
    auto find_short = [specs](char c) -> option_spec const* {
        for (auto const& s : specs)
            if (s.short_name != 0 && s.short_name == c) return &s;
        return nullptr;
    };

    parsed_args out;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (options_done || a.size() < 2 || a[0] != '-') {
            out.positionals.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        if (a == "-h" || a == "--help") {
            out.help = true;
            continue;
        }
        option_spec const* spec = nullptr;
        std::string_view value;
        bool has_inline_value = false;
        if (a.starts_with("--")) {
            std::string_view name = a.substr(2);
            if (auto eq = name.find('='); eq != name.npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                has_inline_value = true;
            }
            spec = find_long(name);
            if (!spec) return usage_error(command, "unknown option --" + std::string(name));
            if (has_inline_value && !spec->takes_value && !spec->optional_value)
                return usage_error(command, "option --" + std::string(name) + " takes no value");
        } else {
            spec = find_short(a[1]);
            if (!spec) return usage_error(command, "unknown option " + std::string(a.substr(0, 2)));
            if (a.size() > 2) {
                if (!spec->takes_value)
                    return usage_error(command, "unknown option " + std::string(a));
                value = a.substr(2);
                has_inline_value = true;
            }
        }
        if (spec->takes_value && !has_inline_value) {
            if (i + 1 >= args.size())
                return usage_error(command,
                                   "option --" + std::string(spec->long_name) + " needs a value");
            value = args[++i];
        }
        out.options[spec->long_name] = value;
    }
    return out;
}

}  // namespace p2pchat::ctl
