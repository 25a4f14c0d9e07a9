#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace tempo {

/// Exponential backoff with full jitter (the AWS architecture blog's rule): the wait before
/// retry `retry` (1-based) is uniform(0, min(cap, base * 2^(retry-1))), for a uniform
/// `random` in [0, 1). Many clients coming back from the same outage then spread their
/// retries instead of arriving together.
inline std::chrono::milliseconds FullJitterDelay(std::chrono::milliseconds base,
                                                 std::chrono::milliseconds cap, int retry,
                                                 double random) {
  const double ceiling =
      std::min(static_cast<double>(cap.count()),
               static_cast<double>(base.count()) * std::ldexp(1.0, std::max(0, retry - 1)));
  const double r = std::clamp(random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(std::floor(ceiling * r)));
}

}  // namespace tempo
