#pragma once
// The line being typed in the chat room: a byte buffer edited by keys from a raw-mode
// terminal, and the escape sequences that redraw it below incoming events. Pure (no I/O),
// so its behaviour is testable without a terminal.
#include <string>
#include <string_view>

namespace p2pchat::ctl {

class line_editor {
  public:
    enum class outcome {
        none,    // nothing visible changed (ignored key, middle of an escape sequence)
        echo,    // append echo() to the screen
        redraw,  // the line changed: clear() then render()
        submit,  // Enter: take_line() holds the line; the editor is empty again
        quit,    // Ctrl-C, or Ctrl-D on an empty line
    };

    explicit line_editor(std::string prompt = {}) : prompt_(std::move(prompt)) {}

    // One byte from the terminal.
    outcome feed(unsigned char c);

    std::string take_line();
    std::string const& echo() const { return echo_; }
    std::string const& buffer() const { return buffer_; }
    void set_prompt(std::string prompt) { prompt_ = std::move(prompt); }

    // The prompt and the line, as drawn (control characters made visible).
    std::string render() const;

    // Moves to the start of the drawn prompt and erases it and everything below, taking
    // wrapped rows into account for a terminal `columns` wide: "\r\033[K" when it fits.
    std::string clear(int columns) const;

  private:
    void erase_last_code_point();
    void erase_last_word();

    std::string prompt_;
    std::string buffer_;
    std::string echo_;
    enum class esc_state { none, esc, csi } esc_ = esc_state::none;
};

}  // namespace p2pchat::ctl
