#include "tempo/caller/latency.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace tempo::caller {

int LatencyHistogram::BucketOf(uint64_t value) {
  if (value < kLinear) return static_cast<int>(value);
  // value has bit_width w >= 8; keep its top 7 bits: 64..127 -> sub-bucket 0..63.
  const int shift = std::bit_width(value) - 7;
  const auto top = static_cast<int>(value >> shift);
  return kLinear + (shift - 1) * kSubBuckets + (top - kSubBuckets);
}

int64_t LatencyHistogram::UpperEdge(int bucket) {
  if (bucket < kLinear) return bucket;
  const int shift = (bucket - kLinear) / kSubBuckets + 1;
  const int top = (bucket - kLinear) % kSubBuckets + kSubBuckets;
  return ((static_cast<int64_t>(top) + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t micros) {
  const uint64_t value = micros < 0 ? 0 : static_cast<uint64_t>(micros);
  ++buckets_[static_cast<std::size_t>(BucketOf(value))];
  ++count_;
  max_ = std::max(max_, static_cast<int64_t>(value));
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * count_)));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets_[static_cast<std::size_t>(i)];
    if (seen >= rank) return std::min(UpperEdge(i), max_);
  }
  return max_;
}

Clock::Steady::duration BurstLatencyTracker::OnFrame(TimePoint arrival, std::size_t bytes) {
  if (!burst_start_ || arrival - last_arrival_ > burst_gap_) {
    burst_start_ = arrival;
    bytes_in_burst_ = 0;
    ++bursts_;
  }
  last_arrival_ = arrival;
  const TimePoint ideal =
      *burst_start_ + std::chrono::microseconds(125) * static_cast<int64_t>(bytes_in_burst_);
  bytes_in_burst_ += bytes;
  return arrival > ideal ? arrival - ideal : Clock::Steady::duration::zero();
}

}  // namespace tempo::caller
