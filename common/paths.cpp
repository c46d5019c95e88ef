#include "common/paths.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace p2pchat {

namespace {

std::string env_or_empty(char const* name) {
    char const* value = std::getenv(name);
    return value ? std::string(value) : std::string();
}

std::string private_socket_dir() { return "/tmp/p2pchat-" + std::to_string(::getuid()); }

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
    return private_socket_dir() + "/p2pchatd.sock";
}

std::string private_socket_dir_problem(std::string const& socket_path, bool create) {
    auto const dir = private_socket_dir();
    if (socket_path.rfind(dir + "/", 0) != 0) return {};
    if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        return "cannot create " + dir + ": " + std::strerror(errno);
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return "cannot use " + dir + ": " + std::strerror(errno);
    if (!S_ISDIR(st.st_mode)) return dir + " is not a directory; remove it";
    if (st.st_uid != ::getuid())
        return dir + " belongs to uid " + std::to_string(st.st_uid) +
               ", not to us: someone may be impersonating the daemon; remove it, or set "
               "XDG_RUNTIME_DIR";
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
        return dir + " is open to others (mode " + mode + "); chmod 700 it";
    }
    return {};
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
