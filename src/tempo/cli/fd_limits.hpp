#pragma once

// Open file descriptors: each call holds a few (its media stream's socket and its
// recording), so the process's limit bounds the calls one machine takes. Debian's
// default soft limit is 1,024 while the hard limit is usually far higher: like Go's runtime,
// the server raises its soft limit to the hard one at start-up.

#include <cstdint>

namespace tempo::cli {

struct FileLimits {
  uint64_t before = 0;  ///< the soft limit found
  uint64_t soft = 0;    ///< the soft limit now
  uint64_t hard = 0;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit (to the kernel's nr_open when the hard
/// limit is unlimited). Never lowers it.
FileLimits RaiseFileLimit();

/// Descriptors a call holds: the media stream's socket and the recording (its write-ahead
/// file is opened only for each append, on the blocking pool, and never held).
inline constexpr uint64_t kDescriptorsPerCall = 2;
/// Kept apart from calls: the process's own, the database, logs, files the blocking pool opens,
/// the HTTP client pools, and connections that are not calls (webhooks, the API, health checks).
inline constexpr uint64_t kReservedDescriptors = 128;

/// How many concurrent calls a limit of `soft` descriptors leaves room for.
inline uint64_t CallsThatFit(uint64_t soft) {
  return soft > kReservedDescriptors ? (soft - kReservedDescriptors) / kDescriptorsPerCall : 0;
}

/// Connections the server looks at past its cap (whole requests served, a slowloris closed at
/// the door) while the slow ones it chose to close are closing.
inline constexpr uint64_t kShedReserve = 32;
/// Of the reserved descriptors, those the connection cap leaves: the shed reserve, and 64 for
/// the process's own (logs, epoll, the database), files the blocking pool opens and outgoing
/// HTTP clients.
inline constexpr uint64_t kNonConnectionDescriptors = kShedReserve + 64;

/// The connection cap a limit of `soft` descriptors leaves room for once every call that fits
/// has its recording open: the calls' media streams, plus the rest of the reserve for
/// webhooks, the API, health checks and metrics. Never 0 (which would mean no cap).
inline uint64_t ConnectionsThatFit(uint64_t soft) {
  const uint64_t others =
      CallsThatFit(soft) * (kDescriptorsPerCall - 1) + kNonConnectionDescriptors;
  return soft > others + 1 ? soft - others : 1;
}

}  // namespace tempo::cli
