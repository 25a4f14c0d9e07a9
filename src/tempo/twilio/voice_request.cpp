#include "tempo/twilio/voice_request.hpp"

#include "tempo/twilio/ids.hpp"

#include <fmt/format.h>

namespace tempo::twilio {
namespace {

/// The value of `name`, or nullopt; two different values of one name are an error (a forged
/// or confused request: which one would the signature have meant?).
Result<std::optional<std::string_view>> Single(const FormParams& params, std::string_view name) {
  std::optional<std::string_view> found;
  for (const auto& [k, v] : params) {
    if (k != name) continue;
    if (found && *found != v) return InvalidArgument(fmt::format("{} is given twice", name));
    found = v;
  }
  return found;
}

Result<std::string> Address(const FormParams& params, std::string_view name) {
  TEMPO_ASSIGN_OR_RETURN(auto value, Single(params, name));
  if (!value) return std::string();
  if (value->size() > kMaxAddressBytes) {
    return InvalidArgument(fmt::format("{} is longer than {} bytes", name, kMaxAddressBytes));
  }
  // No caller address holds a NUL, and text columns (PostgreSQL) refuse it.
  if (value->find('\0') != std::string_view::npos) {
    return InvalidArgument(fmt::format("{} holds a NUL byte", name));
  }
  return std::string(*value);
}

}  // namespace

Result<VoiceRequest> ParseVoiceRequest(const FormParams& params) {
  VoiceRequest request;
  TEMPO_ASSIGN_OR_RETURN(auto call_sid, Single(params, "CallSid"));
  if (!call_sid || call_sid->empty()) return InvalidArgument("CallSid is required");
  TEMPO_ASSIGN_OR_RETURN(request.call_sid, ParseCallSid(*call_sid, "CallSid"));
  TEMPO_ASSIGN_OR_RETURN(auto account_sid, Single(params, "AccountSid"));
  if (account_sid) {
    TEMPO_ASSIGN_OR_RETURN(request.account_sid, ParseAccountSid(*account_sid, "AccountSid"));
  }
  TEMPO_ASSIGN_OR_RETURN(request.from, Address(params, "From"));
  TEMPO_ASSIGN_OR_RETURN(request.to, Address(params, "To"));
  TEMPO_ASSIGN_OR_RETURN(auto dial, Single(params, "DialCallStatus"));
  if (dial) {
    if (dial->size() > 32) return InvalidArgument("DialCallStatus is not a call status");
    request.dial_call_status = std::string(*dial);
  }
  return request;
}

}  // namespace tempo::twilio
