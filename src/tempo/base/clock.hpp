#pragma once

#include <atomic>
#include <chrono>

namespace tempo {

/// Time is injected so that timers, signatures and retries are deterministic in tests.
/// Thread-safe: Now()/WallNow() may be called from any thread.
class Clock {
 public:
  using Steady = std::chrono::steady_clock;
  using Wall = std::chrono::system_clock;
  virtual ~Clock() = default;
  /// Monotonic time, for durations and deadlines.
  [[nodiscard]] virtual Steady::time_point Now() const = 0;
  /// Calendar time, for timestamps that leave the process (logs, signatures, files).
  [[nodiscard]] virtual Wall::time_point WallNow() const = 0;
};

/// The real clocks.
class SystemClock final : public Clock {
 public:
  [[nodiscard]] Steady::time_point Now() const override { return Steady::now(); }
  [[nodiscard]] Wall::time_point WallNow() const override { return Wall::now(); }
  /// A process-wide instance (stateless).
  static SystemClock& Instance();
};

/// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(Wall::time_point wall_start = Wall::time_point{}) : wall_start_(wall_start) {}
  [[nodiscard]] Steady::time_point Now() const override {
    return Steady::time_point{} + std::chrono::nanoseconds(elapsed_ns_.load());
  }
  [[nodiscard]] Wall::time_point WallNow() const override {
    return wall_start_ +
           std::chrono::duration_cast<Wall::duration>(std::chrono::nanoseconds(elapsed_ns_.load()));
  }
  void Advance(std::chrono::nanoseconds d) { elapsed_ns_ += d.count(); }

 private:
  Wall::time_point wall_start_;
  std::atomic<long long> elapsed_ns_{0};
};

}  // namespace tempo
