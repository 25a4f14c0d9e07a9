#include "tempo/cli/ops_routes.hpp"

#include "tempo/base/metrics.hpp"

#include <fmt/format.h>

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

void AddOpsRoutes(net::Router& router, std::chrono::steady_clock::time_point started) {
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

  router.Add(net::Method::kGet, "/health", [started](const net::Request&) {
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
