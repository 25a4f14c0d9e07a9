// Every case of the aws-c-auth SigV4 suite (tests/vectors/aws/sigv4/v4), in both the
// header and the presigned form: canonical request, string to sign and signature must match
// byte for byte, and so must the Authorization header and the presigned query.

#include "tempo/aws/sigv4.hpp"

#include "tempo/base/utc_time.hpp"

#include "support/paths.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace tempo::aws {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path Suite() { return test_support::TestVectors() / "aws/sigv4/v4"; }

std::string Slurp(const fs::path& path) { return test_support::ReadVector(path); }

struct Case {
  std::string name;
  SignableRequest request;
  Credentials credentials;
  SigningOptions options;
};

// request.txt is an HTTP/1.1 request as written on the wire; lines that start with white
// space continue the previous header (obsolete folding).
SignableRequest ParseRequest(const std::string& text, bool sign_body) {
  SignableRequest out;
  const size_t head_end = text.find("\n\n");
  const std::string head = text.substr(0, head_end);
  const std::string body = head_end == std::string::npos ? "" : text.substr(head_end + 2);
  std::istringstream lines(head);
  std::string line;
  std::getline(lines, line);
  const size_t sp = line.find(' ');
  out.method = line.substr(0, sp);
  std::string target = line.substr(sp + 1, line.rfind(" HTTP/1.1") - sp - 1);
  const size_t q = target.find('?');
  out.path = target.substr(0, q);
  out.query = q == std::string::npos ? "" : target.substr(q + 1);
  while (std::getline(lines, line)) {
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !out.headers.empty()) {
      out.headers.back().second += "\n" + line;
      continue;
    }
    const size_t colon = line.find(':');
    out.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  out.payload_hash = Sha256Hex(sign_body ? body : "");
  return out;
}

Case LoadCase(const fs::path& dir) {
  const json context = json::parse(Slurp(dir / "context.json"));
  Case c;
  c.name = dir.filename().string();
  const bool sign_body = context.value("sign_body", false);
  c.request = ParseRequest(Slurp(dir / "request.txt"), sign_body);
  const json& creds = context.at("credentials");
  c.credentials.access_key_id = creds.at("access_key_id");
  c.credentials.secret_access_key = AwsSecretKey(creds.at("secret_access_key"));
  if (creds.contains("token")) c.credentials.session_token = AwsSessionToken(creds.at("token"));
  c.options.region = context.at("region");
  c.options.service = context.at("service");
  c.options.time =
      std::chrono::system_clock::time_point{} +
      std::chrono::milliseconds(*ParseUtcTimeMs(context.at("timestamp").get<std::string>()));
  c.options.normalize_path = context.value("normalize", true);
  c.options.content_sha256_header = sign_body;
  c.options.sign_session_token = !context.value("omit_session_token", false);
  c.options.expires = std::chrono::seconds(context.value("expiration_in_seconds", 900));
  return c;
}

std::vector<fs::path> Cases() {
  std::vector<fs::path> out;
  for (const auto& entry : fs::directory_iterator(Suite())) {
    if (entry.is_directory()) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string HeaderLine(const std::string& signed_request, const std::string& name) {
  std::istringstream lines(signed_request);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + ":", 0) == 0) return line.substr(name.size() + 1);
  }
  return {};
}

std::multiset<std::string> QueryParts(const std::string& query) {
  std::multiset<std::string> out;
  std::istringstream parts(query);
  std::string part;
  while (std::getline(parts, part, '&')) out.insert(part);
  return out;
}

TEST(SigV4Suite, HasEveryCase) { EXPECT_EQ(Cases().size(), 38U); }

TEST(SigV4Suite, HeaderForm) {
  for (const fs::path& dir : Cases()) {
    Case c = LoadCase(dir);
    SCOPED_TRACE(c.name);
    auto parts = SignRequest(c.request, c.credentials, c.options);
    ASSERT_TRUE(parts) << parts.error().ToString();
    EXPECT_EQ(parts->canonical_request, Slurp(dir / "header-canonical-request.txt"));
    EXPECT_EQ(parts->string_to_sign, Slurp(dir / "header-string-to-sign.txt"));
    EXPECT_EQ(parts->signature, Slurp(dir / "header-signature.txt"));
    const std::string signed_request = Slurp(dir / "header-signed-request.txt");
    std::string authorization;
    std::string token;
    for (const auto& [name, value] : c.request.headers) {
      if (name == "Authorization") authorization = value;
      if (name == "X-Amz-Security-Token") token = value;
    }
    EXPECT_EQ(authorization, HeaderLine(signed_request, "Authorization"));
    EXPECT_EQ(token, HeaderLine(signed_request, "X-Amz-Security-Token"));
  }
}

TEST(SigV4Suite, PresignedForm) {
  for (const fs::path& dir : Cases()) {
    Case c = LoadCase(dir);
    SCOPED_TRACE(c.name);
    const std::string original_query = c.request.query;
    auto parts = PresignRequest(c.request, c.credentials, c.options);
    ASSERT_TRUE(parts) << parts.error().ToString();
    EXPECT_EQ(parts->canonical_request, Slurp(dir / "query-canonical-request.txt"));
    EXPECT_EQ(parts->string_to_sign, Slurp(dir / "query-string-to-sign.txt"));
    EXPECT_EQ(parts->signature, Slurp(dir / "query-signature.txt"));
    // The suite's signed request line: "GET /path?query HTTP/1.1".
    const std::string line = Slurp(dir / "query-signed-request.txt");
    const std::string target = line.substr(line.find(' ') + 1);
    const size_t q = target.find('?');
    const std::string expected_query = target.substr(q + 1, target.find(" HTTP/1.1") - q - 1);
    EXPECT_EQ(QueryParts(c.request.query), QueryParts(expected_query));
    EXPECT_EQ(c.request.query.rfind(original_query, 0), 0U);
  }
}

TEST(SigV4, SigningTwiceReplacesTheOldSignature) {
  Case c = LoadCase(Suite() / "get-vanilla");
  ASSERT_TRUE(SignRequest(c.request, c.credentials, c.options));
  auto again = SignRequest(c.request, c.credentials, c.options);
  ASSERT_TRUE(again);
  int authorizations = 0;
  for (const auto& [name, value] : c.request.headers) authorizations += name == "Authorization";
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(again->signature, Slurp(Suite() / "get-vanilla/header-signature.txt"));
}

TEST(SigV4, RefusesWhatCannotBeSigned) {
  Case c = LoadCase(Suite() / "get-vanilla");
  SignableRequest no_host = c.request;
  no_host.headers.clear();
  EXPECT_EQ(SignRequest(no_host, c.credentials, c.options).error().code,
            ErrorCode::kInvalidArgument);
  SignableRequest bad_query = c.request;
  bad_query.query = "a=%zz";
  EXPECT_EQ(SignRequest(bad_query, c.credentials, c.options).error().code,
            ErrorCode::kInvalidArgument);
  SigningOptions no_region = c.options;
  no_region.region.clear();
  EXPECT_FALSE(SignRequest(c.request, c.credentials, no_region));
  SigningOptions too_long = c.options;
  too_long.expires = std::chrono::seconds(8 * 24 * 3600);
  EXPECT_FALSE(PresignRequest(c.request, c.credentials, too_long));
}

TEST(SigV4, S3PathsAreSignedAsSent) {
  // S3 keys are encoded once by the client; the signer must not encode them again nor
  // remove "." segments, which are legal in keys.
  Case c = LoadCase(Suite() / "get-vanilla");
  c.request.path = "/bucket/calls/a%20b/./x.wav";
  c.options.path_encoding = PathEncoding::kAsSent;
  c.options.normalize_path = false;
  auto parts = SignRequest(c.request, c.credentials, c.options);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->canonical_request.substr(0, parts->canonical_request.find('\n', 4)),
            "GET\n/bucket/calls/a%20b/./x.wav");
}

TEST(SigV4, SigningKeyOfTheDocumentation) {
  // The derived-key example of the SigV4 documentation ("Examples of how to derive a signing
  // key"): secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 20120215, us-east-1, iam.
  const Sha256Digest key = SigningKey(AwsSecretKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
                                      "20120215", "us-east-1", "iam");
  EXPECT_EQ(HexLower(key), "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4, DatesAreUtc) {
  const auto t = std::chrono::system_clock::time_point{} + std::chrono::seconds(1440938160);
  EXPECT_EQ(AmzDate(t), "20150830T123600Z");
  EXPECT_EQ(AmzShortDate(t), "20150830");
}

}  // namespace
}  // namespace tempo::aws
