// The credential sources and the chain. The ECS container endpoint, IMDS and STS exist only
// on AWS; the fakes below answer exactly what their documentation shows (paths, headers,
// JSON and XML), and the chain is checked against them.

#include "tempo/aws/credentials.hpp"

#include "tempo/aws/credential_chain.hpp"

#include "aws_test_support.hpp"
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tempo::aws {
namespace {

using namespace std::chrono_literals;
using testing::Answer;
using testing::Env;

std::chrono::system_clock::time_point At(int64_t seconds) {
  return std::chrono::system_clock::time_point{} + std::chrono::seconds(seconds);
}

// 2026-12-03T12:00:00Z
constexpr int64_t kNoon = 1796299200;

TEST(Environment, KeysAndToken) {
  auto c = CredentialsFromEnvironment(Env({{"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                           {"AWS_SECRET_ACCESS_KEY", "secret"},
                                           {"AWS_SESSION_TOKEN", "token"}}));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDEXAMPLE");
  EXPECT_EQ(c->secret_access_key.Reveal(), "secret");
  EXPECT_EQ(c->session_token.Reveal(), "token");
  EXPECT_EQ(c->source, "environment");
  EXPECT_EQ(CredentialsFromEnvironment(Env({})).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(CredentialsFromEnvironment(Env({{"AWS_ACCESS_KEY_ID", "AKID"}})).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(SharedFiles, ProfilesOfBothFiles) {
  const std::string config =
      "# comment\n"
      "[default]\n"
      "region = eu-west-1\n"
      "[profile dev]\n"
      "region=us-east-2\n"
      "s3 =\n"
      "  addressing_style = path\n"
      "[sso-session corp]\n"
      "sso_region = us-east-1\n"
      "[profile ci]\n"
      "role_arn = arn:aws:iam::123456789012:role/ci\n"
      "web_identity_token_file = /var/run/token\n";
  const std::string credentials =
      "[default]\n"
      "aws_access_key_id = AKIDDEFAULT\n"
      "aws_secret_access_key = s3cr3t\n"
      "; another comment\n"
      "[dev]\n"
      "aws_access_key_id=AKIDDEV\n"
      "aws_secret_access_key=devsecret\n"
      "aws_session_token=devtoken\n";
  auto def = LoadProfile(config, credentials, "default");
  ASSERT_TRUE(def);
  EXPECT_EQ(def->at("region"), "eu-west-1");
  auto keys = CredentialsFromProfile(*def, "default");
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(keys->secret_access_key.Reveal(), "s3cr3t");
  EXPECT_TRUE(keys->session_token.empty());

  auto dev = LoadProfile(config, credentials, "dev");
  ASSERT_TRUE(dev);
  EXPECT_EQ(dev->at("region"), "us-east-2");
  EXPECT_EQ(dev->at("s3.addressing_style"), "path");
  EXPECT_EQ(CredentialsFromProfile(*dev, "dev")->session_token.Reveal(), "devtoken");

  auto ci = LoadProfile(config, credentials, "ci");
  ASSERT_TRUE(ci);
  EXPECT_EQ(CredentialsFromProfile(*ci, "ci").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(ci->contains("sso_region"));  // a setting of the sso-session section

  EXPECT_EQ(LoadProfile(config, credentials, "nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(ParseSharedFile("key = value\n", SharedFile::kCredentials).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(ParseSharedFile("[default\n", SharedFile::kConfig));
  EXPECT_FALSE(ParseSharedFile("[default]\njust words\n", SharedFile::kConfig));
}

TEST(MetadataJson, ContainerAndImds) {
  auto c = ParseCredentialsJson(
      R"({"RoleArn":"arn:aws:iam::123456789012:role/task","AccessKeyId":"ASIAEXAMPLE",
          "SecretAccessKey":"sk","Token":"tok","Expiration":"2026-12-03T12:00:00Z"})",
      "container");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIAEXAMPLE");
  EXPECT_EQ(c->session_token.Reveal(), "tok");
  ASSERT_TRUE(c->expiration);
  EXPECT_EQ(*c->expiration, At(kNoon));
  EXPECT_FALSE(ParseCredentialsJson(R"({"Code":"Failure","Message":"no"})", "imds"));
  EXPECT_FALSE(ParseCredentialsJson("not json", "imds"));
  EXPECT_FALSE(ParseCredentialsJson(R"({"AccessKeyId":"A","SecretAccessKey":"s",
                                        "Expiration":"tomorrow"})",
                                    "imds"));
}

TEST(StsXml, AssumeRoleWithWebIdentity) {
  const std::string xml =
      R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>ASIAWEB</AccessKeyId>
      <SecretAccessKey>websecret</SecretAccessKey>
      <SessionToken>webtoken</SessionToken>
      <Expiration>2026-12-03T12:00:00.000Z</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)";
  auto c = ParseStsCredentials(xml, "web identity");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "ASIAWEB");
  EXPECT_EQ(c->session_token.Reveal(), "webtoken");
  EXPECT_EQ(*c->expiration, At(kNoon));
  EXPECT_EQ(ParseStsCredentials("<a>", "x").error().code, ErrorCode::kProtocol);
  EXPECT_EQ(ParseStsCredentials("<a/>", "x").error().code, ErrorCode::kProtocol);
}

// Records requests and answers them from a table keyed by "METHOD url".
struct FakeHttp {
  std::map<std::string, std::vector<net::Response>> answers;
  std::vector<net::ClientRequest> seen;

  HttpFetch Fetch() {
    return [this](net::ClientRequest request) -> Result<net::Response> {
      seen.push_back(request);
      const std::string key = std::string(net::ToString(request.method)) + " " + request.url;
      auto it = answers.find(key);
      if (it == answers.end() || it->second.empty()) return Unavailable("connection refused");
      net::Response r = it->second.front();
      if (it->second.size() > 1) it->second.erase(it->second.begin());
      return r;
    };
  }
};

std::string CredentialsBody(const std::string& key, const std::string& expiration) {
  return R"({"Code":"Success","AccessKeyId":")" + key +
         R"(","SecretAccessKey":"sk","Token":"tok","Expiration":")" + expiration + R"("})";
}

ChainOptions Options(FakeHttp& http, FakeClock& clock, std::map<std::string, std::string> env,
                     std::map<std::string, std::string> files = {}) {
  ChainOptions o;
  o.env = Env(std::move(env));
  o.fetch = http.Fetch();
  o.clock = &clock;
  o.read_file = [files = std::move(files)](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return NotFound("no file " + path);
    return it->second;
  };
  return o;
}

TEST(Chain, EnvironmentFirst) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  auto chain = MakeDefaultCredentialChain(Options(
      http, clock,
      {{"AWS_ACCESS_KEY_ID", "AKIDENV"}, {"AWS_SECRET_ACCESS_KEY", "s"}, {"HOME", "/home/u"}},
      {{"/home/u/.aws/credentials",
        "[default]\naws_access_key_id=AKIDFILE\n"
        "aws_secret_access_key=f\n"}}));
  auto c = chain->Get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_TRUE(http.seen.empty());
}

TEST(Chain, NamedProfileFromTheSharedFiles) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock,
              {{"AWS_PROFILE", "dev"},
               {"AWS_SHARED_CREDENTIALS_FILE", "/etc/aws-creds"},
               {"AWS_EC2_METADATA_DISABLED", "true"}},
              {{"/etc/aws-creds",
                "[default]\naws_access_key_id=AKIDDEF\naws_secret_access_key=d\n"
                "[dev]\naws_access_key_id=AKIDDEV\naws_secret_access_key=v\n"}}));
  auto c = chain->Get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->access_key_id, "AKIDDEV");
  EXPECT_EQ(c->source, "profile dev");
}

TEST(Chain, EcsContainerEndpointWithTokenAndRefresh) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  const std::string url = "http://169.254.170.2/v2/credentials/abc";
  // Expires 10 minutes after noon: fresh for 5 minutes, then refreshed.
  http.answers["GET " + url] = {Answer(200, CredentialsBody("ASIA1", "2026-12-03T12:10:00Z")),
                                Answer(200, CredentialsBody("ASIA2", "2026-12-03T13:10:00Z"))};
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock,
              {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
               {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/token"}},
              {{"/token", "Bearer xyz\n"}}));
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");
  ASSERT_EQ(http.seen.size(), 1U);
  EXPECT_EQ(http.seen[0].headers.Find("Authorization").value_or(""), "Bearer xyz");
  clock.Advance(4min);
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");
  EXPECT_EQ(http.seen.size(), 1U);  // still cached
  clock.Advance(2min);              // within 5 minutes of expiry
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA2");
  EXPECT_EQ(http.seen.size(), 2U);
}

TEST(Chain, RefreshFailureKeepsUnexpiredCredentialsThenFails) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  const std::string url = "http://127.0.0.1:9/creds";
  http.answers["GET " + url] = {Answer(200, CredentialsBody("ASIA1", "2026-12-03T12:10:00Z")),
                                Answer(500, "")};
  auto chain = MakeDefaultCredentialChain(Options(
      http, clock,
      {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", url}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"}}));
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");
  clock.Advance(7min);
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");  // refresh failed, not expired yet
  clock.Advance(5min);
  auto expired = chain->Get();
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::kUnavailable);
}

TEST(Chain, FullUriMustNotSendTheTokenInTheClear) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock,
              {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://example.com/creds"},
               {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"}}));
  auto c = chain->Get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(http.seen.empty());
}

TEST(Chain, ImdsV2TokenThenRoleThenCredentials) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  const std::string base = "http://127.0.0.1:1338";
  http.answers["PUT " + base + "/latest/api/token"] = {Answer(200, "imds-token")};
  http.answers["GET " + base + "/latest/meta-data/iam/security-credentials/"] = {
      Answer(200, "tempo-agent-role\n")};
  http.answers["GET " + base + "/latest/meta-data/iam/security-credentials/tempo-agent-role"] = {
      Answer(200, CredentialsBody("ASIAIMDS", "2026-12-03T18:00:00Z"))};
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock, {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", base + "/"}}));
  auto c = chain->Get();
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->source, "instance profile tempo-agent-role");
  ASSERT_EQ(http.seen.size(), 3U);
  EXPECT_EQ(http.seen[0].headers.Find("X-aws-ec2-metadata-token-ttl-seconds").value_or(""),
            "21600");
  EXPECT_EQ(http.seen[1].headers.Find("X-aws-ec2-metadata-token").value_or(""), "imds-token");
  EXPECT_EQ(http.seen[2].headers.Find("X-aws-ec2-metadata-token").value_or(""), "imds-token");
}

TEST(Chain, WebIdentityThroughSts) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  http.answers["POST https://sts.eu-west-1.amazonaws.com/"] = {Answer(
      200,
      "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
      "<AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>w</SecretAccessKey>"
      "<SessionToken>t</SessionToken><Expiration>2026-12-03T13:00:00Z</Expiration>"
      "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>")};
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock,
              {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/oidc"},
               {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/deployer"},
               {"AWS_ROLE_SESSION_NAME", "ci run"},
               {"AWS_REGION", "eu-west-1"}},
              {{"/var/run/oidc", "eyJ.oidc.token\n"}}));
  auto c = chain->Get();
  ASSERT_TRUE(c) << c.error().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAWEB");
  ASSERT_EQ(http.seen.size(), 1U);
  EXPECT_EQ(http.seen[0].body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
            "123456789012%3Arole%2Fdeployer&RoleSessionName=ci%20run&WebIdentityToken=eyJ.oidc."
            "token");
  EXPECT_FALSE(http.seen[0].headers.Find("Authorization"));
}

TEST(Chain, StsRefusalIsAClearError) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  http.answers["POST https://sts.us-east-1.amazonaws.com/"] = {
      Answer(400,
             "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
             "<Message>No OpenIDConnect provider found</Message></Error>"
             "<RequestId>req-9</RequestId></ErrorResponse>")};
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock,
              {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/t"}, {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}},
              {{"/t", "token"}}));
  auto c = chain->Get();
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("InvalidIdentityToken"), std::string::npos)
      << c.error().ToString();
  EXPECT_NE(c.error().message.find("req-9"), std::string::npos);
}

TEST(Chain, NothingConfiguredSaysWhatToDo) {
  FakeHttp http;  // IMDS does not answer: not on EC2
  FakeClock clock(At(kNoon));
  auto chain = MakeDefaultCredentialChain(Options(http, clock, {}));
  auto c = chain->Get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

// Issue #24: a refresh used to hold the chain's lock across the network fetch (every call
// waited), and a failing source was fetched again on every Get().
TEST(Chain, RefreshIsSingleFlightWhileTheCachedCredentialsServe) {
  FakeClock clock(At(kNoon));
  const std::string url = "http://169.254.170.2/v2/credentials/abc";
  std::atomic<int> fetches{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  FakeHttp unused;
  ChainOptions options =
      Options(unused, clock, {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}});
  options.fetch = [&](net::ClientRequest request) -> Result<net::Response> {
    EXPECT_EQ(request.url, url);
    if (++fetches == 1) return Answer(200, CredentialsBody("ASIA1", "2026-12-03T12:10:00Z"));
    released.wait();  // the refresh hangs on a slow network
    return Answer(200, CredentialsBody("ASIA2", "2026-12-03T13:10:00Z"));
  };
  auto chain = MakeDefaultCredentialChain(options);
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");
  clock.Advance(6min);  // within the refresh window, not expired
  auto refresher = std::async(std::launch::async, [&] { return chain->Get(); });
  while (fetches < 2) std::this_thread::yield();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");
  EXPECT_EQ(fetches, 2);
  release.set_value();
  EXPECT_EQ(refresher.get()->access_key_id, "ASIA2");
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA2");
  EXPECT_EQ(fetches, 2);
}

TEST(Chain, AFailingSourceIsAskedAgainOnlyAfterABackoff) {
  FakeHttp http;  // the container endpoint does not answer
  FakeClock clock(At(kNoon));
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock, {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}}));
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(chain->Get());
  EXPECT_EQ(http.seen.size(), 1U);
  clock.Advance(1100ms);
  EXPECT_FALSE(chain->Get());
  EXPECT_EQ(http.seen.size(), 2U);
  clock.Advance(1100ms);  // the second wait is 2 s
  EXPECT_FALSE(chain->Get());
  EXPECT_EQ(http.seen.size(), 2U);
  clock.Advance(1s);
  EXPECT_FALSE(chain->Get());
  EXPECT_EQ(http.seen.size(), 3U);
}

TEST(Chain, TemporaryCredentialsWithoutExpirationAreNotKeptForever) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  const std::string url = "http://169.254.170.2/v2/credentials/abc";
  http.answers["GET " + url] = {
      Answer(200, R"({"AccessKeyId":"ASIA1","SecretAccessKey":"sk","Token":"tok"})"),
      Answer(200, R"({"AccessKeyId":"ASIA2","SecretAccessKey":"sk","Token":"tok"})")};
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock, {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}}));
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");
  clock.Advance(14min);
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA1");
  clock.Advance(2min);
  EXPECT_EQ(chain->Get()->access_key_id, "ASIA2");
  // Keys from the environment never change: fetched once.
  FakeHttp none;
  auto fixed = MakeDefaultCredentialChain(
      Options(none, clock, {{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "secret"}}));
  EXPECT_TRUE(fixed->Get());
  clock.Advance(std::chrono::hours(24 * 365));
  EXPECT_EQ(fixed->Get()->access_key_id, "AKID");
}

TEST(Chain, AProfileNamedButMissingIsAnErrorNotAFallback) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  http.answers["GET http://169.254.170.2/v2/credentials/abc"] = {
      Answer(200, CredentialsBody("ASIATASK", "2026-12-03T13:10:00Z"))};
  auto chain = MakeDefaultCredentialChain(
      Options(http, clock,
              {{"AWS_PROFILE", "prod"},
               {"HOME", "/home/u"},
               {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}},
              {{"/home/u/.aws/config", "[profile staging]\nregion = eu-west-1\n"}}));
  auto c = chain->Get();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message.find("'prod'"), std::string::npos) << c.error().message;
  EXPECT_TRUE(http.seen.empty()) << "not the task role instead";
}

TEST(Chain, TheContainerTokenGoesInTheClearOnlyToALoopbackAddress) {
  FakeHttp http;
  FakeClock clock(At(kNoon));
  const std::string evil = "http://127.attacker.example/creds";
  const std::string local = "http://localhost:8080/creds";
  http.answers["GET " + local] = {Answer(200, CredentialsBody("ASIA1", "2026-12-03T13:10:00Z"))};
  auto resolve = [](const std::string& host) -> Result<std::vector<std::string>> {
    if (host == "127.attacker.example") return std::vector<std::string>{"203.0.113.7"};
    if (host == "localhost") return std::vector<std::string>{"127.0.0.1", "::1"};
    return Unavailable("unknown host " + host);
  };
  ChainOptions options = Options(
      http, clock,
      {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", evil}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"}});
  options.resolve = resolve;
  auto refused = MakeDefaultCredentialChain(options)->Get();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(http.seen.empty());
  options = Options(http, clock,
                    {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", local},
                     {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "tok"}});
  options.resolve = resolve;
  EXPECT_EQ(MakeDefaultCredentialChain(options)->Get()->access_key_id, "ASIA1");
}

TEST(Chain, MissingInstanceMetadataIsProbedOnce) {
  FakeHttp http;  // not on EC2: nothing answers
  FakeClock clock(At(kNoon));
  auto chain = MakeDefaultCredentialChain(Options(http, clock, {}));
  EXPECT_FALSE(chain->Get());
  const size_t probes = http.seen.size();
  EXPECT_EQ(probes, 1U);
  clock.Advance(10min);  // past any backoff
  EXPECT_FALSE(chain->Get());
  EXPECT_EQ(http.seen.size(), probes);
}

TEST(Region, EnvironmentThenProfile) {
  FakeHttp http;
  FakeClock clock;
  EXPECT_EQ(ResolveRegion(Options(
                http, clock, {{"AWS_REGION", "ap-south-1"}, {"AWS_DEFAULT_REGION", "us-west-2"}})),
            "ap-south-1");
  EXPECT_EQ(ResolveRegion(Options(http, clock, {{"AWS_DEFAULT_REGION", "us-west-2"}})),
            "us-west-2");
  EXPECT_EQ(ResolveRegion(Options(http, clock, {{"HOME", "/h"}, {"AWS_PROFILE", "dev"}},
                                  {{"/h/.aws/config", "[profile dev]\nregion = eu-north-1\n"}})),
            "eu-north-1");
  EXPECT_EQ(ResolveRegion(Options(http, clock, {})), "");
}

}  // namespace
}  // namespace tempo::aws
