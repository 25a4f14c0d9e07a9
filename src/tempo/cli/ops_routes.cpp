#include "tempo/cli/ops_routes.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/metrics.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <unistd.h>

namespace tempo::cli {
namespace {

double ResidentBytes() {
  // statm's second field is resident pages; cheap enough for a scrape.
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) : 0;
}

}  // namespace

void Readiness::Probe(std::function<void(const Report&)> done) {
  {
    std::lock_guard lock(mutex_);
    if (cached_ && std::chrono::steady_clock::now() - cached_->first < cache_for_ && !draining_) {
      done(cached_->second);
      return;
    }
  }
  run_blocking_([this, done = std::move(done)] {
    Report report = RunChecks();
    {
      std::lock_guard lock(mutex_);
      cached_.emplace(std::chrono::steady_clock::now(), report);
    }
    done(report);
  });
}

Readiness::Report Readiness::RunChecks() {
  nlohmann::json checks = nlohmann::json::object();
  bool ready = true;
  for (const auto& [name, check] : checks_) {
    Result<void> ok = Internal("check threw");
    try {
      ok = check();
    } catch (const std::exception& e) {
      ok = Internal(e.what());
    }
    if (ok) {
      checks[name] = "ok";
    } else {
      ready = false;
      checks[name] = ok.error().message;
    }
  }
  const bool draining = draining_;
  return {ready && !draining,
          draining ? "draining"
          : ready  ? "ok"
                   : "unavailable",
          DumpJson(checks)};
}

void AddOpsRoutes(net::Router& router, std::chrono::steady_clock::time_point started,
                  Readiness& readiness) {
  auto& registry = metrics::Registry::Global();
  const double start_wall =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  registry.AddCallbackGauge("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds",
                            [start_wall] { return start_wall; });
  registry.AddCallbackGauge("process_resident_memory_bytes", "Resident memory size in bytes",
                            [] { return ResidentBytes(); });
  registry
      .AddGauge("tempo_build_info", "TempoVoice build information; the value is 1",
                {{"version", TEMPO_VERSION}})
      .Set(1);

  // Readiness: what a load balancer (ALB target group, ECS) asks before sending traffic.
  router.AddAsync(
      net::Method::kGet, "/health", [&readiness, started](net::Request, net::Responder responder) {
        auto out = std::make_shared<net::Responder>(std::move(responder));
        readiness.Probe([out, started, &readiness](const Readiness::Report& report) {
          const double uptime =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
          std::string capacity;
          if (auto c = readiness.ReadCapacity()) {
            const uint64_t headroom =
                c->max_calls == 0 ? 0 : (c->calls >= c->max_calls ? 0 : c->max_calls - c->calls);
            capacity = fmt::format(R"(,"capacity":{{"max_calls":{},"calls":{},"headroom":{}}})",
                                   c->max_calls, c->calls, headroom);
          }
          out->Send(net::Response::Json(
              report.ready ? 200 : 503,
              fmt::format(
                  R"({{"status":"{}","version":"{}","uptime_seconds":{:.3f},"checks":{}{}}})",
                  report.status, TEMPO_VERSION, uptime, report.checks_json, capacity)));
        });
      });
  // Liveness: the process and its event loop answer; restart it if not.
  router.Add(net::Method::kGet, "/health/live", [started](const net::Request&) {
    const double uptime =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return net::Response::Json(
        200, fmt::format(R"({{"status":"ok","version":"{}","uptime_seconds":{:.3f}}})",
                         TEMPO_VERSION, uptime));
  });
  router.Add(net::Method::kGet, "/metrics", [](const net::Request&) {
    net::Response r;
    r.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = metrics::Registry::Global().RenderPrometheus();
    return r;
  });
}

}  // namespace tempo::cli
