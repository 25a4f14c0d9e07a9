#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <string_view>

namespace tempo::log {

/// One logger per module, from this fixed list (R11).
// clang-format off
#define TEMPO_LOG_COMPONENTS(X) \
  X(base) X(net) X(cli) X(audio) X(twilio) X(aws) X(storage) X(db) X(engine) X(runtime) \
  X(deploy) X(control) X(caller)
// clang-format on

enum class Component : uint8_t {
#define TEMPO_LOG_ENUM_(name) k_##name,
  TEMPO_LOG_COMPONENTS(TEMPO_LOG_ENUM_)
#undef TEMPO_LOG_ENUM_
};

enum class Format { kAuto, kText, kJson };

struct Options {
  /// kAuto: human-readable when stderr is a terminal, JSON lines otherwise.
  Format format = Format::kAuto;
  spdlog::level::level_enum level = spdlog::level::info;
};

/// Installs the sinks for every component logger. Safe to call again (re-initialises).
/// Until Init is called, loggers write human-readable text to stderr.
void Init(const Options& options);

/// The logger of a component. Thread-safe.
spdlog::logger& Get(Component component);

/// Level names usable in TEMPO_LOG (spdlog spells "error" as "err").
namespace levels {
inline constexpr auto trace = spdlog::level::trace;
inline constexpr auto debug = spdlog::level::debug;
inline constexpr auto info = spdlog::level::info;
inline constexpr auto warn = spdlog::level::warn;
inline constexpr auto error = spdlog::level::err;
inline constexpr auto critical = spdlog::level::critical;
}  // namespace levels

/// Parses "trace|debug|info|warn|error|critical|off".
bool ParseLevel(std::string_view text, spdlog::level::level_enum& out);

/// Hot-path limiter: lets through the 1st, 2nd, 4th, 8th, ... occurrence at one call site,
/// so a flood of bad frames costs a handful of log lines.
inline bool ShouldLogOccurrence(std::atomic<uint64_t>& counter, uint64_t& occurrence) {
  occurrence = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  return (occurrence & (occurrence - 1)) == 0;
}

}  // namespace tempo::log

/// TEMPO_LOG(net, info, "listening on {}", port);
#define TEMPO_LOG(component, lvl, ...)                                               \
  do {                                                                               \
    auto& tempo_logger_ = ::tempo::log::Get(::tempo::log::Component::k_##component); \
    if (tempo_logger_.should_log(::tempo::log::levels::lvl)) {                       \
      tempo_logger_.log(::tempo::log::levels::lvl, __VA_ARGS__);                     \
    }                                                                                \
  } while (0)

/// Like TEMPO_LOG, rate-limited per call site (powers of two), for errors caused by peers.
#define TEMPO_LOG_LIMITED(component, lvl, fmtstr, ...)                                \
  do {                                                                                \
    static std::atomic<uint64_t> tempo_log_count_{0};                                 \
    uint64_t tempo_log_n_ = 0;                                                        \
    if (::tempo::log::ShouldLogOccurrence(tempo_log_count_, tempo_log_n_)) {          \
      TEMPO_LOG(component, lvl, fmtstr " (occurrence {})" __VA_OPT__(, ) __VA_ARGS__, \
                tempo_log_n_);                                                        \
    }                                                                                 \
  } while (0)
