#include "ctl/line_editor.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <cwchar>
#include <string_view>
#include <vector>

namespace p2pchat::ctl {
namespace {

using outcome = line_editor::outcome;

// Feeds every byte; returns the outcome of the last one.
outcome type(line_editor& e, std::string_view keys) {
    outcome last = outcome::none;
    for (char c : keys) last = e.feed(static_cast<unsigned char>(c));
    return last;
}

// Just enough of a VT100 to check what the editor draws: printable characters with wcwidth
// (wide ones wrap whole, a full row defers its wrap as xterm and tmux do), CR, LF, CUU (A),
// CUF (C) and ED (J). Rows grow as needed; each cell holds one code point's UTF-8 ("" for the
// second half of a wide character).
class terminal {
  public:
    explicit terminal(std::size_t cols) : cols_(cols) {}

    void write(std::string_view s) {
        for (std::size_t i = 0; i < s.size();) {
            unsigned char c = static_cast<unsigned char>(s[i]);
            if (c == '\033') {
                std::size_t j = i + 2;  // ESC [
                int n = 0;
                bool has_n = false;
                while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
                    n = n * 10 + (s[j++] - '0');
                    has_n = true;
                }
                if (!has_n) n = 1;
                char final = s[j];
                if (final == 'A') row_ = row_ >= static_cast<std::size_t>(n) ? row_ - n : 0;
                if (final == 'C') col_ = std::min(cols_ - 1, col_ + n);
                if (final == 'J') {
                    line(row_).resize(col_);
                    rows_.resize(row_ + 1);
                }
                pending_ = false;
                i = j + 1;
                continue;
            }
            if (c == '\r') {
                col_ = 0;
                pending_ = false;
                ++i;
                continue;
            }
            if (c == '\n') {  // the tty's output processing makes it CR LF (ONLCR)
                ++row_;
                col_ = 0;
                pending_ = false;
                ++i;
                continue;
            }
            std::size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
            std::string cp(s.substr(i, len));
            i += len;
            wchar_t wc = 0;
            std::mbstate_t st{};
            std::mbrtowc(&wc, cp.data(), cp.size(), &st);
            std::size_t w = std::max(1, ::wcwidth(wc));
            if (pending_ || col_ + w > cols_) {
                ++row_;
                col_ = 0;
                pending_ = false;
            }
            put(cp);
            if (w == 2) put("");
            if (col_ == cols_) {
                col_ = cols_ - 1;
                pending_ = true;
            }
        }
    }

    // The screen's rows, trailing blanks removed.
    std::vector<std::string> screen() const {
        std::vector<std::string> out;
        for (auto const& r : rows_) {
            std::string s;
            for (auto const& cell : r) s += cell.empty() ? (&cell == &r.back() ? "" : "") : cell;
            while (!s.empty() && s.back() == ' ') s.pop_back();
            out.push_back(s);
        }
        while (!out.empty() && out.back().empty()) out.pop_back();
        return out;
    }
    std::size_t row() const { return row_; }
    std::size_t col() const { return pending_ ? cols_ : col_; }

  private:
    std::vector<std::string>& line(std::size_t r) {
        if (rows_.size() <= r) rows_.resize(r + 1);
        return rows_[r];
    }
    void put(std::string const& cp) {
        auto& l = line(row_);
        if (l.size() <= col_) l.resize(col_ + 1, " ");
        l[col_] = cp;
        ++col_;
    }

    std::size_t cols_;
    std::size_t row_ = 0, col_ = 0;
    bool pending_ = false;
    std::vector<std::vector<std::string>> rows_;
};

class LineEditor : public ::testing::Test {
  protected:
    void SetUp() override { std::setlocale(LC_CTYPE, "C.UTF-8"); }
    void TearDown() override { std::setlocale(LC_CTYPE, "C"); }
};

TEST_F(LineEditor, TypingInsertsAndEnterSubmits) {
    line_editor e("> ");
    EXPECT_EQ(e.feed('h'), outcome::redraw);
    type(e, "i there");
    EXPECT_EQ(e.buffer(), "hi there");
    EXPECT_EQ(e.render(), "> hi there");
    EXPECT_EQ(e.feed('\r'), outcome::submit);
    EXPECT_EQ(e.take_line(), "hi there");
    EXPECT_EQ(e.buffer(), "");
}

TEST_F(LineEditor, CursorAndWordMotionsEditInTheMiddle) {
    line_editor e;
    type(e, "hello world");
    type(e, "\033[D\033[D\033[D\033[D\033[D");  // Left x5: before "world"
    type(e, "big ");
    EXPECT_EQ(e.buffer(), "hello big world");
    type(e, "\001");  // Ctrl-A
    EXPECT_EQ(e.cursor(), 0u);
    type(e, "\033[1;5C");  // Ctrl-Right: after "hello"
    EXPECT_EQ(e.cursor(), 5u);
    type(e, "\033[F");  // End
    EXPECT_EQ(e.cursor(), e.buffer().size());
    type(e, "\033b");  // Alt-b: before "world"
    EXPECT_EQ(e.cursor(), 10u);
    type(e, "\033[H");   // Home
    type(e, "\033[3~");  // Delete
    EXPECT_EQ(e.buffer(), "ello big world");
    type(e, "\033OF\033[C");  // End, then Right at the end does nothing
    EXPECT_EQ(e.cursor(), e.buffer().size());
}

TEST_F(LineEditor, BackspaceAndArrowsMoveOverWholeCodePoints) {
    line_editor e;
    type(e, "caf\xc3\xa9!");  // café!
    type(e, "\033[D");        // before '!'
    EXPECT_EQ(e.feed(0x7f), outcome::redraw);
    EXPECT_EQ(e.buffer(), "caf!");
    type(e, "\033[D\033[D");
    EXPECT_EQ(e.cursor(), 1u);
}

TEST_F(LineEditor, KillAndYank) {
    line_editor e;
    type(e, "hello big world  ");
    EXPECT_EQ(e.feed(0x17), outcome::redraw);  // Ctrl-W
    EXPECT_EQ(e.buffer(), "hello big ");
    type(e, "\001\033f");                      // Home, Alt-f: after "hello"
    EXPECT_EQ(e.feed(0x0b), outcome::redraw);  // Ctrl-K
    EXPECT_EQ(e.buffer(), "hello");
    type(e, "\031");  // Ctrl-Y
    EXPECT_EQ(e.buffer(), "hello big ");
    EXPECT_EQ(e.feed(0x15), outcome::redraw);  // Ctrl-U: to the start
    EXPECT_EQ(e.buffer(), "");
    EXPECT_EQ(e.feed(0x15), outcome::none) << "nothing to kill";
}

TEST_F(LineEditor, CtrlCQuitsCtrlDQuitsOnlyOnAnEmptyLine) {
    line_editor e;
    EXPECT_EQ(e.feed(0x03), outcome::quit);
    type(e, "x");
    EXPECT_EQ(e.feed(0x04), outcome::none) << "Ctrl-D at the end of a line deletes nothing";
    type(e, "\001");
    EXPECT_EQ(e.feed(0x04), outcome::redraw) << "Ctrl-D deletes under the cursor";
    EXPECT_EQ(e.buffer(), "");
    EXPECT_EQ(e.feed(0x04), outcome::quit);
}

TEST_F(LineEditor, UnknownEscapeSequencesAreSwallowedWhole) {
    line_editor e;
    type(e, "a\033[15~\033[1;2Pb\033OQ");  // F5, Shift-F1, F2
    EXPECT_EQ(e.buffer(), "ab");
    EXPECT_EQ(type(e, "\033[12;"), outcome::none);
}

TEST_F(LineEditor, ControlBytesAreIgnoredAndTabsInPastesBecomeSpaces) {
    line_editor e;
    type(e, "a\x1c\x1e");
    e.insert("b\tc\x1b\x07\xc2\x9b");
    EXPECT_EQ(e.buffer(), "ab c");
}

TEST_F(LineEditor, HistoryUpDownKeepsTheLineBeingTyped) {
    line_editor e;
    e.set_history({"first", "second"});
    type(e, "draft");
    EXPECT_EQ(type(e, "\033[A"), outcome::redraw);
    EXPECT_EQ(e.buffer(), "second");
    type(e, "\020");  // Ctrl-P
    EXPECT_EQ(e.buffer(), "first");
    EXPECT_EQ(type(e, "\033[A"), outcome::none) << "no older line";
    type(e, "\033[B\033[B");
    EXPECT_EQ(e.buffer(), "draft");
    e.take_line();
    type(e, "draft\r");
    e.take_line();
    EXPECT_EQ(e.history().back(), "draft") << "a repeat is kept once";
    EXPECT_EQ(e.history().size(), 3u);
    type(e, "secret\r");
    e.take_line(false);
    EXPECT_EQ(e.history().size(), 3u) << "take_line(false) does not remember";
}

TEST_F(LineEditor, TabCompletesNamesAndCommandsAndCycles) {
    line_editor e;
    e.set_completions({"alice", "alex", "bob", "/join", "/leave"});
    type(e, "al\t");
    EXPECT_EQ(e.buffer(), "alex: ") << "the first match, with ': ' at the start of a line";
    type(e, "\t");
    EXPECT_EQ(e.buffer(), "alice: ") << "Tab again cycles";
    type(e, "hi B\t");
    EXPECT_EQ(e.buffer(), "alice: hi bob ");
    e.take_line();
    type(e, "/jo\t");
    EXPECT_EQ(e.buffer(), "/join ");
    e.take_line();
    EXPECT_EQ(type(e, "zz\t"), outcome::none);
    EXPECT_EQ(e.buffer(), "zz");
}

TEST_F(LineEditor, BracketedPasteIsOneOutcome) {
    line_editor e;
    type(e, "x");
    EXPECT_EQ(type(e, "\033[200~one\ntwo\n\033[201~"), outcome::paste);
    EXPECT_EQ(e.take_paste(), "one\ntwo\n");
    EXPECT_EQ(e.buffer(), "x") << "the paste is the room's to place";
}

// What the screen shows after drawing, editing and redrawing on a narrow terminal.
TEST_F(LineEditor, RedrawLeavesNoStaleRowsOnWrappedLines) {
    terminal t(10);
    line_editor e("al> ");
    type(e, "0123456789abcdefghij");  // 24 columns: three rows
    t.write(e.draw(10));
    EXPECT_EQ(t.screen(), (std::vector<std::string>{"al> 012345", "6789abcdef", "ghij"}));
    type(e, "\025");  // Ctrl-U
    t.write(e.draw(10));
    EXPECT_EQ(t.screen(), (std::vector<std::string>{"al>"}));
    EXPECT_EQ(t.row(), 0u);
    EXPECT_EQ(t.col(), 4u);
}

TEST_F(LineEditor, CursorLandsWhereTheEditIsAcrossRows) {
    terminal t(10);
    line_editor e("> ");
    type(e, "abcdefghijklmn");                              // 16 columns
    type(e, "\033[D\033[D\033[D\033[D\033[D\033[D\033[D");  // before 'h' (column 9, row 0)
    t.write(e.draw(10));
    EXPECT_EQ(t.row(), 0u);
    EXPECT_EQ(t.col(), 9u);
    type(e, "\033[D");  // before 'g'... left again, then Backspace removes 'f'
    type(e, "\x7f");
    t.write(e.draw(10));
    EXPECT_EQ(t.screen(), (std::vector<std::string>{"> abcdeghi", "jklmn"}));
    EXPECT_EQ(t.row(), 0u);
    EXPECT_EQ(t.col(), 7u);
}

TEST_F(LineEditor, AWideCharacterAtTheWrapPointMovesWhole) {
    terminal t(10);
    line_editor e("> ");
    type(e, "1234567");       // 9 columns: one left on the row
    type(e, "\xe7\x8c\xab");  // 猫, two columns: wraps whole
    type(e, "x");
    t.write(e.draw(10));
    EXPECT_EQ(t.screen(), (std::vector<std::string>{"> 1234567",
                                                    "\xe7\x8c\xab"
                                                    "x"}));
    EXPECT_EQ(t.row(), 1u);
    EXPECT_EQ(t.col(), 3u);
    type(e, "\x7f\x7f");  // Backspace twice: x, then the wide character
    t.write(e.draw(10));
    EXPECT_EQ(t.screen(), (std::vector<std::string>{"> 1234567"}));
    EXPECT_EQ(t.row(), 0u);
    EXPECT_EQ(t.col(), 9u);
}

TEST_F(LineEditor, ALineThatFillsItsRowPutsTheCursorOnTheNext) {
    terminal t(10);
    line_editor e("> ");
    type(e, "12345678");  // exactly 10 columns
    t.write(e.draw(10));
    EXPECT_EQ(t.row(), 1u);
    EXPECT_EQ(t.col(), 0u);
    type(e, "\x7f");
    t.write(e.draw(10));
    EXPECT_EQ(t.screen(), (std::vector<std::string>{"> 1234567"}));
    EXPECT_EQ(t.row(), 0u);
}

TEST_F(LineEditor, EraseLeavesTheCursorWhereTheNextLineGoes) {
    terminal t(10);
    line_editor e("> ");
    t.write("old line\n");
    type(e, "0123456789abc");
    t.write(e.draw(10));
    t.write(e.erase() + "event\n");
    t.write(e.draw(10));
    EXPECT_EQ(t.screen(), (std::vector<std::string>{"old line", "event", "> 01234567", "89abc"}));
    EXPECT_EQ(e.erase(), "\033[1A\r\033[J");
    EXPECT_EQ(e.erase(), "") << "nothing left to erase";
}

TEST_F(LineEditor, WidthsCountWideAndCombiningCharacters) {
    EXPECT_EQ(line_editor::width("abc"), 3u);
    EXPECT_EQ(line_editor::width("\xe7\x8c\xab"), 2u);
    EXPECT_EQ(line_editor::width("e\xcc\x81"), 1u);  // e + combining acute
}

}  // namespace
}  // namespace p2pchat::ctl
