#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace tempo::engine::local {

/// A fixed set of worker threads for CPU work that must not run on a call's executor (decoding,
/// synthesis). Work is submitted through SerialQueues; the pool never runs two jobs of one queue
/// at the same time and runs them in submission order.
/// Thread-safe. The destructor finishes queued jobs, then joins the threads.
class WorkPool {
 public:
  explicit WorkPool(std::size_t threads);
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  /// Runs `fn` on some worker thread.
  void Submit(std::function<void()> fn);
  [[nodiscard]] std::size_t threads() const { return threads_.size(); }
  /// Blocks until no job is queued or running (jobs may submit further jobs; those count too).
  void WaitIdle();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::condition_variable idle_cv_;
  std::size_t active_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

/// An ordered, non-overlapping stream of jobs on a WorkPool (a strand). Shared ownership: jobs
/// keep the queue alive until they have run. Thread-safe.
class SerialQueue : public std::enable_shared_from_this<SerialQueue> {
 public:
  /// Called (on the worker) with what a job threw. The queue's later jobs are dropped: they
  /// would run on state the failed job left half-changed. The owner ends its call.
  using ExceptionHandler = std::function<void(std::string_view what)>;

  explicit SerialQueue(WorkPool& pool) : pool_(pool) {}
  /// Set before the first Post.
  void SetExceptionHandler(ExceptionHandler handler) { on_exception_ = std::move(handler); }
  void Post(std::function<void()> fn);
  /// Jobs posted but not yet finished.
  [[nodiscard]] std::size_t pending() const;

 private:
  void Drain();

  WorkPool& pool_;
  ExceptionHandler on_exception_;
  mutable std::mutex mu_;
  std::deque<std::function<void()>> jobs_;
  bool running_ = false;
  bool failed_ = false;
};

}  // namespace tempo::engine::local
