#include "tempo/twilio/ids.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tempo::twilio {
namespace {

constexpr std::size_t kHexDigits = 32;

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

template <class Id>
Result<Id> Parse(std::string_view text, SidKind kind, std::string_view field) {
  if (!IsSid(text, kind)) {
    return InvalidArgument(fmt::format("{} is not a Twilio {} sid ({} + 32 hex digits)", field,
                                       PrefixOf(kind), PrefixOf(kind)));
  }
  return Id(std::string(text));
}

}  // namespace

std::string_view PrefixOf(SidKind kind) {
  switch (kind) {
    case SidKind::kCall:
      return "CA";
    case SidKind::kStream:
      return "MZ";
    case SidKind::kAccount:
      return "AC";
    case SidKind::kRecording:
      return "RE";
  }
  return "??";
}

bool IsSid(std::string_view text, SidKind kind) {
  const std::string_view prefix = PrefixOf(kind);
  if (text.size() != prefix.size() + kHexDigits || !text.starts_with(prefix)) return false;
  const std::string_view digits = text.substr(prefix.size());
  return std::all_of(digits.begin(), digits.end(), IsHex);
}

Result<CallSid> ParseCallSid(std::string_view text, std::string_view field) {
  return Parse<CallSid>(text, SidKind::kCall, field);
}
Result<StreamSid> ParseStreamSid(std::string_view text, std::string_view field) {
  return Parse<StreamSid>(text, SidKind::kStream, field);
}
Result<AccountSid> ParseAccountSid(std::string_view text, std::string_view field) {
  return Parse<AccountSid>(text, SidKind::kAccount, field);
}

}  // namespace tempo::twilio
