#pragma once
// Terminal and pipe output for p2pchatctl. Writes go straight to the descriptor with write(2)
// so every line leaves at once (tail flushes per line) and a closed pipe is seen as EPIPE
// right away instead of being hidden in stdio buffers. SIGPIPE is ignored in main().
#include <string_view>

namespace p2pchat::ctl {

enum class write_status {
    ok,
    closed,  // the reader went away (EPIPE): callers exit 0 quietly
    failed,  // any other error (disk full...): callers exit 74
};

// Writes all of text to fd, retrying after EINTR and waiting out EAGAIN.
write_status write_all(int fd, std::string_view text);

// True when TERM is unset, empty or "dumb": a terminal that understands no escape
// sequences (Emacs shell buffers, some CI consoles), so no colour and no cursor movement.
bool dumb_terminal();

// True when stdout is a terminal that is not dumb and NO_COLOR is unset
// (https://no-color.org).
bool colour_wanted();

}  // namespace p2pchat::ctl
