#include "tempo/caller/script.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tempo::caller {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(ParseScriptLineTest, APlainLineIsSaidAsIs) {
  auto line = ParseScriptLine("What are your opening hours?");
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->text, "What are your opening hours?");
  EXPECT_FALSE(line->interrupt_after.has_value());
}

TEST(ParseScriptLineTest, ReadsTheBargeInPrefix) {
  auto line = ParseScriptLine("[barge-in 1200ms] What are your opening hours?");
  ASSERT_TRUE(line.has_value()) << line.error().message;
  EXPECT_EQ(line->text, "What are your opening hours?");
  EXPECT_EQ(line->interrupt_after, milliseconds(1200));

  line = ParseScriptLine("  [barge-in  0ms ]hello");
  ASSERT_TRUE(line.has_value()) << line.error().message;
  EXPECT_EQ(line->text, "hello");
  EXPECT_EQ(line->interrupt_after, milliseconds(0));
}

TEST(ParseScriptLineTest, RejectsAMalformedPrefix) {
  for (const char* bad : {"[barge-in x] hello", "[barge-in 12s] hello", "[barge-in 12] hello",
                          "[barge-in] hello", "[barge-in -5ms] hello", "[barge-in1200ms] hello",
                          "[bargein 5ms] hello", "[Barge-in 5ms] hello", "[barge-in 5ms hello",
                          "[barge-in 99999999999ms] hello", "[laughs] hello"}) {
    auto line = ParseScriptLine(bad);
    ASSERT_FALSE(line.has_value()) << bad;
    EXPECT_EQ(line.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_THAT(line.error().message, HasSubstr("[barge-in <N>ms]")) << bad;
  }
  auto line = ParseScriptLine("[barge-in x] hello");
  EXPECT_THAT(line.error().message, HasSubstr("\"[barge-in x]\""));
}

TEST(ParseScriptLineTest, ABargeInNeedsSomethingToSay) {
  auto line = ParseScriptLine("[barge-in 500ms]   ");
  ASSERT_FALSE(line.has_value());
  EXPECT_EQ(line.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(line.error().message, HasSubstr("nothing to say"));
}

TEST(SynthesizeTurnsTest, CarriesTheBargeInAndFindsTheSpeechAfterTheLeadSilence) {
  const TurnPadding padding;  // 600 ms before, 1 s after
  auto turns =
      SynthesizeTurns({"Hello there", "", "[barge-in 300ms] What are your hours?"}, "", padding);
  ASSERT_TRUE(turns.has_value()) << turns.error().message;
  ASSERT_EQ(turns->size(), 2U);
  EXPECT_FALSE((*turns)[0].interrupt_after.has_value());
  EXPECT_EQ((*turns)[1].interrupt_after, milliseconds(300));
  for (const auto& turn : *turns) {
    const std::size_t frames = (turn.clip->size() + 159) / 160;
    // Speech begins after the 30 silent lead frames and flite's own quiet lead-in (about 200 ms
    // at -45 to -75 dBFS), and ends before the 50 silent trailing frames.
    EXPECT_GE(turn.speech.first, 30U);
    EXPECT_LT(turn.speech.first, 50U);
    EXPECT_LE(turn.speech.end, frames - 50);
    EXPECT_GT(turn.speech.end, turn.speech.first + 10);  // a few words: well over 200 ms
  }
}

TEST(SynthesizeTurnsTest, ABadLineFailsBeforeAnythingIsSynthesized) {
  auto turns = SynthesizeTurns({"Hello there", "[barge-in soon] Hi"}, "", TurnPadding{});
  ASSERT_FALSE(turns.has_value());
  EXPECT_EQ(turns.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(turns.error().message, HasSubstr("caller line \"[barge-in soon] Hi\""));
}

}  // namespace
}  // namespace tempo::caller
