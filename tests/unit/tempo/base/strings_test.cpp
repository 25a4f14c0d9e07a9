#include "tempo/base/strings.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tempo {
namespace {

TEST(Strings, LowerChangesOnlyAsciiCapitals) {
  EXPECT_EQ(Lower("Admin@Example.COM"), "admin@example.com");
  EXPECT_EQ(Lower("Bearer tv_X"), "bearer tv_x");
  EXPECT_EQ(Lower(""), "");
  // Bytes of UTF-8 text pass unchanged: "Ä" is not folded, whatever the locale.
  EXPECT_EQ(Lower("\xC3\x84Z9-_"), "\xC3\x84z9-_");
}

TEST(Strings, TrimRemovesAsciiWhiteSpaceAtBothEnds) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim("\v\fx\f"), "x");
  EXPECT_EQ(Trim("x"), "x");
  EXPECT_EQ(Trim(" \n\t "), "");
  EXPECT_EQ(Trim(""), "");
}

TEST(Strings, HexValueOfEveryDigitAndNothingElse) {
  EXPECT_EQ(HexValue('0'), 0);
  EXPECT_EQ(HexValue('9'), 9);
  EXPECT_EQ(HexValue('a'), 10);
  EXPECT_EQ(HexValue('F'), 15);
  for (char c : std::string("gG/:@`\x7f ")) EXPECT_EQ(HexValue(c), -1) << c;
}

TEST(Strings, PercentDecodeUndoesEscapes) {
  EXPECT_EQ(PercentDecode("%2B14155550100").value(), "+14155550100");
  EXPECT_EQ(PercentDecode("a%20b%3d%3D").value(), "a b==");
  EXPECT_EQ(PercentDecode("").value(), "");
  EXPECT_EQ(PercentDecode("%00").value(), std::string(1, '\0'));  // callers decide about NUL
}

TEST(Strings, PercentDecodeReadsPlusAsAskedFor) {
  EXPECT_EQ(PercentDecode("a+b").value(), "a+b");
  EXPECT_EQ(PercentDecode("a+b%2B", PlusMeans::kSpace).value(), "a b+");
}

TEST(Strings, PercentDecodeRejectsBadEscapes) {
  for (const char* bad : {"%", "%4", "a%G1", "%1g", "abc%"}) {
    auto r = PercentDecode(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
}

}  // namespace
TEST(Strings, PercentEncodeKeepsOnlyUnreserved) {
  EXPECT_EQ(PercentEncode("-._~AZaz09"), "-._~AZaz09");
  EXPECT_EQ(PercentEncode("a b/c+d=é*"), "a%20b%2Fc%2Bd%3D%C3%A9%2A");
  EXPECT_EQ(PercentEncode("a b/c", SpaceAs::kPlus), "a+b%2Fc");
  EXPECT_EQ(PercentEncode("/calls/a b/x.wav", SpaceAs::kPercent20, /*keep_slash=*/true),
            "/calls/a%20b/x.wav");
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(PercentDecode(PercentEncode(all)).value(), all);
  EXPECT_EQ(PercentDecode(PercentEncode(all, SpaceAs::kPlus), PlusMeans::kSpace).value(), all);
}

}  // namespace tempo
