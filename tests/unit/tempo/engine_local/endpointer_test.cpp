#include "tempo/engine/local/vad.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tempo::engine::local {
namespace {

// 'S' = speech frame, '.' = non-speech; returns the events, one char per frame:
// '-' none, 'B' start, 'E' end, 'F' false start.
std::string Feed(Endpointer& ep, const std::string& frames) {
  std::string out;
  for (char c : frames) {
    switch (ep.Push(c == 'S' ? FrameClass::kSpeech : FrameClass::kNonSpeech)) {
      case EndpointEvent::kNone:
        out += '-';
        break;
      case EndpointEvent::kSpeechStart:
        out += 'B';
        break;
      case EndpointEvent::kSpeechEnd:
        out += 'E';
        break;
      case EndpointEvent::kFalseStart:
        out += 'F';
        break;
    }
  }
  return out;
}

Endpointer Make(EndpointerConfig config) {
  auto ep = Endpointer::Create(config);
  EXPECT_TRUE(ep.has_value());
  return std::move(*ep);
}

TEST(EndpointerTest, DefaultsOpenAfterTwoFramesAndCloseAfter400ms) {
  Endpointer ep = Make({});
  const std::string frames = "...SSSSSSSSSS" + std::string(20, '.') + "...";
  const std::string events = Feed(ep, frames);
  // Start on the second speech frame (index 4); end on the 20th silent frame (400 ms).
  EXPECT_EQ(events, "----B" + std::string(8, '-') + std::string(19, '-') + "E---");
  EXPECT_EQ(ep.segment_start_frame(), 3);
  EXPECT_EQ(ep.segment_end_frame(), 13);
  EXPECT_FALSE(ep.in_speech());
  EXPECT_EQ(ep.frames_seen(), static_cast<int64_t>(frames.size()));
}

TEST(EndpointerTest, SingleSpeechFramesNeverOpen) {
  Endpointer ep = Make({});
  EXPECT_EQ(Feed(ep, ".S.S.S.S.S.S"), std::string(12, '-'));
  EXPECT_EQ(ep.segment_start_frame(), -1);
}

TEST(EndpointerTest, PausesShorterThanHangoverStayInOneSegment) {
  Endpointer ep = Make({.hangover_ms = 100, .min_utterance_ms = 0});
  // Gaps of 4 frames (80 ms) do not close; 5 frames (100 ms) do.
  EXPECT_EQ(Feed(ep, "SSSS....SSSS....SS....."), "-B" + std::string(20, '-') + "E");
}

TEST(EndpointerTest, ShortSegmentIsAFalseStart) {
  Endpointer ep = Make({.hangover_ms = 60, .min_utterance_ms = 120});
  // 3 speech frames = 60 ms < 120 ms.
  EXPECT_EQ(Feed(ep, "SSS..."), "-B---F");
  // 6 speech frames = 120 ms is enough.
  EXPECT_EQ(Feed(ep, "SSSSSS..."), "-B------E");
}

TEST(EndpointerTest, SegmentIsConfirmedOnceItHoldsTheMinimumSpeech) {
  Endpointer ep = Make({.hangover_ms = 100, .min_utterance_ms = 100});
  std::string confirmed;
  for (char c : std::string("SSSS.SSS.....")) {
    ep.Push(c == 'S' ? FrameClass::kSpeech : FrameClass::kNonSpeech);
    confirmed += ep.segment_confirmed() ? 'y' : 'n';
  }
  // 5 speech frames (100 ms) are reached on the 6th pushed frame; closing clears it.
  EXPECT_EQ(confirmed, "nnnnnyyyyyyyn");
}

TEST(EndpointerTest, MaxUtteranceForcesAnEnd) {
  Endpointer ep = Make({.hangover_ms = 100, .min_utterance_ms = 0, .max_utterance_ms = 200});
  // 10 frames = 200 ms: closes on the 10th frame even though speech continues, then reopens.
  EXPECT_EQ(Feed(ep, std::string(14, 'S')), "-B-------E-B--");
}

TEST(EndpointerTest, ResetForgetsEverything) {
  Endpointer ep = Make({});
  Feed(ep, "SSSS");
  ASSERT_TRUE(ep.in_speech());
  ep.Reset();
  EXPECT_FALSE(ep.in_speech());
  EXPECT_EQ(ep.frames_seen(), 0);
  EXPECT_EQ(ep.segment_start_frame(), -1);
  EXPECT_EQ(Feed(ep, "S"), "-");
}

TEST(EndpointerTest, RejectsInvalidConfig) {
  EXPECT_FALSE(Endpointer::Create({.start_frames = 0}).has_value());
  EXPECT_FALSE(Endpointer::Create({.hangover_ms = 0}).has_value());
  EXPECT_FALSE(Endpointer::Create({.hangover_ms = 410}).has_value());  // not a frame multiple
  EXPECT_FALSE(Endpointer::Create({.min_utterance_ms = -20}).has_value());
  auto bad = Endpointer::Create({.max_utterance_ms = 20});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace tempo::engine::local
