#include "ctl/output.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace p2pchat::ctl {

write_status write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        ssize_t n = ::write(fd, text.data(), text.size());
        if (n >= 0) {
            text.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            // Somebody handed us a non-blocking stdout; wait instead of spinning.
            pollfd p{fd, POLLOUT, 0};
            ::poll(&p, 1, -1);
            continue;
        }
        return errno == EPIPE ? write_status::closed : write_status::failed;
    }
    return write_status::ok;
}

bool dumb_terminal() {
    char const* term = std::getenv("TERM");
    return !term || !*term || std::string_view(term) == "dumb";
}

bool colour_wanted() {
    char const* no_colour = std::getenv("NO_COLOR");
    if (no_colour && *no_colour) return false;
    return ::isatty(STDOUT_FILENO) == 1 && !dumb_terminal();
}

}  // namespace p2pchat::ctl
