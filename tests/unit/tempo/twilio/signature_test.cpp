#include "tempo/twilio/signature.hpp"

#include "tempo/base/digest.hpp"

#include "support/paths.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

namespace tempo::twilio {
namespace {

using nlohmann::json;

json LoadVectors() {
  std::ifstream in(test_support::TestVectors() / "twilio/signature-vectors.json");
  EXPECT_TRUE(in.good()) << "cannot open signature-vectors.json";
  return json::parse(in);
}

FormParams ParamsOf(const json& vector) {
  FormParams params;
  for (const auto& pair : vector.at("params")) {
    params.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
  }
  return params;
}

void CheckVector(const json& vector) {
  SCOPED_TRACE(vector.at("id").get<std::string>());
  const TwilioAuthToken token(vector.at("auth_token").get<std::string>());
  const auto url = vector.at("url").get<std::string>();
  const auto signature = vector.at("expected_signature").get<std::string>();
  const bool expected_valid = vector.at("expected_valid").get<bool>();
  const FormParams params = ParamsOf(vector);

  if (vector.at("body").is_null()) {
    EXPECT_EQ(ValidateRequest(token, url, params, signature), expected_valid);
  } else {
    const auto body = vector.at("body").get<std::string>();
    EXPECT_EQ(Sha256Hex(body), vector.at("body_sha256_hex").get<std::string>());
    EXPECT_EQ(ValidateJsonRequest(token, url, body, signature), expected_valid);
  }
  if (expected_valid) {
    const auto signed_url = vector.at("signed_url").get<std::string>();
    EXPECT_EQ(StringToSign(signed_url, params), vector.at("string_to_sign").get<std::string>());
    EXPECT_EQ(ComputeSignature(token, signed_url, params), signature);
  }
}

TEST(SignatureTest, OfficialVectors) {
  const json vectors = LoadVectors();
  ASSERT_GE(vectors.at("vectors").size(), 14u);
  for (const auto& vector : vectors.at("vectors")) CheckVector(vector);
}

TEST(SignatureTest, DerivedVectorsForOurRoutes) {
  const json vectors = LoadVectors();
  const auto& derived = vectors.at("derived_vectors_not_official").at("vectors");
  ASSERT_EQ(derived.size(), 2u);
  for (const auto& vector : derived) CheckVector(vector);
}

// D1 again, but starting from the raw form body as it arrives on the wire.
TEST(SignatureTest, ValidatesWebhookFromRawBody) {
  const std::string body =
      "AccountSid=AC00000000000000000000000000000001&ApiVersion=2010-04-01"
      "&CallSid=CA00000000000000000000000000000002&CallStatus=ringing&CallerName=John+Doe"
      "&Direction=inbound&From=%2B14155550100&To=%2B14155550199";
  auto params = ParseForm(body);
  ASSERT_TRUE(params) << params.error().message;
  EXPECT_TRUE(ValidateRequest(TwilioAuthToken("12345"),
                              "https://agent.example.com/agent/a1/incoming-call", *params,
                              "hc7GE9wQX8HWv1R1AdkXSyaISTo="));
  // The same pairs in another order sign the same way.
  std::reverse(params->begin(), params->end());
  EXPECT_TRUE(ValidateRequest(TwilioAuthToken("12345"),
                              "https://agent.example.com/agent/a1/incoming-call", *params,
                              "hc7GE9wQX8HWv1R1AdkXSyaISTo="));
}

class SignatureRejectTest : public ::testing::Test {
 protected:
  const TwilioAuthToken token_{"12345"};
  const std::string url_ = "https://mycompany.com/myapp.php?foo=1&bar=2";
  const FormParams params_{{"CallSid", "CA1234567890ABCDE"},
                           {"Caller", "+14158675309"},
                           {"Digits", "1234"},
                           {"From", "+14158675309"},
                           {"To", "+18005551212"}};
  const std::string good_ = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
};

TEST_F(SignatureRejectTest, GoodSignatureIsTheBaseline) {
  EXPECT_TRUE(ValidateRequest(token_, url_, params_, good_));
}

TEST_F(SignatureRejectTest, MissingSignature) {
  EXPECT_FALSE(ValidateRequest(token_, url_, params_, ""));
}

TEST_F(SignatureRejectTest, TruncatedSignature) {
  for (size_t length = 0; length < good_.size(); ++length) {
    EXPECT_FALSE(ValidateRequest(token_, url_, params_, good_.substr(0, length))) << length;
  }
}

TEST_F(SignatureRejectTest, ForgedSignatureOneCharacterChanged) {
  for (size_t i = 0; i + 1 < good_.size(); ++i) {  // the last char is padding
    std::string forged = good_;
    forged[i] = forged[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(ValidateRequest(token_, url_, params_, forged)) << i;
  }
}

TEST_F(SignatureRejectTest, SignatureWithExtraBytes) {
  EXPECT_FALSE(ValidateRequest(token_, url_, params_, good_ + " "));
  EXPECT_FALSE(ValidateRequest(token_, url_, params_, " " + good_));
  EXPECT_FALSE(ValidateRequest(token_, url_, params_, good_ + "AAAA"));
}

TEST_F(SignatureRejectTest, WrongToken) {
  EXPECT_FALSE(ValidateRequest(TwilioAuthToken("12346"), url_, params_, good_));
  EXPECT_FALSE(ValidateRequest(TwilioAuthToken(""), url_, params_, good_));
}

TEST_F(SignatureRejectTest, TamperedParams) {
  FormParams changed = params_;
  changed[2].second = "1235";
  EXPECT_FALSE(ValidateRequest(token_, url_, changed, good_));
  FormParams added = params_;
  added.emplace_back("Extra", "");
  EXPECT_FALSE(ValidateRequest(token_, url_, added, good_));
  FormParams removed(params_.begin(), params_.end() - 1);
  EXPECT_FALSE(ValidateRequest(token_, url_, removed, good_));
  EXPECT_FALSE(
      ValidateRequest(token_, "https://mycompany.com/myapp.php?foo=1&bar=3", params_, good_));
}

TEST_F(SignatureRejectTest, OtherHostOrScheme) {
  EXPECT_FALSE(ValidateRequest(token_, "https://evil.com/myapp.php?foo=1&bar=2", params_, good_));
  EXPECT_FALSE(
      ValidateRequest(token_, "http://mycompany.com/myapp.php?foo=1&bar=2", params_, good_));
}

TEST(SignaturePortTest, WebSocketUrlsAcceptTheDefaultPortEitherWay) {
  const TwilioAuthToken token("s3cr3t");
  const std::string bare = "wss://agent.example.com/agent/a1/media-stream";
  const std::string with_port = "wss://agent.example.com:443/agent/a1/media-stream";
  EXPECT_TRUE(ValidateRequest(token, bare, {}, ComputeSignature(token, with_port, {})));
  EXPECT_TRUE(ValidateRequest(token, with_port, {}, ComputeSignature(token, bare, {})));
  EXPECT_FALSE(ValidateRequest(
      token, bare, {},
      ComputeSignature(token, "wss://agent.example.com:80/agent/a1/media-stream", {})));
  EXPECT_TRUE(ValidateRequest(token, "ws://localhost/x", {},
                              ComputeSignature(token, "ws://localhost:80/x", {})));
}

TEST(SignaturePortTest, Ipv6HostPort) {
  const TwilioAuthToken token("s3cr3t");
  EXPECT_TRUE(ValidateRequest(token, "https://[::1]:8443/a", {},
                              ComputeSignature(token, "https://[::1]/a", {})));
  EXPECT_TRUE(ValidateRequest(token, "https://[::1]/a", {},
                              ComputeSignature(token, "https://[::1]:443/a", {})));
}

TEST(SignatureJsonTest, RejectsTamperedBodyOrMissingHash) {
  const TwilioAuthToken token("12345");
  const std::string body = R"({"property": "value", "boolean": true})";
  const std::string url =
      "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256="
      "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
  const std::string signature = "a9nBmqA0ju/hNViExpshrM61xv4=";
  ASSERT_TRUE(ValidateJsonRequest(token, url, body, signature));
  EXPECT_FALSE(ValidateJsonRequest(token, url, body + " ", signature));
  EXPECT_FALSE(ValidateJsonRequest(token, url, body, ""));
  // Without the hash in the URL nothing ties the body to the signature.
  const std::string no_hash = "https://mycompany.com/myapp.php?foo=1&bar=2";
  EXPECT_FALSE(ValidateJsonRequest(token, no_hash, body, ComputeSignature(token, no_hash, {})));
  // A correctly signed URL whose hash belongs to another body.
  const std::string other_body = "{}";
  const std::string other_url = "https://mycompany.com/x?bodySHA256=" + Sha256Hex(other_body);
  const std::string other_signature = ComputeSignature(token, other_url, {});
  EXPECT_TRUE(ValidateJsonRequest(token, other_url, other_body, other_signature));
  EXPECT_FALSE(ValidateJsonRequest(token, other_url, body, other_signature));
}

TEST(FormTest, DecodesPlusAndPercent) {
  auto params = ParseForm("CallerName=John+Doe&From=%2B14155550100&Empty=&Flag&x=%e2%82%ac");
  ASSERT_TRUE(params) << params.error().message;
  const FormParams expected{{"CallerName", "John Doe"},
                            {"From", "+14155550100"},
                            {"Empty", ""},
                            {"Flag", ""},
                            {"x", "\xe2\x82\xac"}};
  EXPECT_EQ(*params, expected);
}

TEST(FormTest, KeepsRepeatedNamesAndSkipsEmptyPairs) {
  auto params = ParseForm("&Digits=5678&&Digits=1234&Digits=1234&");
  ASSERT_TRUE(params);
  const FormParams expected{{"Digits", "5678"}, {"Digits", "1234"}, {"Digits", "1234"}};
  EXPECT_EQ(*params, expected);
  EXPECT_EQ(StringToSign("u", *params), "uDigits1234Digits5678");
}

TEST(FormTest, EncodedSeparatorsStayInsideValues) {
  auto params = ParseForm("a%3Db=c%26d&%2B=%25");
  ASSERT_TRUE(params);
  const FormParams expected{{"a=b", "c&d"}, {"+", "%"}};
  EXPECT_EQ(*params, expected);
}

TEST(FormTest, RejectsMalformedEscapes) {
  for (const char* body : {"a=%", "a=%4", "a=%G1", "a=%1G", "%zz=1", "a=1&b=%"}) {
    auto params = ParseForm(body);
    ASSERT_FALSE(params) << body;
    EXPECT_EQ(params.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(FormTest, EncodeRoundTrips) {
  const FormParams params{{"Body", "It's amazing & 100% +fun"},
                          {"To", "+14155550199"},
                          {"Twiml", "<Response><Hangup/></Response>"},
                          {"bin", std::string("\x00\xff\n", 3)},
                          {"", ""}};
  const std::string body = FormEncode(params);
  EXPECT_EQ(body.find_first_of(" <>'\n"), std::string::npos) << body;
  EXPECT_NE(body.find("It%27s+amazing+%26+100%25+%2Bfun"), std::string::npos) << body;
  auto back = ParseForm(body);
  ASSERT_TRUE(back);
  // The last pair is written as "=", which parses back as an empty name and value.
  EXPECT_EQ(*back, params);
  EXPECT_EQ(FormEncode({{"To", "+1 555"}}), "To=%2B1+555");
}

TEST(Sha256Test, KnownValue) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace tempo::twilio
