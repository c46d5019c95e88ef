#include "ctl/line_editor.hpp"

#include "common/text.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

line_editor::outcome line_editor::feed(unsigned char c) {
    echo_.clear();
    // Arrow keys and friends arrive as ESC [ ... final or ESC O final: swallow them whole
    // rather than inserting "[A" into the message.
    switch (esc_) {
        case esc_state::none:
            break;
        case esc_state::esc:
            esc_ = (c == '[' || c == 'O') ? esc_state::csi : esc_state::none;
            return outcome::none;
        case esc_state::csi:
            if (c >= 0x40 && c <= 0x7e) esc_ = esc_state::none;
            return outcome::none;
    }
    switch (c) {
        case '\r':
        case '\n':
            return outcome::submit;
        case 0x03:
            return outcome::quit;  // Ctrl-C
        case 0x04:
            return buffer_.empty() ? outcome::quit : outcome::none;  // Ctrl-D
        case 0x7f:
        case 0x08:  // Backspace
            if (buffer_.empty()) return outcome::none;
            erase_last_code_point();
            return outcome::redraw;
        case 0x15:  // Ctrl-U
            if (buffer_.empty()) return outcome::none;
            buffer_.clear();
            return outcome::redraw;
        case 0x17:  // Ctrl-W
            if (buffer_.empty()) return outcome::none;
            erase_last_word();
            return outcome::redraw;
        case 0x0c:
            return outcome::redraw;  // Ctrl-L
        case 0x1b:
            esc_ = esc_state::esc;
            return outcome::none;
        default:
            break;
    }
    if (c < 0x20 && c != '\t') return outcome::none;
    if (buffer_.size() >= max_text_bytes) return outcome::none;
    buffer_ += static_cast<char>(c);
    echo_ += static_cast<char>(c == '\t' ? ' ' : c);
    if (c == '\t') buffer_.back() = ' ';  // a tab would break the width arithmetic
    return outcome::echo;
}

std::string line_editor::take_line() {
    std::string line = std::move(buffer_);
    buffer_.clear();
    esc_ = esc_state::none;
    return line;
}

void line_editor::erase_last_code_point() {
    while (!buffer_.empty()) {
        auto c = static_cast<unsigned char>(buffer_.back());
        buffer_.pop_back();
        if ((c & 0xc0) != 0x80) break;  // stop after the lead byte
    }
}

void line_editor::erase_last_word() {
    while (!buffer_.empty() && buffer_.back() == ' ') buffer_.pop_back();
    while (!buffer_.empty() && buffer_.back() != ' ') buffer_.pop_back();
}

std::string line_editor::render() const { return prompt_ + terminal_safe(buffer_); }

std::string line_editor::clear(int columns) const {
    std::size_t width = display_width(render());
    std::size_t cols = columns > 0 ? static_cast<std::size_t>(columns) : 80;
    // A cursor that just filled the last column stays on that row (deferred wrap).
    std::size_t rows_above = width == 0 ? 0 : (width - 1) / cols;
    if (rows_above == 0) return "\r\033[K";
    return "\r\033[" + std::to_string(rows_above) + "A\033[J";
}

}  // namespace p2pchat::ctl
