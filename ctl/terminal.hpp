#pragma once
// Raw mode for the chat room's terminal. RAII: the saved settings come back when the
// object dies, including on the error paths of the command.
#include <termios.h>

namespace p2pchat::ctl {

class raw_mode {
  public:
    raw_mode() = default;
    raw_mode(raw_mode const&) = delete;
    raw_mode& operator=(raw_mode const&) = delete;
    ~raw_mode() { restore(); }

    // Byte-at-a-time input, no echo, no signals from keys (Ctrl-C arrives as 0x03 so we
    // can restore the screen before quitting). Output processing stays on ("\n" -> "\r\n").
    bool enable(int fd);
    void restore();

  private:
    int fd_ = -1;
    termios saved_{};
};

// The terminal's width in columns (80 when unknown) and height in rows (24 when unknown).
int terminal_columns(int fd);
int terminal_rows(int fd);

}  // namespace p2pchat::ctl
