#pragma once
// The line being typed in the chat room, edited as in irssi, weechat or bash: cursor and word
// motions, Home/End, kill and yank, input history, Tab completion of names, bracketed paste.
// Bytes from a raw-mode terminal go in (feed); escape sequences that draw the prompt and the
// line come out (draw, erase). Pure: no I/O and no clock, so it is unit-tested without a
// terminal. Widths come from wcwidth(3), so the process needs a UTF-8 LC_CTYPE.
//
// Why not a library: libedit (BSD) was checked first. Its readline layer cannot be told that
// the cursor is on a fresh line after a message was printed above the prompt (rl_on_new_line
// is a stub in libedit 3.1), so its redraw starts from where it believes the cursor was, and
// its rl_getc_function hook passes bytes as wide characters (no UTF-8 when we feed it). GNU
// readline does both but is GPL-3, which would make p2pchatctl GPL. What is here is what
// irssi's input line does, no more; see p2pchatctl(1), KEYS.
//
// Screen model: the prompt starts in column 0 of some row; the line wraps at `columns`; the
// editor remembers on which row (below the prompt's first) it left the cursor, so erase() can
// go back up and clear exactly what it drew, wrapped rows and wide characters included.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace p2pchat::ctl {

class line_editor {
  public:
    enum class outcome {
        none,          // nothing visible changed (ignored key, middle of an escape sequence)
        redraw,        // the line or the cursor changed: draw()
        submit,        // Enter: take_line() holds the line; the editor is empty again
        quit,          // Ctrl-C, or Ctrl-D on an empty line
        clear_screen,  // Ctrl-L: clear the terminal, then draw()
        paste,         // a bracketed paste ended: take_paste() holds the text
    };

    explicit line_editor(std::string prompt = {}) : prompt_(std::move(prompt)) {}

    // One byte from the terminal.
    outcome feed(unsigned char c);

    // The submitted line; `remember` adds it to the input history (not a screen name).
    std::string take_line(bool remember = true);
    std::string take_paste() { return std::exchange(paste_, {}); }
    // Inserts text at the cursor (a paste of one line; control characters are dropped).
    void insert(std::string_view text);
    std::string const& buffer() const { return buffer_; }
    std::size_t cursor() const { return cursor_; }  // byte offset into buffer()
    void set_prompt(std::string prompt) { prompt_ = std::move(prompt); }
    std::string const& prompt() const { return prompt_; }

    // Input history, oldest first (Up/Down). Submitted lines are added; at most max_history.
    static constexpr std::size_t max_history = 1000;
    void set_history(std::vector<std::string> lines);
    std::vector<std::string> const& history() const { return history_; }

    // What Tab completes: screen names and room commands ("/join"). A name completed at the
    // start of the line gets ": " after it, as in irssi; repeated Tabs cycle.
    void set_completions(std::vector<std::string> words) { words_ = std::move(words); }

    // ---- drawing on a terminal `columns` wide
    // Erases what the last draw() put on screen and leaves the cursor at the start of the
    // prompt's first row (where a line printed now appears, above the prompt drawn next).
    std::string erase();
    // Erases and draws the prompt and the line, leaving the cursor where it belongs.
    std::string draw(int columns);
    // Forgets what is on screen: the terminal was cleared, or something else was printed
    // from the prompt's first row on (erase() then does nothing).
    void forget_screen() { drawn_rows_ = cursor_row_ = 0; }

    // The prompt and the line as text (control characters made visible), without layout.
    std::string render() const;

    // Columns a UTF-8 string takes on a terminal (wcwidth per code point; control characters
    // and invalid bytes count as the one column of their visible replacement).
    static std::size_t width(std::string_view text);

  private:
    struct position {
        std::size_t row = 0, col = 0;
    };
    // Where the cursor goes with the prompt and buffer_[0, offset) drawn from row 0, column 0,
    // on a terminal `cols` wide (a character that does not fit wraps to the next row).
    position layout(std::size_t offset, std::size_t cols) const;

    outcome key(unsigned char c);
    outcome escape(std::string_view seq);
    outcome complete();
    outcome recall(int direction);
    void insert_code_point(std::string_view cp);
    std::size_t prev_boundary(std::size_t at) const;
    std::size_t next_boundary(std::size_t at) const;
    std::size_t word_left(std::size_t at) const;
    std::size_t word_right(std::size_t at) const;
    outcome kill(std::size_t from, std::size_t to);

    std::string prompt_;
    std::string buffer_;
    std::size_t cursor_ = 0;
    std::string killed_;   // Ctrl-Y yanks it back
    std::string pending_;  // a UTF-8 sequence or escape sequence not yet complete
    bool in_escape_ = false;
    bool in_paste_ = false;
    std::string paste_;
    std::string paste_tail_;  // the last bytes of a paste, to see its end marker
    static constexpr std::size_t max_paste_bytes = 1024 * 1024;

    std::vector<std::string> history_;
    std::size_t history_pos_ = 0;  // == history_.size(): the line being typed
    std::string typed_;            // that line, kept while browsing the history

    std::vector<std::string> words_;
    struct completion_state {
        bool active = false;
        std::size_t start = 0, end = 0;  // the span of buffer_ the last completion wrote
        std::string prefix;
        std::vector<std::string> candidates;
        std::size_t next = 0;
    } completion_;

    std::size_t cursor_row_ = 0;  // rows from the prompt's first row to the cursor
    std::size_t drawn_rows_ = 0;  // rows the last draw() occupies (0: nothing drawn)
};

}  // namespace p2pchat::ctl
