#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/twilio/signature.hpp"

#include <optional>
#include <string>

namespace tempo::twilio {

/// The fields of a Twilio voice webhook (the incoming-call request and the <Connect>/<Dial>/
/// <Record> action callbacks) that the server acts on, checked at the boundary.
struct VoiceRequest {
  CallSid call_sid;                       ///< required; CA + 32 hex
  std::optional<AccountSid> account_sid;  ///< AC + 32 hex when present
  std::string from;                       ///< as sent (E.164, client:…, sip:…, anonymous)
  std::string to;
  std::string dial_call_status;  ///< the <Dial> action's DialCallStatus, if any
};

/// Longest From / To accepted (a SIP URI with parameters fits; a megabyte of junk does not).
inline constexpr std::size_t kMaxAddressBytes = 256;

/// Picks the fields out of a parsed form. Errors (kInvalidArgument, meant for a 400): a
/// missing or malformed CallSid, a malformed AccountSid, a From/To over kMaxAddressBytes or with a
/// NUL byte, or a field that appears twice with different values. From/To are bytes: callers that
/// write them as JSON must replace invalid UTF-8.
Result<VoiceRequest> ParseVoiceRequest(const FormParams& params);

}  // namespace tempo::twilio
