#pragma once

#include <source_location>
#include <string_view>

namespace tempo::detail {
[[noreturn]] void CheckFailed(std::string_view condition, std::string_view message,
                              std::source_location where);
void BugReported(std::string_view message, std::source_location where);
}  // namespace tempo::detail

/// An invariant that must hold in every build; failing it is a bug, so the process aborts.
#define TEMPO_CHECK(cond, msg)                                                        \
  do {                                                                                \
    if (!(cond)) [[unlikely]] {                                                       \
      ::tempo::detail::CheckFailed(#cond, (msg), std::source_location::current());    \
    }                                                                                 \
  } while (0)

/// Something that "cannot happen" did. Debug builds abort; release builds log at error,
/// count tempo_bugs_total and carry on (Envoy's ENVOY_BUG policy).
#define TEMPO_BUG(msg) ::tempo::detail::BugReported((msg), std::source_location::current())
