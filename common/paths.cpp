#include "common/paths.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace p2pchat {

namespace {

std::string env_or_empty(char const* name) {
    char const* value = std::getenv(name);
    return value ? std::string(value) : std::string();
}

std::string home_dir() {
    if (auto home = env_or_empty("HOME"); !home.empty()) return home;
    if (passwd const* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
    return "/tmp";
}

}  // namespace

std::string default_socket_path() {
    if (auto path = env_or_empty("P2PCHAT_SOCKET"); !path.empty()) return path;
    if (getuid() == 0) return "/run/p2pchatd.sock";
    if (auto runtime = env_or_empty("XDG_RUNTIME_DIR"); !runtime.empty())
        return runtime + "/p2pchatd.sock";
    return "/tmp/p2pchatd-" + std::to_string(getuid()) + ".sock";
}

std::string default_state_dir() {
    if (getuid() == 0) return "/var/lib/p2pchat";
    if (auto state = env_or_empty("XDG_STATE_HOME"); !state.empty()) return state + "/p2pchat";
    return home_dir() + "/.local/state/p2pchat";
}

std::string default_screen_name() {
    if (passwd const* pw = getpwuid(getuid()); pw && pw->pw_name && *pw->pw_name)
        return pw->pw_name;
    if (auto user = env_or_empty("USER"); !user.empty()) return user;
    return "p2pchat";
}

}  // namespace p2pchat
