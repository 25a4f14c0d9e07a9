#pragma once

#include <string_view>

namespace tempo::detail {
[[noreturn]] void CheckFailed(std::string_view condition, std::string_view message,
                              const char* file, int line);
void BugReported(std::string_view message, const char* file, int line);
}  // namespace tempo::detail

// __FILE__/__LINE__ rather than std::source_location: clang 14 with libstdc++ 12 (the fuzz
// build) does not provide the latter.

/// An invariant that must hold in every build; failing it is a bug, so the process aborts.
#define TEMPO_CHECK(cond, msg)                                        \
  do {                                                                \
    if (!(cond)) [[unlikely]] {                                       \
      ::tempo::detail::CheckFailed(#cond, (msg), __FILE__, __LINE__); \
    }                                                                 \
  } while (0)

/// Something that "cannot happen" did. Debug builds abort; release builds log at error,
/// count tempo_bugs_total and carry on (Envoy's ENVOY_BUG policy).
#define TEMPO_BUG(msg) ::tempo::detail::BugReported((msg), __FILE__, __LINE__)
