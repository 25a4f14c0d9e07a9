#pragma once

#include <chrono>
#include <functional>
#include <memory>

namespace tempo {

/// A one-shot timer bound to an Executor; its callback runs on that executor.
/// Not thread-safe: use it from its executor only.
class Timer {
 public:
  virtual ~Timer() = default;
  /// (Re)arms the timer; a pending wait is cancelled first (its callback gets cancelled=true).
  virtual void ExpireAt(std::chrono::steady_clock::time_point when,
                        std::function<void(bool cancelled)> callback) = 0;
  virtual void Cancel() = 0;
};

/// A serial executor: posted functions never run concurrently with each other. Every call
/// (WebSocket + engine session) lives on one. Post() is thread-safe; the timers it makes fire
/// on it. net/ implements it over an Asio strand; engines and calls only see this interface,
/// so they do not depend on the network module.
class Executor {
 public:
  virtual ~Executor() = default;
  virtual void Post(std::function<void()> fn) = 0;
  [[nodiscard]] virtual std::unique_ptr<Timer> MakeTimer() = 0;
};

}  // namespace tempo
