#pragma once

// Sans-I/O helpers that read parts of untrusted API requests (fuzzed by api_request_fuzz).

#include "tempo/base/result.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tempo::control {

/// RFC 3986 percent-decoding ('+' stays '+'). Errors on a malformed escape or a NUL byte.
Result<std::string> PercentDecode(std::string_view text);

/// Parses "a=1&b=x%20y" (later duplicates win). Errors on a malformed escape.
Result<std::map<std::string, std::string>> ParseQuery(std::string_view query);

/// The value of cookie `name` in a Cookie header ("a=b; c=d"), if present.
std::optional<std::string> FindCookie(std::string_view cookie_header, std::string_view name);

/// A satisfiable byte range [first, last] of a resource of `size` bytes.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
};
enum class RangeParse { kNone, kRange, kUnsatisfiable };
/// Parses a Range header ("bytes=0-99", "bytes=100-", "bytes=-500") against a resource of
/// `size` bytes. kNone: header absent, malformed or multi-range (serve the whole resource,
/// as RFC 9110 allows); kUnsatisfiable: answer 416.
RangeParse ParseRange(std::string_view header, uint64_t size, ByteRange& out);

/// True when the JSON text nests arrays/objects deeper than `max_depth` (checked before
/// parsing so that hostile nesting cannot exhaust the stack).
bool JsonTooDeep(std::string_view text, int max_depth);

/// Parses a time filter: milliseconds since the epoch ("1732433462114"), a date
/// ("2026-11-24", midnight UTC) or an ISO-8601 UTC time ("2026-11-24T07:31:02Z", optional
/// ".mmm"). Errors: kInvalidArgument.
Result<int64_t> ParseTimeMs(std::string_view text);
/// "2026-11-24T07:31:02.114Z".
std::string FormatTimeMs(int64_t ms);
/// "2026-11-24" for the UTC day that contains `ms`.
std::string FormatDay(int64_t ms);

/// A strictly parsed non-negative decimal integer (no sign, no spaces, fits in int64).
std::optional<int64_t> ParseInt(std::string_view text);

/// The version in an If-Match header: "\"3\"", "W/\"3\"" or "3". nullopt when malformed.
std::optional<int64_t> ParseIfMatch(std::string_view header);

/// True for a JSON media type in a Content-Type header: application/json or
/// application/<x>+json, any case, parameters (";charset=...") ignored.
bool IsJsonMediaType(std::string_view header);

/// The opaque `cursor` of a paginated listing: the sort key (ms) and id of the last item.
std::string EncodeCursor(int64_t ms, std::string_view id);
/// Reads back what EncodeCursor wrote; nullopt for anything else (it arrives in a query).
std::optional<std::pair<int64_t, std::string>> DecodeCursor(std::string_view cursor);

}  // namespace tempo::control
