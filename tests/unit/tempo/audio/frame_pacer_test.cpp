#include "tempo/audio/frame_pacer.hpp"

#include "tempo/audio/g711.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace tempo::audio {
namespace {

using std::chrono::milliseconds;
using TimePoint = FramePacer::TimePoint;

const TimePoint kStart = TimePoint{} + std::chrono::seconds(100);

TimePoint At(int ms) { return kStart + milliseconds(ms); }

TEST(FramePacerTest, SteadyRunIsDueEvery20Ms) {
  FramePacer pacer(kStart);
  EXPECT_TRUE(pacer.IsDue(kStart));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pacer.IsDue(At(20 * i)));
    pacer.FrameSent(At(20 * i));
    EXPECT_EQ(pacer.NextDue(), At(20 * (i + 1)));
    EXPECT_FALSE(pacer.IsDue(At(20 * (i + 1) - 1)));
  }
  EXPECT_EQ(pacer.frames_sent(), 50u);
  EXPECT_EQ(pacer.late_frames(), 0u);
  EXPECT_EQ(pacer.reanchors(), 1u);
}

TEST(FramePacerTest, CountsFramesLaterThanTolerance) {
  FramePacer pacer(kStart);
  pacer.FrameSent(At(0));
  pacer.FrameSent(At(25));  // due 20: 5 ms late, within tolerance
  EXPECT_EQ(pacer.late_frames(), 0u);
  pacer.FrameSent(At(46));  // due 40: 6 ms late
  EXPECT_EQ(pacer.late_frames(), 1u);
  // Schedule is kept: the next frame is still due at 60, not 66.
  EXPECT_EQ(pacer.NextDue(), At(60));
  pacer.FrameSent(At(60));
  EXPECT_EQ(pacer.late_frames(), 1u);
}

TEST(FramePacerTest, ToleranceIsConfigurable) {
  FramePacer pacer(kStart, {.late_tolerance = milliseconds(1)});
  pacer.FrameSent(At(0));
  pacer.FrameSent(At(22));
  EXPECT_EQ(pacer.late_frames(), 1u);
}

TEST(FramePacerTest, IdleGapReanchorsWithoutBurst) {
  FramePacer pacer(kStart);
  for (int i = 0; i < 5; ++i) pacer.FrameSent(At(20 * i));
  pacer.Idle();
  // Two seconds of silence, then a new utterance.
  pacer.FrameSent(At(2000));
  EXPECT_EQ(pacer.late_frames(), 0u);
  EXPECT_EQ(pacer.reanchors(), 2u);
  EXPECT_EQ(pacer.NextDue(), At(2020));
  EXPECT_FALSE(pacer.IsDue(At(2010)));
}

TEST(FramePacerTest, IdleBeforeDueDoesNotPullScheduleForward) {
  FramePacer pacer(kStart);
  pacer.FrameSent(At(0));
  pacer.FrameSent(At(20));
  pacer.Idle();  // queue empty at 25; the frame sent at 20 still plays until 40
  pacer.FrameSent(At(30));
  EXPECT_EQ(pacer.NextDue(), At(60));
}

TEST(FramePacerTest, StallReanchorsInsteadOfBursting) {
  FramePacer pacer(kStart);
  pacer.FrameSent(At(0));
  pacer.FrameSent(At(1000));  // due at 20; stalled far past max_catch_up
  EXPECT_EQ(pacer.late_frames(), 1u);
  EXPECT_EQ(pacer.NextDue(), At(1020));
  EXPECT_FALSE(pacer.IsDue(At(1010)));
}

TEST(FramePacerTest, ShortDelayIsCaughtUp) {
  FramePacer pacer(kStart);
  pacer.FrameSent(At(0));
  pacer.FrameSent(At(60));  // due 20, 40 ms late but under max_catch_up
  EXPECT_EQ(pacer.late_frames(), 1u);
  EXPECT_EQ(pacer.NextDue(), At(40));  // the backlog goes out at once
  EXPECT_TRUE(pacer.IsDue(At(60)));
}

TEST(FramePacerTest, LeadAllowsSendingAhead) {
  FramePacer pacer(kStart, {.lead = milliseconds(60)});
  int sent_at_start = 0;
  while (pacer.IsDue(At(0))) {
    pacer.FrameSent(At(0));
    ++sent_at_start;
  }
  EXPECT_EQ(sent_at_start, 4);  // frames playing at 0, 20, 40, 60
  EXPECT_EQ(pacer.NextDue(), At(20));
  EXPECT_EQ(pacer.late_frames(), 0u);
}

TEST(FramePacerTest, NothingBeforeStart) {
  FramePacer pacer(kStart);
  pacer.FrameSent(At(-50));  // caller ignored NextDue; the run still begins at start
  EXPECT_EQ(pacer.NextDue(), At(20));
}

// ---------------------------------------------------------------------------------------------

std::vector<uint8_t> Ramp(std::size_t n, uint8_t first = 0) {
  std::vector<uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(first + i);
  return v;
}

TEST(FrameQueueTest, ChunksArbitraryLengthsIntoExactFrames) {
  FrameQueue q;
  const auto audio = Ramp(500);
  q.PushMulaw(std::span(audio).first(7));
  q.PushMulaw(std::span(audio).subspan(7, 300));
  q.PushMulaw(std::span(audio).subspan(307));
  EXPECT_EQ(q.frames_queued(), 3u);  // 480 bytes; 20 wait
  EXPECT_EQ(q.buffered(), milliseconds(62));
  std::vector<uint8_t> out;
  while (auto item = q.Pop()) {
    const auto& frame = std::get<MulawFrame>(*item);
    out.insert(out.end(), frame.begin(), frame.end());
  }
  EXPECT_EQ(out, std::vector<uint8_t>(audio.begin(), audio.begin() + 480));
  EXPECT_FALSE(q.empty());
  q.Flush();
  auto last = q.Pop();
  ASSERT_TRUE(last);
  const auto& frame = std::get<MulawFrame>(*last);
  for (std::size_t i = 0; i < 20; ++i) EXPECT_EQ(frame[i], audio[480 + i]);
  for (std::size_t i = 20; i < kMulawFrameBytes; ++i) EXPECT_EQ(frame[i], 0xFF) << i;
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.Pop());
}

TEST(FrameQueueTest, FlushWithoutPartialAddsNothing) {
  FrameQueue q;
  q.PushMulaw(Ramp(160));
  q.Flush();
  EXPECT_EQ(q.frames_queued(), 1u);
}

TEST(FrameQueueTest, PcmIsEncoded) {
  FrameQueue q;
  std::vector<int16_t> pcm(200);
  for (std::size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<int16_t>(i * 100 - 10000);
  q.PushPcm(pcm);
  q.Flush();
  const auto first = std::get<MulawFrame>(*q.Pop());
  const auto second = std::get<MulawFrame>(*q.Pop());
  for (std::size_t i = 0; i < 160; ++i) EXPECT_EQ(first[i], LinearToMulaw(pcm[i]));
  for (std::size_t i = 0; i < 40; ++i) EXPECT_EQ(second[i], LinearToMulaw(pcm[160 + i]));
  EXPECT_EQ(second[40], kMulawSilence);
}

TEST(FrameQueueTest, MarksFollowTheirAudio) {
  FrameQueue q;
  q.PushMulaw(Ramp(200));
  q.PushMark("utterance-1");
  q.PushMulaw(Ramp(160));
  q.PushMark("utterance-2");
  EXPECT_EQ(q.frames_queued(), 3u);
  std::vector<std::string> order;
  while (auto item = q.Pop()) {
    if (const auto* mark = std::get_if<Mark>(&*item)) {
      order.push_back(mark->name);
    } else {
      order.push_back("frame");
    }
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"frame", "frame", "utterance-1", "frame", "utterance-2"}));
}

TEST(FrameQueueTest, FrontIsFrameDistinguishesMarks) {
  FrameQueue q;
  EXPECT_FALSE(q.FrontIsFrame());
  q.PushMark("m");
  EXPECT_FALSE(q.FrontIsFrame());
  q.Pop();
  q.PushMulaw(Ramp(160));
  EXPECT_TRUE(q.FrontIsFrame());
}

TEST(FrameQueueTest, ClearDropsEverythingAndReports) {
  FrameQueue q;
  q.PushMulaw(Ramp(320));
  q.PushMark("a");
  q.PushMulaw(Ramp(160));
  q.PushMark("b");
  q.PushMulaw(Ramp(80));  // 10 ms partial
  ASSERT_TRUE(q.Pop());   // one frame already sent
  const auto cleared = q.Clear();
  EXPECT_EQ(cleared.dropped_audio, milliseconds(50));
  EXPECT_EQ(cleared.dropped_marks, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.frames_queued(), 0u);
  EXPECT_FALSE(q.Pop());
  // The partial frame is gone too: new audio starts a fresh frame.
  q.PushMulaw(Ramp(160, 9));
  EXPECT_EQ(std::get<MulawFrame>(*q.Pop())[0], 9);
}

}  // namespace
}  // namespace tempo::audio
