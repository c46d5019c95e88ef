#include "ctl/line_editor.hpp"

#include <algorithm>
#include <cctype>
#include <cwchar>

#include "common/text.hpp"
#include "ctl/format.hpp"

namespace p2pchat::ctl {

namespace {

constexpr std::string_view paste_start = "\033[200~";
constexpr std::string_view paste_end = "\033[201~";

// Bytes in the UTF-8 sequence a lead byte starts (0: not a lead byte).
std::size_t sequence_length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) return 2;
    if (lead >= 0xe0 && lead <= 0xef) return 3;
    if (lead >= 0xf0 && lead <= 0xf4) return 4;
    return 0;
}

// The code point at text[i] (which starts a sequence) and its length; U+FFFD for bad bytes.
std::pair<char32_t, std::size_t> decode(std::string_view text, std::size_t i) {
    auto const lead = static_cast<unsigned char>(text[i]);
    std::size_t const n = sequence_length(lead);
    if (n == 0 || i + n > text.size() || !is_valid_utf8(text.substr(i, n))) return {0xfffd, 1};
    if (n == 1) return {lead, 1};
    char32_t cp = lead & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    return {cp, n};
}

std::size_t code_point_width(char32_t cp) {
    int const w = ::wcwidth(static_cast<wchar_t>(cp));
    return w < 0 ? 1 : static_cast<std::size_t>(w);
}

bool is_control(char32_t cp) { return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0); }

bool starts_with_nocase(std::string_view word, std::string_view prefix) {
    if (word.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(word[i])) !=
            std::tolower(static_cast<unsigned char>(prefix[i])))
            return false;
    return true;
}

}  // namespace

std::size_t line_editor::width(std::string_view text) {
    std::size_t w = 0;
    for (std::size_t i = 0; i < text.size();) {
        auto [cp, n] = decode(text, i);
        w += code_point_width(cp);
        i += n;
    }
    return w;
}

line_editor::outcome line_editor::feed(unsigned char c) {
    if (in_paste_) {
        paste_tail_ += static_cast<char>(c);
        if (paste_tail_.size() > paste_end.size()) paste_tail_.erase(0, 1);
        if (paste_.size() < max_paste_bytes + paste_end.size()) paste_ += static_cast<char>(c);
        if (paste_tail_ != paste_end) return outcome::none;
        in_paste_ = false;
        if (paste_.ends_with(paste_end)) paste_.resize(paste_.size() - paste_end.size());
        if (paste_.size() > max_paste_bytes) paste_.resize(max_paste_bytes);
        return outcome::paste;
    }
    if (in_escape_) {
        pending_ += static_cast<char>(c);
        bool done = false;
        if (pending_.size() == 2) {
            done = c != '[' && c != 'O';  // ESC x: Alt-x
        } else if (pending_[1] == 'O') {
            done = true;  // ESC O x: application-mode cursor keys
        } else {
            done = c >= 0x40 && c <= 0x7e;  // CSI: parameters, then a final byte
        }
        if (!done && pending_.size() < 32) return outcome::none;
        in_escape_ = false;
        std::string const seq = std::exchange(pending_, {});
        return done ? escape(seq) : outcome::none;  // an overlong sequence is swallowed
    }
    if (c == 0x1b) {
        in_escape_ = true;
        pending_ = "\033";
        return outcome::none;
    }
    if (c >= 0x80) {
        // A multi-byte character: collect it whole, insert it once valid.
        if (pending_.empty() && sequence_length(c) == 0) return outcome::none;
        if (!pending_.empty() && (c & 0xc0) != 0x80) pending_.clear();  // broken sequence
        if (pending_.empty() && (c & 0xc0) == 0x80) return outcome::none;
        pending_ += static_cast<char>(c);
        if (pending_.size() < sequence_length(static_cast<unsigned char>(pending_[0])))
            return outcome::none;
        std::string const cp = std::exchange(pending_, {});
        if (!is_valid_utf8(cp)) return outcome::none;
        completion_.active = false;
        if (is_control(decode(cp, 0).first)) return outcome::none;
        insert_code_point(cp);
        return outcome::redraw;
    }
    pending_.clear();
    return key(c);
}

line_editor::outcome line_editor::key(unsigned char c) {
    if (c != '\t') completion_.active = false;
    switch (c) {
        case '\r':
        case '\n':
            return outcome::submit;
        case 0x03:  // Ctrl-C
            return outcome::quit;
        case 0x04:  // Ctrl-D: quit on an empty line, else delete under the cursor
            if (buffer_.empty()) return outcome::quit;
            if (cursor_ == buffer_.size()) return outcome::none;
            buffer_.erase(cursor_, next_boundary(cursor_) - cursor_);
            return outcome::redraw;
        case 0x7f:
        case 0x08: {  // Backspace
            if (cursor_ == 0) return outcome::none;
            std::size_t const from = prev_boundary(cursor_);
            buffer_.erase(from, cursor_ - from);
            cursor_ = from;
            return outcome::redraw;
        }
        case 0x01:  // Ctrl-A
            cursor_ = 0;
            return outcome::redraw;
        case 0x05:  // Ctrl-E
            cursor_ = buffer_.size();
            return outcome::redraw;
        case 0x02:  // Ctrl-B
            cursor_ = prev_boundary(cursor_);
            return outcome::redraw;
        case 0x06:  // Ctrl-F
            cursor_ = next_boundary(cursor_);
            return outcome::redraw;
        case 0x0b:  // Ctrl-K: kill to the end
            return kill(cursor_, buffer_.size());
        case 0x15:  // Ctrl-U: kill to the start
            return kill(0, cursor_);
        case 0x17:  // Ctrl-W: kill the word before the cursor
            return kill(word_left(cursor_), cursor_);
        case 0x19:  // Ctrl-Y: yank
            if (killed_.empty()) return outcome::none;
            insert(killed_);
            return outcome::redraw;
        case 0x0c:  // Ctrl-L
            return outcome::clear_screen;
        case 0x10:  // Ctrl-P
            return recall(-1);
        case 0x0e:  // Ctrl-N
            return recall(+1);
        case '\t':
            return complete();
        default:
            break;
    }
    if (c < 0x20) return outcome::none;
    insert_code_point(std::string(1, static_cast<char>(c)));
    return outcome::redraw;
}

line_editor::outcome line_editor::escape(std::string_view seq) {
    completion_.active = false;
    std::string_view const s = seq.substr(1);  // after ESC
    auto is = [s](std::initializer_list<std::string_view> forms) {
        return std::find(forms.begin(), forms.end(), s) != forms.end();
    };
    if (seq == paste_start) {
        in_paste_ = true;
        paste_.clear();
        paste_tail_.clear();
        return outcome::none;
    }
    if (is({"[A", "OA"})) return recall(-1);
    if (is({"[B", "OB"})) return recall(+1);
    if (is({"[C", "OC"})) return key(0x06);
    if (is({"[D", "OD"})) return key(0x02);
    if (is({"[H", "OH", "[1~", "[7~"})) return key(0x01);
    if (is({"[F", "OF", "[4~", "[8~"})) return key(0x05);
    if (is({"[3~"})) {
        if (cursor_ == buffer_.size()) return outcome::none;
        buffer_.erase(cursor_, next_boundary(cursor_) - cursor_);
        return outcome::redraw;
    }
    if (is({"[1;5C", "[1;3C", "f", "F"})) {
        cursor_ = word_right(cursor_);
        return outcome::redraw;
    }
    if (is({"[1;5D", "[1;3D", "b", "B"})) {
        cursor_ = word_left(cursor_);
        return outcome::redraw;
    }
    if (is({"d", "D"})) return kill(cursor_, word_right(cursor_));
    if (is({"\x7f", "\x08"})) return kill(word_left(cursor_), cursor_);
    return outcome::none;  // function keys and the like: swallowed whole
}

void line_editor::insert_code_point(std::string_view cp) {
    if (buffer_.size() + cp.size() > max_text_bytes) return;
    buffer_.insert(cursor_, cp);
    cursor_ += cp.size();
}

void line_editor::insert(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        auto [cp, n] = decode(text, i);
        std::string_view bytes = text.substr(i, n);
        i += n;
        if (cp == '\t')
            bytes = " ";  // a tab would break the width arithmetic
        else if (is_control(cp) || (cp == 0xfffd && n == 1))
            continue;
        insert_code_point(bytes);
    }
}

std::size_t line_editor::prev_boundary(std::size_t at) const {
    if (at == 0) return 0;
    --at;
    while (at > 0 && (static_cast<unsigned char>(buffer_[at]) & 0xc0) == 0x80) --at;
    return at;
}

std::size_t line_editor::next_boundary(std::size_t at) const {
    if (at >= buffer_.size()) return buffer_.size();
    ++at;
    while (at < buffer_.size() && (static_cast<unsigned char>(buffer_[at]) & 0xc0) == 0x80) ++at;
    return at;
}

std::size_t line_editor::word_left(std::size_t at) const {
    while (at > 0 && buffer_[at - 1] == ' ') --at;
    while (at > 0 && buffer_[at - 1] != ' ') --at;
    return at;
}

std::size_t line_editor::word_right(std::size_t at) const {
    while (at < buffer_.size() && buffer_[at] == ' ') ++at;
    while (at < buffer_.size() && buffer_[at] != ' ') ++at;
    return at;
}

line_editor::outcome line_editor::kill(std::size_t from, std::size_t to) {
    if (from >= to) return outcome::none;
    killed_ = buffer_.substr(from, to - from);
    buffer_.erase(from, to - from);
    cursor_ = from;
    return outcome::redraw;
}

line_editor::outcome line_editor::recall(int direction) {
    if (direction < 0) {
        if (history_pos_ == 0) return outcome::none;
        if (history_pos_ == history_.size()) typed_ = buffer_;
        --history_pos_;
        buffer_ = history_[history_pos_];
    } else {
        if (history_pos_ >= history_.size()) return outcome::none;
        ++history_pos_;
        buffer_ = history_pos_ == history_.size() ? typed_ : history_[history_pos_];
    }
    cursor_ = buffer_.size();
    return outcome::redraw;
}

line_editor::outcome line_editor::complete() {
    auto& c = completion_;
    if (!c.active) {
        std::size_t const start = word_left(cursor_) < cursor_ && buffer_[cursor_ - 1] != ' '
                                      ? word_left(cursor_)
                                      : cursor_;
        c.prefix = buffer_.substr(start, cursor_ - start);
        if (c.prefix.empty()) return outcome::none;
        bool const command = c.prefix.front() == '/';
        if (command && start != 0) return outcome::none;
        c.candidates.clear();
        for (auto const& w : words_)
            if (!w.empty() && (w.front() == '/') == command && starts_with_nocase(w, c.prefix))
                c.candidates.push_back(w);
        std::sort(c.candidates.begin(), c.candidates.end());
        c.candidates.erase(std::unique(c.candidates.begin(), c.candidates.end()),
                           c.candidates.end());
        if (c.candidates.empty()) return outcome::none;
        c.active = true;
        c.start = start;
        c.end = cursor_;
        c.next = 0;
    }
    std::string const& word = c.candidates[c.next];
    bool const name_first = c.start == 0 && word.front() != '/';
    std::string const replacement = word + (name_first ? ": " : " ");
    buffer_.replace(c.start, c.end - c.start, replacement);
    cursor_ = c.start + replacement.size();
    c.end = cursor_;
    c.next = (c.next + 1) % c.candidates.size();
    return outcome::redraw;
}

void line_editor::set_history(std::vector<std::string> lines) {
    if (lines.size() > max_history)
        lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max_history));
    history_ = std::move(lines);
    history_pos_ = history_.size();
}

std::string line_editor::take_line(bool remember) {
    std::string line = std::move(buffer_);
    buffer_.clear();
    cursor_ = 0;
    pending_.clear();
    in_escape_ = false;
    completion_.active = false;
    if (remember && !is_blank(line) && (history_.empty() || history_.back() != line)) {
        history_.push_back(line);
        if (history_.size() > max_history) history_.erase(history_.begin());
    }
    history_pos_ = history_.size();
    typed_.clear();
    return line;
}

std::string line_editor::render() const { return prompt_ + buffer_; }

line_editor::position line_editor::layout(std::size_t offset, std::size_t cols) const {
    position p;
    auto place = [&p, cols](std::string_view text) {
        for (std::size_t i = 0; i < text.size();) {
            auto [cp, n] = decode(text, i);
            i += n;
            std::size_t const w = code_point_width(cp);
            if (w == 0) continue;
            // A character that does not fit wraps whole: a wide one at the last column
            // leaves it empty, as terminals do.
            if (p.col + w > cols) {
                ++p.row;
                p.col = 0;
            }
            p.col += w;
        }
    };
    place(prompt_);
    place(std::string_view(buffer_).substr(0, offset));
    if (p.col >= cols) {  // the row is full: the next character starts the next row
        ++p.row;
        p.col = 0;
    }
    return p;
}

std::string line_editor::erase() {
    if (drawn_rows_ == 0) return {};
    std::string out;
    if (cursor_row_ > 0) out += "\033[" + std::to_string(cursor_row_) + "A";
    out += "\r\033[J";
    forget_screen();
    return out;
}

std::string line_editor::draw(int columns) {
    std::size_t const cols = columns > 0 ? static_cast<std::size_t>(columns) : 80;
    std::string out = erase();
    out += render();
    position const end = layout(buffer_.size(), cols);
    // A line that exactly fills its last row leaves the terminal's cursor pending on the
    // last column; moving to the next row makes it agree with layout().
    if (end.col == 0 && end.row > 0) out += "\r\n";
    position const at = layout(cursor_, cols);
    if (end.row > at.row) out += "\033[" + std::to_string(end.row - at.row) + "A";
    out += '\r';
    if (at.col > 0) out += "\033[" + std::to_string(at.col) + "C";
    cursor_row_ = at.row;
    drawn_rows_ = end.row + 1;
    return out;
}

}  // namespace p2pchat::ctl
