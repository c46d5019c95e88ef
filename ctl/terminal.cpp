#include "ctl/terminal.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

namespace p2pchat::ctl {

bool raw_mode::enable(int fd) {
    if (::tcgetattr(fd, &saved_) != 0) return false;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL | INLCR | IGNCR);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (::tcsetattr(fd, TCSAFLUSH, &raw) != 0) return false;
    fd_ = fd;
    return true;
}

void raw_mode::restore() {
    if (fd_ < 0) return;
    ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    fd_ = -1;
}

int terminal_columns(int fd) {
    winsize ws{};
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

int terminal_rows(int fd) {
    winsize ws{};
    if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
    return 24;
}

}  // namespace p2pchat::ctl
