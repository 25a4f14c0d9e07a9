#pragma once

#include "tempo/net/router.hpp"

#include <chrono>

namespace tempo::cli {

/// GET /health (liveness: status, version, uptime) and GET /metrics (Prometheus text of the
/// global registry). Also registers the process metrics (start time, resident memory).
void AddOpsRoutes(net::Router& router, std::chrono::steady_clock::time_point started);

}  // namespace tempo::cli
