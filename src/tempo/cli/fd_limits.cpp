#include "tempo/cli/fd_limits.hpp"

#include <fstream>
#include <sys/resource.h>

namespace tempo::cli {

FileLimits RaiseFileLimit() {
  FileLimits out;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return out;
  out.before = out.soft = limit.rlim_cur;
  out.hard = limit.rlim_max;
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) {
    // Linux refuses a soft limit above fs.nr_open.
    std::ifstream nr_open("/proc/sys/fs/nr_open");
    uint64_t value = 0;
    target = (nr_open >> value) && value > 0 ? value : 1'048'576;
    out.hard = target;
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < target) {
    rlimit raised = limit;
    raised.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) out.soft = target;
  }
  return out;
}

}  // namespace tempo::cli
