#include "tempo/base/check.hpp"

#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"

#include <cstdlib>

namespace tempo::detail {

void CheckFailed(std::string_view condition, std::string_view message, const char* file, int line) {
  TEMPO_LOG(base, critical, "check failed: {} ({}) at {}:{}", condition, message, file, line);
  log::Get(log::Component::k_base).flush();
  std::abort();
}

void BugReported(std::string_view message, const char* file, int line) {
  static auto& bugs = metrics::Registry::Global().AddCounter(
      "tempo_bugs_total", "Internal invariant violations survived in release builds");
  bugs.Inc();
  TEMPO_LOG(base, error, "bug: {} at {}:{}", message, file, line);
#ifndef NDEBUG
  log::Get(log::Component::k_base).flush();
  std::abort();
#endif
}

}  // namespace tempo::detail
