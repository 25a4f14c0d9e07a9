#include "tempo/engine/local/work_pool.hpp"

#include "tempo/base/log.hpp"

#include <string>

namespace tempo::engine::local {

WorkPool::WorkPool(std::size_t threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkPool::~WorkPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkPool::Submit(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void WorkPool::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping and drained
      job = std::move(jobs_.front());
      jobs_.pop_front();
      ++active_;
    }
    try {
      job();
    } catch (const std::exception& e) {
      // Jobs come through SerialQueue, which handles its own; this is the last line of
      // defence that keeps a worker thread (and the process) alive.
      TEMPO_LOG_LIMITED(engine, error, "local engine worker job threw: {}", e.what());
    } catch (...) {
      TEMPO_LOG_LIMITED(engine, error, "local engine worker job threw");
    }
    {
      std::lock_guard lock(mu_);
      --active_;
      if (active_ == 0 && jobs_.empty()) idle_cv_.notify_all();
    }
  }
}

void WorkPool::WaitIdle() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return active_ == 0 && jobs_.empty(); });
}

void SerialQueue::Post(std::function<void()> fn) {
  bool start = false;
  {
    std::lock_guard lock(mu_);
    if (failed_) return;
    jobs_.push_back(std::move(fn));
    start = !running_;
    running_ = true;
  }
  if (start) pool_.Submit([self = shared_from_this()] { self->Drain(); });
}

std::size_t SerialQueue::pending() const {
  std::lock_guard lock(mu_);
  return jobs_.size() + (running_ ? 1 : 0);
}

void SerialQueue::Drain() {
  // Runs a bounded batch, then yields the thread so one busy call cannot starve the others.
  for (int n = 0; n < 16; ++n) {
    std::function<void()> job;
    {
      std::lock_guard lock(mu_);
      if (jobs_.empty()) {
        running_ = false;
        return;
      }
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::string what;
    try {
      job();
      continue;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "unknown exception";
    }
    {
      std::lock_guard lock(mu_);
      failed_ = true;
      jobs_.clear();
      running_ = false;
    }
    if (on_exception_) on_exception_(what);
    return;
  }
  pool_.Submit([self = shared_from_this()] { self->Drain(); });
}

}  // namespace tempo::engine::local
