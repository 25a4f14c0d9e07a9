// Feeds untrusted request parts (query strings, cookies, Range, If-Match and Content-Type
// headers, time filters, listing cursors, integers) to the control plane's sans-I/O parsers
// and checks their invariants. JSON bodies have their own target (api_body_fuzz.cpp).
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
  if (auto n = ParseInt(text)) {
    if (*n < 0) std::abort();
    (void)FormatDay(*n);
  }
  (void)IsJsonMediaType(text);
  if (auto cursor = DecodeCursor(text)) {
    // A cursor we would have written reads back the same.
    auto again = DecodeCursor(EncodeCursor(cursor->first, cursor->second));
    if (!again || *again != *cursor) std::abort();
  }
  return 0;
}
