#pragma once

#include "tempo/base/secret.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/net/http.hpp"
#include "tempo/twilio/signature.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace tempo::caller {

/// A Twilio SID: `prefix` followed by 32 lower-case hex digits ("CA…", "MZ…", "AC…").
/// Thread-compatible (uses `rng`).
std::string RandomSid(std::string_view prefix, std::mt19937_64& rng);

/// ISO country code Twilio reports for an E.164 number (+1 -> US, +44 -> GB, ...), or "" when
/// the prefix is not in our small table.
std::string_view CountryOf(std::string_view e164);

/// Who is calling whom: the fields every Twilio voice request carries.
struct CallIdentity {
  AccountSid account_sid;
  CallSid call_sid;
  std::string from;  ///< the caller, E.164
  std::string to;    ///< the called Twilio number, E.164
};

/// The form parameters of Twilio's first voice webhook for an inbound call (CallStatus=ringing,
/// Direction=inbound, ApiVersion=2010-04-01, the legacy Caller/Called aliases and the geo
/// fields, empty where unknown, as Twilio sends them).
twilio::FormParams VoiceWebhookParams(const CallIdentity& call);

/// The parameters of a later request during the call (a <Connect>, <Dial> or <Record> action,
/// a <Redirect>): the same identity fields with `call_status` ("in-progress", "completed").
twilio::FormParams CallbackParams(const CallIdentity& call, std::string_view call_status);

/// A form POST signed the way Twilio signs it.
struct SignedPost {
  std::string url;       ///< exactly the URL that was signed
  std::string body;      ///< application/x-www-form-urlencoded
  net::Headers headers;  ///< Content-Type and X-Twilio-Signature
};

/// Encodes `params` and signs them over `url` (verbatim) with `auth_token`. Pure.
SignedPost SignFormPost(std::string_view url, const twilio::FormParams& params,
                        const TwilioAuthToken& auth_token);

/// The X-Twilio-Signature header of a Media Streams WebSocket upgrade to `ws_url`.
net::Headers SignWebSocketUpgrade(std::string_view ws_url, const TwilioAuthToken& auth_token);

}  // namespace tempo::caller
