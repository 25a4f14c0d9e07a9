#include "tempo/base/utc_time.hpp"

#include <fmt/format.h>

#include <ctime>

namespace tempo {
namespace {

bool Digits(std::string_view s, size_t count, int& out) {
  if (s.size() < count) return false;
  out = 0;
  for (size_t i = 0; i < count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<int64_t>(era) * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

Result<int64_t> ParseUtcTimeMs(std::string_view text) {
  int year = 0, month = 0, day = 0;
  if (text.size() < 10 || !Digits(text, 4, year) || text[4] != '-' ||
      !Digits(text.substr(5), 2, month) || text[7] != '-' || !Digits(text.substr(8), 2, day) ||
      month < 1 || month > 12 || day < 1 || day > 31) {
    return InvalidArgument("must be a date (2026-11-24) or a UTC time (2026-11-24T07:31:02Z)");
  }
  int64_t ms =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86'400'000;
  std::string_view rest = text.substr(10);
  if (rest.empty()) return ms;
  int hh = 0, mm = 0, ss = 0;
  if (rest.size() < 9 || (rest[0] != 'T' && rest[0] != ' ') || !Digits(rest.substr(1), 2, hh) ||
      rest[3] != ':' || !Digits(rest.substr(4), 2, mm) || rest[6] != ':' ||
      !Digits(rest.substr(7), 2, ss) || hh > 23 || mm > 59 || ss > 60) {
    return InvalidArgument("must be a UTC time such as 2026-11-24T07:31:02Z");
  }
  rest = rest.substr(9);
  int frac_ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    int scale = 100;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
      frac_ms += (rest[n] - '0') * scale;
      scale /= 10;
      ++n;
    }
    if (n == 1 || n > 10) return InvalidArgument("fractional seconds must have 1 to 9 digits");
    rest = rest.substr(n);
  }
  if (rest != "Z" && rest != "+00:00") {
    return InvalidArgument("times must be UTC (end with Z)");
  }
  return ms + ((hh * 60 + mm) * 60 + ss) * int64_t{1000} + frac_ms;
}

std::string FormatUtcTimeMs(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string FormatUtcDay(int64_t ms) { return FormatUtcTimeMs(ms).substr(0, 10); }

}  // namespace tempo
