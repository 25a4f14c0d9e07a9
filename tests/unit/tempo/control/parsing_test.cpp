#include "tempo/control/agent_store.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/control/request_parsing.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tempo::control {
namespace {

TEST(RequestParsing, RangeForms) {
  ByteRange r;
  ASSERT_EQ(ParseRange("bytes=0-99", 1000, r), RangeParse::kRange);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 99u);
  ASSERT_EQ(ParseRange("bytes=500-", 1000, r), RangeParse::kRange);
  EXPECT_EQ(r.last, 999u);
  ASSERT_EQ(ParseRange("bytes=-10", 1000, r), RangeParse::kRange);
  EXPECT_EQ(r.first, 990u);
  ASSERT_EQ(ParseRange("bytes=-5000", 1000, r), RangeParse::kRange);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(ParseRange("bytes=1000-", 1000, r), RangeParse::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 1000, r), RangeParse::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-0", 0, r), RangeParse::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=5-1", 1000, r), RangeParse::kNone);
  EXPECT_EQ(ParseRange("bytes=0-1,5-6", 1000, r), RangeParse::kNone);
  EXPECT_EQ(ParseRange("bytes=a-b", 1000, r), RangeParse::kNone);
  EXPECT_EQ(ParseRange("items=0-1", 1000, r), RangeParse::kNone);
  EXPECT_EQ(ParseRange("bytes=99999999999999999999-", 1000, r), RangeParse::kNone);
}

TEST(RequestParsing, QueryAndCookies) {
  auto q = ParseQuery("a=1&b=x%20y&c=p+q&flag&a=2");
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)["a"], "2");
  EXPECT_EQ((*q)["b"], "x y");
  EXPECT_EQ((*q)["c"], "p q");
  EXPECT_EQ((*q)["flag"], "");
  EXPECT_FALSE(ParseQuery("a=%zz"));
  EXPECT_FALSE(ParseQuery("a=%2"));
  EXPECT_FALSE(ParseQuery("a=%00"));
  EXPECT_EQ(FindCookie("x=1; tempo_session=abc; y=2", "tempo_session"), "abc");
  EXPECT_EQ(FindCookie("tempo_sessionx=1", "tempo_session"), std::nullopt);
  EXPECT_EQ(FindCookie("", "tempo_session"), std::nullopt);
  EXPECT_EQ(PercentDecode("%2B1415").value(), "+1415");
}

TEST(RequestParsing, TimesAndVersions) {
  EXPECT_EQ(ParseTimeMs("1970-01-02").value(), 86'400'000);
  EXPECT_EQ(ParseTimeMs("2026-11-24T07:31:02.114Z").value(), 1'795'505'462'114);
  EXPECT_EQ(FormatTimeMs(1'795'505'462'114), "2026-11-24T07:31:02.114Z");
  EXPECT_EQ(FormatDay(1'795'505'462'114), "2026-11-24");
  EXPECT_EQ(ParseTimeMs("12345").value(), 12345);
  EXPECT_FALSE(ParseTimeMs("2026-13-01"));
  EXPECT_FALSE(ParseTimeMs("2026-11-24T07:31:02+02:00"));
  EXPECT_FALSE(ParseTimeMs("yesterday"));
  EXPECT_EQ(ParseIfMatch("\"3\""), 3);
  EXPECT_EQ(ParseIfMatch("W/\"12\""), 12);
  EXPECT_EQ(ParseIfMatch("4"), 4);
  EXPECT_EQ(ParseIfMatch("\"x\""), std::nullopt);
  EXPECT_EQ(ParseIfMatch("*"), std::nullopt);
}

TEST(RequestParsing, JsonDepthIgnoresBracketsInStrings) {
  EXPECT_FALSE(JsonTooDeep(R"({"a":[[1]]})", 3));
  EXPECT_TRUE(JsonTooDeep(R"({"a":[[[1]]]})", 3));
  EXPECT_FALSE(JsonTooDeep(R"({"a":"[[[[[[\"[[["})", 2));
}

TEST(Crypto, PasswordsHashAndVerify) {
  ASSERT_TRUE(InitCrypto());
  auto hash = HashPassword("s3cret password", PasswordCost::kMinimum);
  ASSERT_TRUE(hash);
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(VerifyPassword("s3cret password", *hash));
  EXPECT_FALSE(VerifyPassword("s3cret passwore", *hash));
  EXPECT_FALSE(VerifyPassword("s3cret password", "garbage"));
}

TEST(Crypto, SecretBoxRoundTripsAndDetectsTampering) {
  ASSERT_TRUE(InitCrypto());
  SecretBox::Key key{};
  key[0] = 1;
  SecretBox box(key);
  const std::string sealed = box.Seal("auth-token-value");
  EXPECT_EQ(sealed.find("auth-token-value"), std::string::npos);
  EXPECT_NE(sealed, box.Seal("auth-token-value"));  // fresh nonce each time
  EXPECT_EQ(box.Open(sealed).value(), "auth-token-value");
  std::string tampered = sealed;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box.Open(tampered));
  key[0] = 2;
  SecretBox other(key);
  auto wrong = other.Open(sealed);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kPermissionDenied);
  EXPECT_FALSE(box.Open("v2:abc"));
}

TEST(Crypto, KeyFromEnvironmentOrFile) {
  auto dir = std::filesystem::temp_directory_path() / ("tempo_key_test_" + RandomHex(6));
  auto created = LoadOrCreateKey(std::nullopt, dir / "secret.key");
  ASSERT_TRUE(created);
  auto again = LoadOrCreateKey(std::nullopt, dir / "secret.key");
  ASSERT_TRUE(again);
  EXPECT_EQ(*created, *again);
  EXPECT_FALSE(LoadOrCreateKey(std::string("c2hvcnQ="), dir / "secret.key"));
  auto env = LoadOrCreateKey(std::string("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
                             dir / "unused.key");
  ASSERT_TRUE(env);
  EXPECT_EQ((*env)[31], 31);
  EXPECT_FALSE(std::filesystem::exists(dir / "unused.key"));
  std::filesystem::remove_all(dir);
}

TEST(AgentStore, EncodeKeepsSecretsOutOfTheConfigColumn) {
  ASSERT_TRUE(InitCrypto());
  SecretBox box(SecretBox::Key{});
  agent::AgentConfig config;
  config.agent_id = AgentId("abc");
  config.agent_name = "A";
  config.prompt = "p";
  config.twilio_auth_token = TwilioAuthToken("tok-123");
  auto columns = EncodeAgent(config, box);
  EXPECT_EQ(columns.config_json.find("tok-123"), std::string::npos);
  ASSERT_TRUE(columns.secrets_ciphertext);
  auto back = DecodeAgent(columns.config_json, columns.secrets_ciphertext, box);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(*back, config);
  config.twilio_auth_token = {};
  EXPECT_FALSE(EncodeAgent(config, box).secrets_ciphertext);
}

}  // namespace
}  // namespace tempo::control
