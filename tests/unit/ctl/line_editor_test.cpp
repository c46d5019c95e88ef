#include "ctl/line_editor.hpp"

#include <gtest/gtest.h>

#include <string_view>

namespace p2pchat::ctl {
namespace {

using outcome = line_editor::outcome;

// Feeds every byte; returns the outcome of the last one.
outcome type(line_editor& e, std::string_view keys) {
    outcome last = outcome::none;
    for (char c : keys) last = e.feed(static_cast<unsigned char>(c));
    return last;
}

TEST(LineEditor, TypingEchoesAndEnterSubmits) {
    line_editor e("> ");
    EXPECT_EQ(e.feed('h'), outcome::echo);
    EXPECT_EQ(e.echo(), "h");
    type(e, "i there");
    EXPECT_EQ(e.buffer(), "hi there");
    EXPECT_EQ(e.render(), "> hi there");
    EXPECT_EQ(e.feed('\r'), outcome::submit);
    EXPECT_EQ(e.take_line(), "hi there");
    EXPECT_EQ(e.buffer(), "");
}

TEST(LineEditor, BackspaceRemovesAWholeCodePoint) {
    line_editor e;
    type(e, "caf\xc3\xa9");  // café
    EXPECT_EQ(e.feed(0x7f), outcome::redraw);
    EXPECT_EQ(e.buffer(), "caf");
    EXPECT_EQ(e.feed(0x08), outcome::redraw);
    EXPECT_EQ(e.buffer(), "ca");
}

TEST(LineEditor, CtrlUClearsCtrlWErasesAWord) {
    line_editor e;
    type(e, "hello big world  ");
    EXPECT_EQ(e.feed(0x17), outcome::redraw);
    EXPECT_EQ(e.buffer(), "hello big ");
    EXPECT_EQ(e.feed(0x15), outcome::redraw);
    EXPECT_EQ(e.buffer(), "");
    EXPECT_EQ(e.feed(0x15), outcome::none) << "nothing to clear";
}

TEST(LineEditor, CtrlCQuitsCtrlDQuitsOnlyOnAnEmptyLine) {
    line_editor e;
    EXPECT_EQ(e.feed(0x03), outcome::quit);
    type(e, "x");
    EXPECT_EQ(e.feed(0x04), outcome::none) << "Ctrl-D with text does not throw it away";
    type(e, "\x7f");
    EXPECT_EQ(e.feed(0x04), outcome::quit);
}

TEST(LineEditor, ArrowKeysAreSwallowedNotInserted) {
    line_editor e;
    type(e, "ab");
    EXPECT_EQ(type(e, "\x1b[A"), outcome::none);     // up
    EXPECT_EQ(type(e, "\x1bOD"), outcome::none);     // left (application mode)
    EXPECT_EQ(type(e, "\x1b[1;5C"), outcome::none);  // Ctrl-right
    type(e, "c");
    EXPECT_EQ(e.buffer(), "abc");
}

TEST(LineEditor, OtherControlBytesAreIgnoredAndTabsBecomeSpaces) {
    line_editor e;
    EXPECT_EQ(e.feed(0x01), outcome::none);
    EXPECT_EQ(e.feed('\t'), outcome::echo);
    EXPECT_EQ(e.echo(), " ");
    EXPECT_EQ(e.buffer(), " ");
}

TEST(LineEditor, ClearAccountsForWrappedRows) {
    line_editor e("> ");
    EXPECT_EQ(e.clear(80), "\r\033[K");
    type(e, std::string(78, 'x'));  // exactly 80 columns: the cursor stays on the first row
    EXPECT_EQ(e.clear(80), "\r\033[K");
    type(e, "y");  // 81 columns: two rows
    EXPECT_EQ(e.clear(80), "\r\033[1A\033[J");
    type(e, std::string(80, 'z'));  // 161 columns: three rows
    EXPECT_EQ(e.clear(80), "\r\033[2A\033[J");
}

}  // namespace
}  // namespace p2pchat::ctl
