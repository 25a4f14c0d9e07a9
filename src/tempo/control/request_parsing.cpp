#include "tempo/control/request_parsing.hpp"

#include "tempo/base/base64.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/base/utc_time.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <ctime>
#include <limits>

namespace tempo::control {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text) {
  auto out = tempo::PercentDecode(text, PlusMeans::kPlus);
  // A NUL would cut the text short wherever it meets a C string (SQLite, logs).
  if (out && out->find('\0') != std::string::npos) {
    return InvalidArgument("NUL byte in the request");
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq));
    if (!key) return key.error();
    std::string value;
    if (eq != std::string_view::npos) {
      // Forms encode spaces as '+'; undo that before percent-decoding.
      std::string raw(pair.substr(eq + 1));
      for (char& ch : raw) {
        if (ch == '+') ch = ' ';
      }
      auto decoded = PercentDecode(raw);
      if (!decoded) return decoded.error();
      value = std::move(*decoded);
    }
    out[std::move(*key)] = std::move(value);
  }
  return out;
}

std::optional<std::string> FindCookie(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    const std::string_view part = TrimSpaces(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (TrimSpaces(part.substr(0, eq)) != name) continue;
    std::string_view value = TrimSpaces(part.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return std::nullopt;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

RangeParse ParseRange(std::string_view header, uint64_t size, ByteRange& out) {
  header = TrimSpaces(header);
  if (header.substr(0, 6) != "bytes=") return RangeParse::kNone;
  const std::string_view spec = TrimSpaces(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return RangeParse::kNone;
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return RangeParse::kNone;
  const std::string_view first_text = TrimSpaces(spec.substr(0, dash));
  const std::string_view last_text = TrimSpaces(spec.substr(dash + 1));
  if (first_text.empty()) {
    // Suffix range: the last N bytes.
    const auto n = ParseInt(last_text);
    if (!n) return RangeParse::kNone;
    if (*n == 0 || size == 0) return RangeParse::kUnsatisfiable;
    const uint64_t count = std::min<uint64_t>(static_cast<uint64_t>(*n), size);
    out = {size - count, size - 1};
    return RangeParse::kRange;
  }
  const auto first = ParseInt(first_text);
  if (!first) return RangeParse::kNone;
  uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    const auto parsed = ParseInt(last_text);
    if (!parsed || *parsed < *first) return RangeParse::kNone;
    last = std::min<uint64_t>(static_cast<uint64_t>(*parsed), last);
  }
  if (static_cast<uint64_t>(*first) >= size) return RangeParse::kUnsatisfiable;
  out = {static_cast<uint64_t>(*first), last};
  return RangeParse::kRange;
}

bool JsonTooDeep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

Result<int64_t> ParseTimeMs(std::string_view text) {
  if (auto ms = ParseInt(text)) return *ms;
  auto ms = ParseUtcTimeMs(text);
  if (!ms && text.size() <= 10) {
    return InvalidArgument(
        "must be a date (2026-11-24), a UTC time (2026-11-24T07:31:02Z) "
        "or milliseconds since the epoch");
  }
  return ms;
}

std::string FormatTimeMs(int64_t ms) { return FormatUtcTimeMs(ms); }

std::string FormatDay(int64_t ms) { return FormatUtcDay(ms); }

std::optional<int64_t> ParseIfMatch(std::string_view header) {
  header = TrimSpaces(header);
  if (header.substr(0, 2) == "W/") header.remove_prefix(2);
  if (header.size() >= 2 && header.front() == '"' && header.back() == '"') {
    header = header.substr(1, header.size() - 2);
  }
  return ParseInt(header);
}

bool IsJsonMediaType(std::string_view header) {
  std::string type(header.substr(0, header.find(';')));
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type == "application/json" || (type.rfind("application/", 0) == 0 && type.size() > 5 &&
                                        type.compare(type.size() - 5, 5, "+json") == 0);
}

std::string EncodeCursor(int64_t ms, std::string_view id) {
  return base64::Encode(fmt::format("{}|{}", ms, id));
}

std::optional<std::pair<int64_t, std::string>> DecodeCursor(std::string_view cursor) {
  auto raw = base64::Decode(cursor);
  if (!raw) return std::nullopt;
  std::string text(raw->begin(), raw->end());
  const size_t bar = text.find('|');
  if (bar == std::string::npos) return std::nullopt;
  auto ms = ParseInt(std::string_view(text).substr(0, bar));
  if (!ms) return std::nullopt;
  return std::make_pair(*ms, text.substr(bar + 1));
}

}  // namespace tempo::control
