#pragma once

#include "tempo/base/clock.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace tempo::caller {

/// A fixed-size log-linear histogram of non-negative microsecond values (exact below 128 µs,
/// then 64 sub-buckets per power of two: under 1.6 % error). About 30 KB; Record() is O(1) and
/// never allocates, so one histogram can take every frame of a long load test.
/// Not thread-safe.
class LatencyHistogram {
 public:
  void Record(int64_t micros);
  void Merge(const LatencyHistogram& other);

  [[nodiscard]] uint64_t count() const { return count_; }
  [[nodiscard]] int64_t max() const { return max_; }
  /// The value at quantile `q` in [0, 1] (a bucket's upper edge, never above max()); 0 when
  /// empty.
  [[nodiscard]] int64_t Percentile(double q) const;

 private:
  static constexpr int kLinear = 128;
  static constexpr int kSubBuckets = 64;
  static constexpr int kBuckets = kLinear + 57 * kSubBuckets;
  static int BucketOf(uint64_t value);
  static int64_t UpperEdge(int bucket);

  std::array<uint64_t, kBuckets> buckets_{};
  uint64_t count_ = 0;
  int64_t max_ = 0;
};

/// Added latency of the agent's audio as it arrives, per call. Frames arrive in bursts (runs
/// without a gap over `burst_gap`); within a burst, the byte at offset b ideally arrives at
/// (arrival of the burst's first frame + b * 125 µs), i.e. frame k of 160 bytes at first +
/// k * 20 ms. A frame's added latency is its arrival minus that ideal, floored at zero (a
/// server may send ahead of real time). Not thread-safe.
class BurstLatencyTracker {
 public:
  using TimePoint = Clock::Steady::time_point;
  static constexpr std::chrono::milliseconds kDefaultBurstGap{200};

  explicit BurstLatencyTracker(Clock::Steady::duration burst_gap = kDefaultBurstGap)
      : burst_gap_(burst_gap) {}

  /// Records a media frame of `bytes` μ-law bytes that arrived at `arrival`; returns its added
  /// latency.
  Clock::Steady::duration OnFrame(TimePoint arrival, std::size_t bytes);

  [[nodiscard]] uint64_t bursts() const { return bursts_; }

 private:
  Clock::Steady::duration burst_gap_;
  std::optional<TimePoint> burst_start_;
  TimePoint last_arrival_{};
  uint64_t bytes_in_burst_ = 0;
  uint64_t bursts_ = 0;
};

/// A frame is late when its added latency exceeds one frame (20 ms).
inline constexpr std::chrono::milliseconds kLateFrameThreshold{20};

}  // namespace tempo::caller
