#include "common/paths.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "common/text.hpp"

namespace p2pchat {
namespace {

// Sets or unsets one environment variable for the scope, then restores it.
class scoped_env {
  public:
    scoped_env(char const* name, char const* value) : name_(name) {
        if (char const* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~scoped_env() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    scoped_env(scoped_env const&) = delete;
    scoped_env& operator=(scoped_env const&) = delete;

  private:
    char const* name_;
    std::optional<std::string> old_;
};

TEST(Paths, SocketFromEnvironmentWins) {
    scoped_env s("P2PCHAT_SOCKET", "/tmp/custom.sock");
    EXPECT_EQ(default_socket_path(), "/tmp/custom.sock");
}

TEST(Paths, SocketDefaults) {
    scoped_env s("P2PCHAT_SOCKET", nullptr);
    scoped_env empty_override("P2PCHAT_SOCKET", "");  // empty counts as unset
    {
        scoped_env r("XDG_RUNTIME_DIR", "/run/user/4242");
        EXPECT_EQ(default_socket_path(),
                  getuid() == 0 ? "/run/p2pchatd.sock" : "/run/user/4242/p2pchatd.sock");
    }
    {
        scoped_env r("XDG_RUNTIME_DIR", nullptr);
        EXPECT_EQ(default_socket_path(),
                  getuid() == 0 ? std::string("/run/p2pchatd.sock")
                                : "/tmp/p2pchat-" + std::to_string(getuid()) + "/p2pchatd.sock");
    }
}

TEST(Paths, StateDir) {
    if (getuid() == 0) {
        EXPECT_EQ(default_state_dir(), "/var/lib/p2pchat");
        return;
    }
    {
        scoped_env x("XDG_STATE_HOME", "/srv/state");
        EXPECT_EQ(default_state_dir(), "/srv/state/p2pchat");
    }
    {
        scoped_env x("XDG_STATE_HOME", nullptr);
        scoped_env h("HOME", "/home/someone");
        EXPECT_EQ(default_state_dir(), "/home/someone/.local/state/p2pchat");
    }
}

TEST(Paths, ScreenNameIsUsable) {
    auto const name = default_screen_name();
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(is_valid_name(name)) << name;
}

}  // namespace
}  // namespace p2pchat
