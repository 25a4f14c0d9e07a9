#include "tempo/caller/latency.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace tempo::caller {
namespace {

using std::chrono::milliseconds;
using TimePoint = BurstLatencyTracker::TimePoint;
const TimePoint kStart = TimePoint{} + std::chrono::hours(1);

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0U);
  EXPECT_EQ(h.Percentile(0.5), 0);
  EXPECT_EQ(h.max(), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 50);
  EXPECT_EQ(h.Percentile(0.9), 90);
  EXPECT_EQ(h.Percentile(0.99), 99);
  EXPECT_EQ(h.Percentile(1.0), 100);
  EXPECT_EQ(h.max(), 100);
}

TEST(LatencyHistogramTest, LargeValuesAreWithinTwoPercent) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> dist(0, 5'000'000);
  std::vector<int64_t> values(20000);
  LatencyHistogram h;
  for (auto& v : values) {
    v = dist(rng);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99}) {
    const auto exact = static_cast<double>(values[static_cast<std::size_t>(q * values.size()) - 1]);
    EXPECT_NEAR(static_cast<double>(h.Percentile(q)), exact, exact * 0.02) << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_LE(h.Percentile(1.0), h.max());
}

TEST(LatencyHistogramTest, NegativeValuesCountAsZeroAndMergeAdds) {
  LatencyHistogram a;
  LatencyHistogram b;
  a.Record(-5);
  b.Record(1000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 2U);
  EXPECT_EQ(a.Percentile(0.5), 0);
  EXPECT_EQ(a.max(), 1000);
}

TEST(BurstLatencyTrackerTest, OnTimeFramesAddNothing) {
  BurstLatencyTracker tracker;
  for (int k = 0; k < 50; ++k) {
    EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(20 * k), 160), milliseconds(0)) << k;
  }
  EXPECT_EQ(tracker.bursts(), 1U);
}

TEST(BurstLatencyTrackerTest, LateFrameAddsItsDelay) {
  BurstLatencyTracker tracker;
  tracker.OnFrame(kStart, 160);
  tracker.OnFrame(kStart + milliseconds(20), 160);
  EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(75), 160), milliseconds(35));
  // Frames sent ahead of real time are not negative latency.
  EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(76), 160), milliseconds(16));
}

TEST(BurstLatencyTrackerTest, AGapOver200MsStartsANewBurst) {
  BurstLatencyTracker tracker;
  tracker.OnFrame(kStart, 160);
  tracker.OnFrame(kStart + milliseconds(20), 160);
  // 300 ms later: a new utterance, measured from its own first frame.
  EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(320), 160), milliseconds(0));
  EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(345), 160), milliseconds(5));
  EXPECT_EQ(tracker.bursts(), 2U);
  // A 150 ms gap stays in the burst and shows as latency.
  EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(495), 160), milliseconds(135));
  EXPECT_EQ(tracker.bursts(), 2U);
}

TEST(BurstLatencyTrackerTest, IdealTimeFollowsBytesNotMessages) {
  BurstLatencyTracker tracker;
  tracker.OnFrame(kStart, 800);  // 100 ms of audio in one message
  EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(100), 160), milliseconds(0));
  EXPECT_EQ(tracker.OnFrame(kStart + milliseconds(130), 160), milliseconds(10));
}

}  // namespace
}  // namespace tempo::caller
