#include "tempo/aws/protocol.hpp"

#include "tempo/aws/client.hpp"

#include "aws_test_support.hpp"
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace tempo::aws {
namespace {

using namespace std::chrono_literals;
using testing::Answer;
using testing::Env;

TEST(Endpoints, OverridesEnvironmentDefaults) {
  const EnvLookup none = Env({});
  EXPECT_EQ(*EndpointUrl(services::kEcs, "eu-west-1", {}, none),
            "https://ecs.eu-west-1.amazonaws.com");
  EXPECT_EQ(*EndpointUrl(services::kEcr, "eu-west-1", {}, none),
            "https://api.ecr.eu-west-1.amazonaws.com");
  EXPECT_EQ(*EndpointUrl(services::kIam, "eu-west-1", {}, none), "https://iam.amazonaws.com");
  EXPECT_EQ(SigningRegion(services::kIam, "eu-west-1"), "us-east-1");
  EXPECT_EQ(SigningRegion(services::kEcs, "eu-west-1"), "eu-west-1");
  const EnvLookup env = Env({{"AWS_ENDPOINT_URL", "http://127.0.0.1:5000/"},
                             {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"}});
  EXPECT_EQ(*EndpointUrl(services::kEcs, "eu-west-1", {}, env), "http://127.0.0.1:5000");
  EXPECT_EQ(*EndpointUrl(services::kS3, "eu-west-1", {}, env), "http://127.0.0.1:9000");
  EXPECT_EQ(*EndpointUrl(services::kS3, "eu-west-1", {{"s3", "https://vpce.example"}}, env),
            "https://vpce.example");
  EXPECT_FALSE(EndpointUrl(services::kEcs, "", {}, none));
  EXPECT_FALSE(EndpointUrl(services::kEcs, "eu-west-1", {{"ecs", "ftp://x"}}, none));
  ASSERT_NE(FindService("elasticloadbalancing"), nullptr);
  EXPECT_EQ(FindService("elasticloadbalancing")->api_version, "2015-12-01");
  EXPECT_EQ(FindService("nope"), nullptr);
}

TEST(QueryProtocol, BodyEncoding) {
  EXPECT_EQ(QueryBody(services::kElbv2, "CreateRule",
                      {{"Conditions.member.1.Field", "path-pattern"},
                       {"Conditions.member.1.PathPatternConfig.Values.member.1", "/agent/a 1/*"}}),
            "Action=CreateRule&Version=2015-12-01&Conditions.member.1.Field=path-pattern&"
            "Conditions.member.1.PathPatternConfig.Values.member.1=%2Fagent%2Fa%201%2F%2A");
}

TEST(Errors, JsonProtocol) {
  net::Headers headers;
  headers.Add("x-amzn-RequestId", "req-1");
  const AwsError e = ParseAwsError(
      Protocol::kJson11,
      Answer(
          400,
          R"({"__type":"com.amazonaws.ecs#ClusterNotFoundException","message":"Cluster not found."})",
          headers));
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.code, "ClusterNotFoundException");
  EXPECT_EQ(e.message, "Cluster not found.");
  EXPECT_EQ(e.request_id, "req-1");
  EXPECT_EQ(e.kind, ErrorCode::kNotFound);
  EXPECT_FALSE(IsRetryable(e));
  const Error as_error = e.ToError("ecs DescribeClusters");
  EXPECT_EQ(as_error.code, ErrorCode::kNotFound);
  EXPECT_EQ(as_error.message,
            "ecs DescribeClusters: ClusterNotFoundException: Cluster not found. (HTTP 400, "
            "request id req-1)");

  const AwsError throttled =
      ParseAwsError(Protocol::kJson11,
                    Answer(400, R"({"__type":"ThrottlingException","Message":"Rate exceeded"})"));
  EXPECT_TRUE(IsRetryable(throttled));
  EXPECT_EQ(throttled.kind, ErrorCode::kResourceExhausted);

  net::Headers typed;
  typed.Add("x-amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/");
  const AwsError denied = ParseAwsError(Protocol::kJson11, Answer(403, "", typed));
  EXPECT_EQ(denied.code, "AccessDeniedException");
  EXPECT_EQ(denied.kind, ErrorCode::kPermissionDenied);
}

TEST(Errors, QueryAndS3Xml) {
  const AwsError q = ParseAwsError(
      Protocol::kQuery,
      Answer(403,
             "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>"
             "<Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request "
             "signature we calculated does not match</Message></Error><RequestId>rq-2"
             "</RequestId></ErrorResponse>"));
  EXPECT_EQ(q.code, "SignatureDoesNotMatch");
  EXPECT_EQ(q.request_id, "rq-2");
  EXPECT_EQ(q.kind, ErrorCode::kUnauthenticated);
  EXPECT_FALSE(IsRetryable(q));

  const AwsError s3 =
      ParseAwsError(Protocol::kRestXml,
                    Answer(404,
                           "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The "
                           "specified bucket does not exist</Message><BucketName>b</BucketName>"
                           "<RequestId>s3-3</RequestId></Error>"));
  EXPECT_EQ(s3.code, "NoSuchBucket");
  EXPECT_EQ(s3.request_id, "s3-3");
  EXPECT_EQ(s3.kind, ErrorCode::kNotFound);

  const AwsError slow =
      ParseAwsError(Protocol::kRestXml,
                    Answer(503, "<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>"));
  EXPECT_TRUE(IsRetryable(slow));
  EXPECT_EQ(slow.kind, ErrorCode::kUnavailable);

  // HEAD answers and proxies' HTML pages carry no AWS error body.
  const AwsError bare = ParseAwsError(Protocol::kRestXml, Answer(404, ""));
  EXPECT_EQ(bare.code, "NotFound");
  EXPECT_EQ(bare.kind, ErrorCode::kNotFound);
  const AwsError html = ParseAwsError(Protocol::kQuery, Answer(502, "<html><body>Bad gateway"));
  EXPECT_EQ(html.code, "InternalError");
  EXPECT_TRUE(IsRetryable(html));
}

TEST(Retry, FullJitterStaysUnderTheExponentialCeiling) {
  const RetryPolicy policy{5, 100ms, 1'000ms};
  EXPECT_EQ(FullJitterDelay(policy, 1, 0.0), 0ms);
  EXPECT_EQ(FullJitterDelay(policy, 1, 0.999), 99ms);
  EXPECT_EQ(FullJitterDelay(policy, 3, 0.5), 200ms);     // ceiling 400 ms
  EXPECT_EQ(FullJitterDelay(policy, 10, 0.5), 500ms);    // capped at 1 s
  EXPECT_EQ(FullJitterDelay(policy, 60, 0.999), 999ms);  // no overflow
}

// A stand-in for one AWS endpoint: answers from a script, records what it was sent.
struct ScriptedAws {
  std::vector<Result<net::Response>> script;
  std::vector<net::ClientRequest> seen;
  HttpFetch Fetch() {
    return [this](net::ClientRequest request) -> Result<net::Response> {
      seen.push_back(request);
      if (seen.size() > script.size()) return Unavailable("script exhausted");
      return script[seen.size() - 1];
    };
  }
};

ClientOptions Options(ScriptedAws& aws, std::vector<std::chrono::milliseconds>& slept) {
  ClientOptions o;
  o.region = "eu-west-1";
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = AwsSecretKey("secret");
  o.credentials = MakeStaticCredentials(c);
  o.fetch = aws.Fetch();
  o.env = Env({});
  o.sleep = [&slept](std::chrono::milliseconds d) { slept.push_back(d); };
  return o;
}

TEST(Client, JsonCallLayoutAndRetryOnThrottling) {
  ScriptedAws aws;
  // A create is sent again when the service turned it away for its rate (it did nothing).
  aws.script = {Answer(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})"),
                Answer(429, ""), Answer(200, R"({"cluster":{"clusterName":"tempo"}})")};
  std::vector<std::chrono::milliseconds> slept;
  Client client(Options(aws, slept));
  auto out = client.CallJson(services::kEcs, "CreateCluster", {{"clusterName", "tempo"}});
  ASSERT_TRUE(out) << out.error().ToError("x").ToString();
  EXPECT_EQ((*out)["cluster"]["clusterName"], "tempo");
  ASSERT_EQ(aws.seen.size(), 3U);
  EXPECT_EQ(slept.size(), 2U);
  EXPECT_EQ(client.stats().requests, 3U);
  EXPECT_EQ(client.stats().retries, 2U);
  const net::ClientRequest& r = aws.seen[0];
  EXPECT_EQ(r.method, net::Method::kPost);
  EXPECT_EQ(r.url, "https://ecs.eu-west-1.amazonaws.com/");
  EXPECT_EQ(r.body, R"({"clusterName":"tempo"})");
  EXPECT_EQ(r.headers.Find("X-Amz-Target").value_or(""),
            "AmazonEC2ContainerServiceV20141113.CreateCluster");
  EXPECT_EQ(r.headers.Find("Content-Type").value_or(""), "application/x-amz-json-1.1");
  const std::string auth(r.headers.Find("Authorization").value_or(""));
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", 0), 0U) << auth;
  EXPECT_NE(auth.find("/eu-west-1/ecs/aws4_request"), std::string::npos);
  EXPECT_NE(auth.find("SignedHeaders=content-type;host;x-amz-date;x-amz-target"), std::string::npos)
      << auth;
}

TEST(Client, ClientErrorsAreNotRetried) {
  ScriptedAws aws;
  aws.script = {Answer(400, R"({"__type":"InvalidParameterException","message":"bad"})")};
  std::vector<std::chrono::milliseconds> slept;
  Client client(Options(aws, slept));
  auto out = client.CallJson(services::kEcs, "CreateService", nlohmann::json::object());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, "InvalidParameterException");
  EXPECT_EQ(aws.seen.size(), 1U);
  EXPECT_TRUE(slept.empty());
}

TEST(Client, GivesUpAfterMaxAttemptsWithTheLastError) {
  ScriptedAws aws;
  for (int i = 0; i < 5; ++i) aws.script.push_back(Unavailable("connection refused"));
  std::vector<std::chrono::milliseconds> slept;
  Client client(Options(aws, slept));
  auto out = client.CallQuery(services::kElbv2, "DescribeLoadBalancers", {});
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().status, 0);
  EXPECT_EQ(out.error().kind, ErrorCode::kUnavailable);
  EXPECT_EQ(aws.seen.size(), 3U);  // the SDKs' standard mode: three attempts
  EXPECT_EQ(slept.size(), 2U);
  EXPECT_EQ(aws.seen[0].body, "Action=DescribeLoadBalancers&Version=2015-12-01");
}

// Issue #24: a create whose answer was lost may have been done; sending it again would make a
// duplicate (RegisterTaskDefinition) or fail (CreateRule: PriorityInUse). It is sent again
// only when it cannot have arrived, or when a client token makes it safe.
TEST(Client, ACreateIsSentAgainOnlyWhenThatIsSafe) {
  EXPECT_EQ(IdempotencyOf("CreateService"), Idempotency::kNotIdempotent);
  EXPECT_EQ(IdempotencyOf("RegisterTaskDefinition"), Idempotency::kNotIdempotent);
  EXPECT_EQ(IdempotencyOf("DescribeServices"), Idempotency::kIdempotent);
  EXPECT_EQ(IdempotencyOf("DeleteService"), Idempotency::kIdempotent);
  EXPECT_EQ(IdempotencyOf("PutBucketVersioning"), Idempotency::kIdempotent);
  const Error lost{ErrorCode::kDeadlineExceeded, "cannot read response from ecs:443: timeout"};
  const Error refused = Unavailable("cannot connect to ecs:443: Connection refused");
  std::vector<std::chrono::milliseconds> slept;
  {
    ScriptedAws aws;
    aws.script = {lost, Answer(200, "{}")};
    Client client(Options(aws, slept));
    auto out = client.CallJson(services::kEcs, "CreateService", {{"serviceName", "a1"}});
    ASSERT_FALSE(out);
    EXPECT_EQ(aws.seen.size(), 1U) << "the answer was lost: it may have been created";
  }
  {
    ScriptedAws aws;
    aws.script = {Answer(500, R"({"__type":"ServerException","message":"oops"})"),
                  Answer(200, "{}")};
    Client client(Options(aws, slept));
    EXPECT_FALSE(client.CallJson(services::kEcs, "CreateService", {{"serviceName", "a1"}}));
    EXPECT_EQ(aws.seen.size(), 1U) << "a 500 does not say the create was not done";
  }
  {
    ScriptedAws aws;
    aws.script = {refused, Answer(200, "{}")};
    Client client(Options(aws, slept));
    EXPECT_TRUE(client.CallJson(services::kEcs, "CreateService", {{"serviceName", "a1"}}));
    EXPECT_EQ(aws.seen.size(), 2U) << "never reached the service: safe to send again";
  }
  {
    ScriptedAws aws;
    aws.script = {lost, Answer(200, "{}")};
    Client client(Options(aws, slept));
    EXPECT_TRUE(client.CallJson(services::kEcs, "CreateService",
                                {{"serviceName", "a1"}, {"clientToken", "deploy-a1-7"}}));
    EXPECT_EQ(aws.seen.size(), 2U) << "a client token makes the create safe to repeat";
  }
  {
    ScriptedAws aws;
    aws.script = {lost, Answer(200, "{}")};
    Client client(Options(aws, slept));
    EXPECT_TRUE(client.CallJson(services::kSecretsManager, "CreateSecret",
                                {{"Name", "tempo/agents/a1/twilio"},
                                 {"ClientRequestToken", "5c2b7a0e-4d7f-4b8e-9f00-0a1b2c3d4e5f"}}));
    EXPECT_EQ(aws.seen.size(), 2U) << "Secrets Manager's ClientRequestToken too";
  }
  {
    ScriptedAws aws;
    aws.script = {lost, Answer(200, "")};
    Client client(Options(aws, slept));
    S3Request put;
    put.method = net::Method::kPut;
    put.bucket = "tempo-agent-transcripts-a1";
    put.key = "calls/CA1/metadata.json";
    EXPECT_TRUE(client.CallS3(put));
    EXPECT_EQ(aws.seen.size(), 2U) << "a PUT of the same object is idempotent";
  }
}

// The SDKs' standard retry mode: throttling waits longer, and a token bucket stops a retry
// storm when everything fails.
TEST(Client, StandardRetryModeBacksOffLongerForThrottlingAndStopsARetryStorm) {
  const RetryPolicy policy;
  EXPECT_EQ(FullJitterDelay(policy, 1, 0.5), 50ms);
  EXPECT_EQ(FullJitterDelay(policy, 1, 0.5, /*throttled=*/true), 500ms);
  EXPECT_EQ(FullJitterDelay(policy, 3, 0.5, true), 2000ms);
  EXPECT_EQ(FullJitterDelay(policy, 30, 0.999, true), 19980ms);  // capped at 20 s

  ScriptedAws aws;
  for (int i = 0; i < 20; ++i) aws.script.push_back(Answer(503, ""));
  std::vector<std::chrono::milliseconds> slept;
  ClientOptions options = Options(aws, slept);
  options.retry.bucket_capacity = 20;  // four retries of 5 tokens
  Client client(options);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(client.CallJson(services::kEcs, "ListClusters", {}));
  EXPECT_EQ(client.stats().retries, 4U);
  EXPECT_EQ(client.stats().retries_refused, 1U);
  EXPECT_EQ(aws.seen.size(), 3U + 4U);
}

TEST(Client, JsonThatIsNotUtf8IsSentWithReplacementsInsteadOfThrowing) {
  ScriptedAws aws;
  aws.script = {Answer(200, "{}")};
  std::vector<std::chrono::milliseconds> slept;
  Client client(Options(aws, slept));
  EXPECT_TRUE(client.CallJson(services::kLogs, "PutRetentionPolicy",
                              {{"logGroupName", std::string("/ecs/a\xff")}}));
  ASSERT_EQ(aws.seen.size(), 1U);
  EXPECT_EQ(aws.seen[0].body, "{\"logGroupName\":\"/ecs/a\xEF\xBF\xBD\"}");
}

TEST(Client, S3AddressingAndPayloadHash) {
  ScriptedAws aws;
  aws.script = {Answer(200, ""), Answer(200, "")};
  std::vector<std::chrono::milliseconds> slept;
  ClientOptions options = Options(aws, slept);
  Client virtual_hosted(options);
  S3Request put;
  put.method = net::Method::kPut;
  put.bucket = "tempo-agent-transcripts-a1";
  put.key = "calls/CA1/transcript file.json";
  put.body = "{}";
  ASSERT_TRUE(virtual_hosted.CallS3(put));
  EXPECT_EQ(aws.seen[0].url,
            "https://tempo-agent-transcripts-a1.s3.eu-west-1.amazonaws.com/calls/CA1/"
            "transcript%20file.json");
  EXPECT_EQ(aws.seen[0].headers.Find("x-amz-content-sha256").value_or(""),
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_EQ(aws.seen[0].headers.Find("Host").value_or(""),
            "tempo-agent-transcripts-a1.s3.eu-west-1.amazonaws.com");

  options.endpoints["s3"] = "http://127.0.0.1:5123";
  Client path_style(options);
  ASSERT_TRUE(path_style.CallS3(put));
  EXPECT_EQ(aws.seen[1].url,
            "http://127.0.0.1:5123/tempo-agent-transcripts-a1/calls/CA1/transcript%20file.json");
  EXPECT_EQ(aws.seen[1].headers.Find("Host").value_or(""), "127.0.0.1:5123");

  auto url = path_style.PresignS3Get("tempo-agent-transcripts-a1", "calls/CA1/recording.wav",
                                     std::chrono::seconds(300));
  ASSERT_TRUE(url);
  EXPECT_EQ(url->rfind("http://127.0.0.1:5123/tempo-agent-transcripts-a1/calls/CA1/"
                       "recording.wav?X-Amz-Algorithm=AWS4-HMAC-SHA256&",
                       0),
            0U)
      << *url;
  EXPECT_NE(url->find("X-Amz-Expires=300"), std::string::npos);
  EXPECT_NE(url->find("&X-Amz-Signature="), std::string::npos);
}

}  // namespace
}  // namespace tempo::aws
