#include "tempo/caller/webhook.hpp"

#include "tempo/twilio/ids.hpp"
#include "tempo/twilio/signature.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace tempo::caller {
namespace {

using ::testing::Contains;
using ::testing::Pair;

CallIdentity Identity() {
  return CallIdentity{AccountSid("AC00000000000000000000000000000001"),
                      CallSid("CA00000000000000000000000000000002"), "+14155550100",
                      "+14155550199"};
}

std::map<std::string, std::string> AsMap(const twilio::FormParams& params) {
  return {params.begin(), params.end()};
}

TEST(RandomSidTest, HasPrefixAnd32HexDigits) {
  std::mt19937_64 rng(42);
  const std::string a = RandomSid("CA", rng);
  const std::string b = RandomSid("CA", rng);
  EXPECT_TRUE(twilio::IsSid(a, twilio::SidKind::kCall)) << a;
  EXPECT_TRUE(twilio::IsSid(RandomSid("MZ", rng), twilio::SidKind::kStream));
  EXPECT_NE(a, b);
  EXPECT_FALSE(twilio::IsSid(a, twilio::SidKind::kStream));
  EXPECT_FALSE(twilio::IsSid("CA123", twilio::SidKind::kCall));
  EXPECT_FALSE(twilio::IsSid("CA0000000000000000000000000000000g", twilio::SidKind::kCall));
}

TEST(CountryOfTest, KnownAndUnknownPrefixes) {
  EXPECT_EQ(CountryOf("+14155550100"), "US");
  EXPECT_EQ(CountryOf("+442071838750"), "GB");
  EXPECT_EQ(CountryOf("+9999"), "");
  EXPECT_EQ(CountryOf("client:alice"), "");
}

TEST(VoiceWebhookTest, CarriesTwilioInboundFields) {
  const auto params = AsMap(VoiceWebhookParams(Identity()));
  EXPECT_THAT(params, Contains(Pair("AccountSid", "AC00000000000000000000000000000001")));
  EXPECT_THAT(params, Contains(Pair("CallSid", "CA00000000000000000000000000000002")));
  EXPECT_THAT(params, Contains(Pair("ApiVersion", "2010-04-01")));
  EXPECT_THAT(params, Contains(Pair("CallStatus", "ringing")));
  EXPECT_THAT(params, Contains(Pair("Direction", "inbound")));
  EXPECT_THAT(params, Contains(Pair("From", "+14155550100")));
  EXPECT_THAT(params, Contains(Pair("Caller", "+14155550100")));
  EXPECT_THAT(params, Contains(Pair("To", "+14155550199")));
  EXPECT_THAT(params, Contains(Pair("Called", "+14155550199")));
  EXPECT_THAT(params, Contains(Pair("FromCountry", "US")));
  EXPECT_THAT(params, Contains(Pair("ToCountry", "US")));
  EXPECT_THAT(params, Contains(Pair("FromCity", "")));
}

TEST(VoiceWebhookTest, CallbackIsInProgress) {
  const auto params = AsMap(CallbackParams(Identity(), "in-progress"));
  EXPECT_THAT(params, Contains(Pair("CallStatus", "in-progress")));
  EXPECT_THAT(params, Contains(Pair("CallSid", "CA00000000000000000000000000000002")));
  EXPECT_EQ(params.count("FromCountry"), 0U);
}

TEST(SignFormPostTest, ValidatesWithTwilioValidator) {
  const TwilioAuthToken token("s3cr3t");
  const std::string url = "https://agent.example.com/agent/a1/incoming-call";
  const auto params = VoiceWebhookParams(Identity());
  const SignedPost post = SignFormPost(url, params, token);

  EXPECT_EQ(post.url, url);
  EXPECT_EQ(post.headers.Find("Content-Type"), "application/x-www-form-urlencoded");
  const auto signature = post.headers.Find("X-Twilio-Signature");
  ASSERT_TRUE(signature.has_value());
  // What a server does: parse the body it received and validate.
  auto parsed = twilio::ParseForm(post.body);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, params);
  EXPECT_TRUE(twilio::ValidateRequest(token, url, *parsed, *signature));
  EXPECT_FALSE(twilio::ValidateRequest(TwilioAuthToken("other"), url, *parsed, *signature));
  EXPECT_FALSE(twilio::ValidateRequest(token, url + "x", *parsed, *signature));
}

TEST(SignFormPostTest, MatchesTheDerivedReferenceVector) {
  // Computed with Twilio's own Node library (reference D1): signing is byte-exact.
  twilio::FormParams params = {
      {"AccountSid", "AC00000000000000000000000000000001"},
      {"ApiVersion", "2010-04-01"},
      {"CallSid", "CA00000000000000000000000000000002"},
      {"CallStatus", "ringing"},
      {"CallerName", "John Doe"},
      {"Direction", "inbound"},
      {"From", "+14155550100"},
      {"To", "+14155550199"},
  };
  const auto post = SignFormPost("https://agent.example.com/agent/a1/incoming-call", params,
                                 TwilioAuthToken("12345"));
  EXPECT_EQ(post.headers.Find("X-Twilio-Signature"), "hc7GE9wQX8HWv1R1AdkXSyaISTo=");
  EXPECT_NE(post.body.find("CallerName=John+Doe"), std::string::npos);
  EXPECT_NE(post.body.find("From=%2B14155550100"), std::string::npos);
}

TEST(SignWebSocketUpgradeTest, MatchesTheDerivedReferenceVector) {
  const auto headers = SignWebSocketUpgrade("wss://agent.example.com/agent/a1/media-stream",
                                            TwilioAuthToken("12345"));
  EXPECT_EQ(headers.Find("X-Twilio-Signature"), "lyj+/y188KbBx7srfS+tbdwjwuI=");
}

}  // namespace
}  // namespace tempo::caller
