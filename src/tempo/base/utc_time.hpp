#pragma once

// UTC times as text: the ISO-8601 forms APIs exchange ("2026-11-24T07:31:02Z"). Pure,
// locale independent, thread-safe.

#include "tempo/base/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace tempo {

/// Milliseconds since the epoch of a date ("2026-11-24", midnight UTC) or a UTC time
/// ("2026-11-24T07:31:02Z"; 'T' or a space; optional fraction of 1 to 9 digits, kept to the
/// millisecond; "Z" or "+00:00"). Errors: kInvalidArgument saying which form was expected.
Result<int64_t> ParseUtcTimeMs(std::string_view text);
/// "2026-11-24T07:31:02.114Z".
std::string FormatUtcTimeMs(int64_t ms);
/// "2026-11-24" for the UTC day that contains `ms`.
std::string FormatUtcDay(int64_t ms);

}  // namespace tempo
