#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"

#include <string>
#include <string_view>

namespace tempo::twilio {

/// Twilio's resource identifiers: a two-letter prefix and 32 hex digits (34 characters).
/// Every identifier that arrives from Twilio (webhook forms, media-stream `start`) is checked
/// here, where it is parsed, so nothing downstream (spool files, object keys, queries, logs)
/// ever sees one that is not of this form.
enum class SidKind : uint8_t {
  kCall,       ///< CA…  CallSid
  kStream,     ///< MZ…  StreamSid
  kAccount,    ///< AC…  AccountSid
  kRecording,  ///< RE…  RecordingSid
};

/// "CA", "MZ", "AC", "RE".
std::string_view PrefixOf(SidKind kind);
/// True when `text` is the prefix of `kind` followed by exactly 32 hex digits (either case).
bool IsSid(std::string_view text, SidKind kind);

/// The sid, or kInvalidArgument naming `field` ("CallSid", "start.callSid", ...). The bad value
/// is not echoed: it may be anything a caller sent.
Result<CallSid> ParseCallSid(std::string_view text, std::string_view field);
Result<StreamSid> ParseStreamSid(std::string_view text, std::string_view field);
Result<AccountSid> ParseAccountSid(std::string_view text, std::string_view field);

}  // namespace tempo::twilio
