#include "tempo/base/failpoint.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tempo::failpoint {
namespace {

struct Table {
  std::string spec;
  std::vector<std::pair<std::string, std::string>> armed;  // (name, key or "*")

  Table() {
    const char* env = std::getenv("TEMPO_FAILPOINTS");  // NOLINT(concurrency-mt-unsafe): once
    if (env == nullptr) return;
    spec = env;
    std::string_view rest = spec;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      const auto eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0) continue;
      armed.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
    }
  }
};

const Table& Get() {
  static const Table kTable;
  return kTable;
}

}  // namespace

void Hit(std::string_view name, std::string_view key) {
  for (const auto& [n, k] : Get().armed) {
    if (n == name && (k == "*" || k == key)) {
      throw std::runtime_error("failpoint " + std::string(name));
    }
  }
}

std::string_view Armed() {
#ifdef TEMPO_FAILPOINTS
  return Get().spec;
#else
  return {};  // the macros compile to nothing here: an armed variable would do nothing
#endif
}

}  // namespace tempo::failpoint
