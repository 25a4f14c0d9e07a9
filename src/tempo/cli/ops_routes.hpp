#pragma once

#include "tempo/base/result.hpp"
#include "tempo/net/router.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tempo::cli {

/// What `/health` checks before it says a load balancer may send traffic here. Each check
/// blocks (a query, a write) and runs on the blocking pool; the answer is cached for
/// `cache_for`, so a busy health checker costs one round of checks per period. Thread-safe.
class Readiness {
 public:
  using Check = std::function<Result<void>()>;
  using RunBlocking = std::function<void(std::function<void()>)>;

  explicit Readiness(RunBlocking run_blocking,
                     std::chrono::milliseconds cache_for = std::chrono::milliseconds(2000))
      : run_blocking_(std::move(run_blocking)), cache_for_(cache_for) {}

  /// Adds a named check ("database", "object_store", "engines"). Before serving.
  void Add(std::string name, Check check) {
    checks_.push_back({std::move(name), std::move(check)});
  }
  /// From now on /health answers 503 "draining" (shutdown started: finish calls elsewhere).
  void SetDraining() { draining_ = true; }

  /// What /health reports of the calls: read at each request, never cached. Information only:
  /// a full server stays ready (new calls hear busy at the webhook), since a failing health
  /// check would have the load balancer drain it, or ECS replace it, with its calls on it.
  struct Capacity {
    uint64_t max_calls = 0;  ///< 0: no limit
    uint64_t calls = 0;
  };
  void SetCapacity(std::function<Capacity()> read) { capacity_ = std::move(read); }
  [[nodiscard]] std::optional<Capacity> ReadCapacity() const {
    if (!capacity_) return std::nullopt;
    return capacity_();
  }

  struct Report {
    bool ready = false;
    std::string status;       ///< "ok", "unavailable" or "draining"
    std::string checks_json;  ///< {"database":"ok","object_store":"<what failed>",...}
  };
  /// Calls `done` with the report, from the blocking pool or at once when cached.
  void Probe(std::function<void(const Report&)> done);

 private:
  Report RunChecks();

  struct Named {
    std::string name;
    Check check;
  };
  RunBlocking run_blocking_;
  std::chrono::milliseconds cache_for_;
  std::vector<Named> checks_;
  std::atomic<bool> draining_{false};
  std::function<Capacity()> capacity_;
  std::mutex mutex_;
  std::optional<std::pair<std::chrono::steady_clock::time_point, Report>> cached_;
};

/// GET /health (readiness: the checks of `readiness`, 200 or 503), GET /health/live (liveness:
/// the process answers; status, version, uptime) and GET /metrics (Prometheus text of the
/// global registry). Also registers the process metrics (start time, resident memory).
/// `readiness` must outlive the router.
void AddOpsRoutes(net::Router& router, std::chrono::steady_clock::time_point started,
                  Readiness& readiness);

}  // namespace tempo::cli
