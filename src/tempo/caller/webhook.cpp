#include "tempo/caller/webhook.hpp"

#include <array>
#include <cctype>
#include <utility>

namespace tempo::caller {

std::string RandomSid(std::string_view prefix, std::mt19937_64& rng) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string sid(prefix);
  sid.reserve(prefix.size() + 32);
  for (int half = 0; half < 2; ++half) {
    uint64_t bits = rng();
    for (int i = 0; i < 16; ++i) {
      sid.push_back(kHex[bits & 0xF]);
      bits >>= 4;
    }
  }
  return sid;
}

std::string_view CountryOf(std::string_view e164) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kPrefixes = {{
      {"+1", "US"},
      {"+44", "GB"},
      {"+33", "FR"},
      {"+49", "DE"},
      {"+34", "ES"},
      {"+39", "IT"},
      {"+31", "NL"},
      {"+61", "AU"},
      {"+64", "NZ"},
      {"+91", "IN"},
      {"+81", "JP"},
      {"+55", "BR"},
  }};
  for (const auto& [prefix, country] : kPrefixes) {
    if (e164.substr(0, prefix.size()) == prefix) return country;
  }
  return "";
}

namespace {

void AddIdentity(const CallIdentity& call, std::string_view call_status,
                 twilio::FormParams& params) {
  params.emplace_back("AccountSid", call.account_sid.str());
  params.emplace_back("ApiVersion", "2010-04-01");
  params.emplace_back("CallSid", call.call_sid.str());
  params.emplace_back("CallStatus", std::string(call_status));
  params.emplace_back("Called", call.to);
  params.emplace_back("Caller", call.from);
  params.emplace_back("Direction", "inbound");
  params.emplace_back("From", call.from);
  params.emplace_back("To", call.to);
}

}  // namespace

twilio::FormParams VoiceWebhookParams(const CallIdentity& call) {
  twilio::FormParams params;
  AddIdentity(call, "ringing", params);
  const std::string from_country(CountryOf(call.from));
  const std::string to_country(CountryOf(call.to));
  for (std::string_view side : {"From", "Caller"}) {
    params.emplace_back(std::string(side) + "City", "");
    params.emplace_back(std::string(side) + "Country", from_country);
    params.emplace_back(std::string(side) + "State", "");
    params.emplace_back(std::string(side) + "Zip", "");
  }
  for (std::string_view side : {"To", "Called"}) {
    params.emplace_back(std::string(side) + "City", "");
    params.emplace_back(std::string(side) + "Country", to_country);
    params.emplace_back(std::string(side) + "State", "");
    params.emplace_back(std::string(side) + "Zip", "");
  }
  return params;
}

twilio::FormParams CallbackParams(const CallIdentity& call, std::string_view call_status) {
  twilio::FormParams params;
  AddIdentity(call, call_status, params);
  return params;
}

SignedPost SignFormPost(std::string_view url, const twilio::FormParams& params,
                        const TwilioAuthToken& auth_token) {
  SignedPost post;
  post.url.assign(url);
  post.body = twilio::FormEncode(params);
  post.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  post.headers.Set("X-Twilio-Signature", twilio::ComputeSignature(auth_token, url, params));
  return post;
}

net::Headers SignWebSocketUpgrade(std::string_view ws_url, const TwilioAuthToken& auth_token) {
  net::Headers headers;
  headers.Set("X-Twilio-Signature", twilio::ComputeSignature(auth_token, ws_url, {}));
  return headers;
}

}  // namespace tempo::caller
