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
/// Kept apart from calls: listeners, the database, logs, the HTTP client pools, health checks.
inline constexpr uint64_t kReservedDescriptors = 64;

/// How many concurrent calls a limit of `soft` descriptors leaves room for.
inline uint64_t CallsThatFit(uint64_t soft) {
  return soft > kReservedDescriptors ? (soft - kReservedDescriptors) / kDescriptorsPerCall : 0;
}

}  // namespace tempo::cli
