#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::metrics {

/// Label pairs, fixed at registration. Never label by call SID or phone number (bounded
/// cardinality, R12).
using Labels = std::vector<std::pair<std::string, std::string>>;

/// Monotonic counter. Lock-free; safe from any thread.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  [[nodiscard]] uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// A value that goes up and down. Lock-free; safe from any thread.
class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double v) { value_.fetch_add(v, std::memory_order_relaxed); }
  [[nodiscard]] double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

/// Fixed-bucket histogram (upper bounds, ascending; +Inf is implicit). Lock-free.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);
  [[nodiscard]] const std::vector<double>& bounds() const { return bounds_; }
  /// Cumulative count for bucket i (i == bounds().size() is +Inf).
  [[nodiscard]] uint64_t CumulativeCount(size_t i) const;
  [[nodiscard]] uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  [[nodiscard]] double Sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

/// Buckets for latencies in seconds (Prometheus base unit), 0.1 ms .. 10 s. Metric names
/// carry the unit in full (`_seconds`); promtool rejects abbreviations such as `_ms`.
std::vector<double> LatencyBucketsSeconds();

/// Holds every metric of the process and renders them as Prometheus text (format 0.0.4).
/// Registration is idempotent: the same name and labels return the same object, so modules
/// may register from constructors. Returned references live as long as the registry.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  Counter& AddCounter(std::string_view name, std::string_view help, const Labels& labels = {});
  Gauge& AddGauge(std::string_view name, std::string_view help, const Labels& labels = {});
  Histogram& AddHistogram(std::string_view name, std::string_view help, std::vector<double> bounds,
                          const Labels& labels = {});
  /// A gauge whose value is computed at scrape time (e.g. uptime, resident memory).
  void AddCallbackGauge(std::string_view name, std::string_view help, std::function<double()> read,
                        const Labels& labels = {});

  [[nodiscard]] std::string RenderPrometheus() const;

  /// The process-wide registry used by /metrics.
  static Registry& Global();

 private:
  struct Family;
  struct Series;
  Series& FindOrAdd(std::string_view name, std::string_view help, int type, const Labels& labels,
                    const std::function<void(Series&)>& make);

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace tempo::metrics
