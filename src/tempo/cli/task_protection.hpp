#pragma once

// `tempovoice agent` on ECS: a task with calls must not be stopped by a deployment or a
// scale-in. Fargate's stop timeout is at most 120 s and calls are longer, so the task turns on
// ECS task scale-in protection while it has calls (ECS then holds back both) and turns it off
// within seconds of its last call ending. It also reports its active calls, the metric the
// agent's scaling policy tracks, as CloudWatch embedded metric format lines on stdout (the
// awslogs driver sends them to CloudWatch, which extracts the metric).
//
// Nothing here can break a call: the endpoint failing only logs (rate-limited) and is tried
// again on the next tick.

#include "tempo/base/result.hpp"
#include "tempo/net/http.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tempo::net {
struct ClientRequest;
}

namespace tempo::cli {

struct TaskProtectionOptions {
  std::string agent_uri;  ///< $ECS_AGENT_URI; empty: no protection (not on ECS)
  std::string agent_id;   ///< the metric's AgentId dimension
  /// Protection asked for while calls are active: a little past the agent's longest call, so
  /// a task that hangs loses it by itself. Renewed at half-life while calls go on.
  std::chrono::minutes expiry{35};
  std::chrono::milliseconds tick{500};
  /// Idle this long before protection goes off (a next call often follows at once).
  std::chrono::milliseconds release_after{1500};
  /// Embedded-metric lines every this long (0: none).
  std::chrono::seconds metric_every{60};
  std::function<size_t()> active_calls;
  /// Tests: the network and the metric output.
  std::function<Result<net::Response>(net::ClientRequest)> fetch;
  std::function<void(const std::string&)> emit;
};

class TaskProtection {
 public:
  explicit TaskProtection(TaskProtectionOptions options);
  /// Stops the worker after a last pass (protection off once no call is left).
  ~TaskProtection();
  TaskProtection(const TaskProtection&) = delete;
  TaskProtection& operator=(const TaskProtection&) = delete;

 private:
  void Loop();
  // One pass: protect, renew or release; emit the metric when due.
  void Pass(bool last);
  Result<void> SetProtection(bool enabled);

  TaskProtectionOptions options_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool protected_ = false;
  std::chrono::steady_clock::time_point protected_until_{};
  std::chrono::steady_clock::time_point idle_since_{};
  std::chrono::steady_clock::time_point next_metric_{};
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds retry_delay_{1000};
  std::thread worker_;
};

}  // namespace tempo::cli
