// Feeds untrusted request parts (query strings, cookies, Range and If-Match headers, time
// filters, JSON bodies) to the control plane's sans-I/O parsers and checks their invariants.
#include "tempo/control/request_parsing.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo::control;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto query = ParseQuery(text)) {
    for (const auto& [key, value] : *query) {
      if (key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
        std::abort();
      }
    }
  }
  (void)FindCookie(text, "tempo_session");
  for (uint64_t resource : {uint64_t{0}, uint64_t{1}, uint64_t{1000}}) {
    ByteRange range;
    if (ParseRange(text, resource, range) == RangeParse::kRange) {
      // A satisfiable range lies inside the resource.
      if (range.first > range.last || range.last >= resource) std::abort();
    }
  }
  if (auto ms = ParseTimeMs(text); ms && *ms >= 0) (void)FormatTimeMs(*ms);
  (void)ParseIfMatch(text);
  (void)JsonTooDeep(text, 32);
  if (auto decoded = PercentDecode(text)) {
    if (decoded->size() > size) std::abort();
  }
  return 0;
}
