#include "tempo/caller/playback.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace tempo::caller {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using TimePoint = PlaybackBuffer::TimePoint;

const TimePoint kPlayStart = TimePoint{} + std::chrono::hours(1);

std::vector<uint8_t> Audio(milliseconds duration, uint8_t value = 0x10) {
  return std::vector<uint8_t>(static_cast<std::size_t>(duration.count()) * 8, value);
}

class CollectSink : public PlayedAudioSink {
 public:
  void OnPlayed(TimePoint start, std::span<const uint8_t> mulaw) override {
    starts.push_back(start);
    bytes += mulaw.size();
  }
  std::vector<TimePoint> starts;
  std::size_t bytes = 0;
};

TEST(PlaybackBufferTest, MarkWithNothingBufferedIsEchoedAtOnce) {
  PlaybackBuffer buffer;
  std::vector<std::string> marks;
  buffer.PushMark("m1");
  buffer.Advance(kPlayStart, marks, nullptr);
  EXPECT_THAT(marks, ElementsAre("m1"));
  EXPECT_EQ(buffer.pending_marks(), 0U);
}

TEST(PlaybackBufferTest, MarksComeBackInOrderAfterTheAudioBeforeThem) {
  PlaybackBuffer buffer;
  std::vector<std::string> marks;
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(100))));
  buffer.PushMark("first");
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(60))));
  buffer.PushMark("second");
  EXPECT_EQ(buffer.NextMarkDue(), kPlayStart + milliseconds(100));
  EXPECT_EQ(buffer.PlayingUntil(), kPlayStart + milliseconds(160));

  buffer.Advance(kPlayStart + milliseconds(99), marks, nullptr);
  EXPECT_THAT(marks, IsEmpty());
  buffer.Advance(kPlayStart + milliseconds(100), marks, nullptr);
  EXPECT_THAT(marks, ElementsAre("first"));
  EXPECT_EQ(buffer.NextMarkDue(), kPlayStart + milliseconds(160));
  buffer.Advance(kPlayStart + milliseconds(159), marks, nullptr);
  EXPECT_THAT(marks, ElementsAre("first"));
  buffer.Advance(kPlayStart + milliseconds(200), marks, nullptr);
  EXPECT_THAT(marks, ElementsAre("first", "second"));
  EXPECT_FALSE(buffer.playing());
  EXPECT_EQ(buffer.played_bytes(), 160U * 8);
  EXPECT_EQ(buffer.idle_since(), kPlayStart + milliseconds(160));
}

TEST(PlaybackBufferTest, PlaysAtRealTimeRate) {
  PlaybackBuffer buffer;
  CollectSink sink;
  std::vector<std::string> marks;
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(1000))));
  buffer.Advance(kPlayStart + milliseconds(250), marks, &sink);
  EXPECT_EQ(sink.bytes, 2000U);
  EXPECT_EQ(buffer.buffered_bytes(), 6000U);
  buffer.Advance(kPlayStart + milliseconds(250), marks, &sink);  // no time passed, nothing played
  EXPECT_EQ(sink.bytes, 2000U);
  buffer.Advance(kPlayStart + milliseconds(5000), marks, &sink);
  EXPECT_EQ(sink.bytes, 8000U);
  EXPECT_EQ(sink.starts.front(), kPlayStart);
  EXPECT_EQ(sink.starts.back(), kPlayStart + milliseconds(250));
}

TEST(PlaybackBufferTest, AudioArrivingAfterAGapStartsWhenItArrives) {
  PlaybackBuffer buffer;
  CollectSink sink;
  std::vector<std::string> marks;
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(20))));
  buffer.Advance(kPlayStart + milliseconds(500), marks, &sink);
  ASSERT_TRUE(buffer.PushAudio(kPlayStart + milliseconds(500), Audio(milliseconds(20))));
  buffer.PushMark("late");
  EXPECT_EQ(buffer.NextMarkDue(), kPlayStart + milliseconds(520));
  buffer.Advance(kPlayStart + milliseconds(520), marks, &sink);
  EXPECT_THAT(marks, ElementsAre("late"));
  EXPECT_EQ(sink.starts.back(), kPlayStart + milliseconds(500));
}

TEST(PlaybackBufferTest, ClearDropsAudioAndEchoesEveryPendingMarkAtOnce) {
  PlaybackBuffer buffer;
  std::vector<std::string> marks;
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(100))));
  buffer.PushMark("a");
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(100))));
  buffer.PushMark("b");
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(100))));

  auto cleared = buffer.Clear(kPlayStart + milliseconds(50), nullptr);
  EXPECT_THAT(cleared.marks, ElementsAre("a", "b"));
  EXPECT_EQ(cleared.dropped_bytes, 250U * 8);
  EXPECT_FALSE(buffer.playing());
  EXPECT_EQ(buffer.played_bytes(), 50U * 8);
  EXPECT_EQ(buffer.pending_marks(), 0U);
  // Later audio plays from when it arrives, not after the dropped audio.
  ASSERT_TRUE(buffer.PushAudio(kPlayStart + milliseconds(60), Audio(milliseconds(20))));
  EXPECT_EQ(buffer.PlayingUntil(), kPlayStart + milliseconds(80));
}

TEST(PlaybackBufferTest, ClearReportsMarksAlreadyReachedFirst) {
  PlaybackBuffer buffer;
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(20))));
  buffer.PushMark("played");
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(100))));
  buffer.PushMark("pending");
  auto cleared = buffer.Clear(kPlayStart + milliseconds(40), nullptr);
  EXPECT_THAT(cleared.marks, ElementsAre("played", "pending"));
}

TEST(PlaybackBufferTest, RefusesMoreThanTenMinutes) {
  PlaybackBuffer buffer;
  ASSERT_TRUE(buffer.PushAudio(kPlayStart, Audio(milliseconds(600'000))));
  EXPECT_FALSE(buffer.PushAudio(kPlayStart, Audio(milliseconds(20))));
  EXPECT_EQ(buffer.buffered_bytes(), PlaybackBuffer::kMaxBufferedBytes);
}

}  // namespace
}  // namespace tempo::caller
