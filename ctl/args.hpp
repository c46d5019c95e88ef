#pragma once
// Command-line scanning for one p2pchatctl command: the few options each command takes, in
// GNU style (--opt VALUE, --opt=VALUE, -n VALUE, -nVALUE, -- ends options). Hand-written
// instead of Boost.Program_options because every send is its own process and start-up
// time counts; the grammar here is tiny.
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctl/failure.hpp"

namespace p2pchat::ctl {

struct option_spec {
    std::string_view long_name;
    char short_name = 0;  // 0: none
    bool takes_value = false;
    // A flag that may carry a value inline, --opt=VALUE only (send --wait[=TIMEOUT]).
    bool optional_value = false;
};

struct parsed_args {
    std::map<std::string_view, std::string_view> options;  // long name -> value ("" if flag)
    std::vector<std::string_view> positionals;
    bool help = false;  // -h/--help seen: print the command's help and exit 0

    bool has(std::string_view name) const { return options.contains(name); }
};

// Every command also accepts --socket PATH and -h/--help. A word of exactly "-" is a
// positional (send reads stdin). Failures have exit status 64 (usage).
result<parsed_args> parse_args(std::span<char const* const> args,
                               std::span<option_spec const> specs, std::string_view command);

// A usage failure that points at the command's help.
failure usage_error(std::string_view command, std::string const& what);

}  // namespace p2pchat::ctl
