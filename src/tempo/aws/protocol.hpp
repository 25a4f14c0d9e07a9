#pragma once

// The wire protocols of the AWS services we call, sans-I/O: which service speaks what, where
// its endpoint is, how a request is laid out, how an error answer reads, and whether it is
// worth retrying. The client (client.hpp) puts these together with SigV4 and the network.

#include "tempo/aws/credentials.hpp"
#include "tempo/base/result.hpp"
#include "tempo/net/http.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::aws {

enum class Protocol {
  kJson11,   ///< POST / with X-Amz-Target and an application/x-amz-json-1.1 body
  kQuery,    ///< POST / with a form body (Action, Version, ...), XML answers
  kRestXml,  ///< S3: the method and path say what; XML answers
};

/// A service as our clients call it (values from the services' published models).
struct ServiceInfo {
  std::string_view id;               ///< our name and the key of endpoint overrides: "ecs"
  std::string_view signing_name;     ///< SigV4 service: "ecs", "elasticloadbalancing"
  std::string_view endpoint_prefix;  ///< "{prefix}.{region}.amazonaws.com": "api.ecr"
  std::string_view env_suffix;       ///< AWS_ENDPOINT_URL_<suffix>: "ECS", "CLOUDWATCH_LOGS"
  Protocol protocol;
  std::string_view target_prefix;  ///< JSON 1.1: "AmazonEC2ContainerServiceV20141113"
  std::string_view api_version;    ///< Query: "2015-12-01"
  bool global = false;             ///< one endpoint for every region, signed for us-east-1
};

namespace services {
extern const ServiceInfo kS3;
extern const ServiceInfo kEcs;
extern const ServiceInfo kEcr;
extern const ServiceInfo kLogs;
extern const ServiceInfo kSecretsManager;
extern const ServiceInfo kAutoScaling;  ///< Application Auto Scaling
extern const ServiceInfo kElbv2;
extern const ServiceInfo kIam;
extern const ServiceInfo kSts;
}  // namespace services

/// The service named `id` ("s3", "ecs", ...), or null.
const ServiceInfo* FindService(std::string_view id);

/// Endpoint overrides by service id (for moto and VPC endpoints), e.g. {"s3": "http://..."}.
using EndpointOverrides = std::map<std::string, std::string, std::less<>>;

/// Every service we call at `url` (moto, one proxy in front of them all).
EndpointOverrides EveryServiceAt(std::string_view url);

/// Where `service` is reached, in the SDKs' order: `overrides`, then AWS_ENDPOINT_URL_<SUFFIX>,
/// then AWS_ENDPOINT_URL, then https://{prefix}.{region}.amazonaws.com (the global endpoint
/// for IAM). The answer has no trailing '/'. Errors: kInvalidArgument for a URL that is not
/// http(s) or a regional service without a region.
Result<std::string> EndpointUrl(const ServiceInfo& service, std::string_view region,
                                const EndpointOverrides& overrides, const EnvLookup& env);

/// The region to sign for: us-east-1 for global services, else `region`.
std::string_view SigningRegion(const ServiceInfo& service, std::string_view region);

/// (name, value) parameters of a Query call, in order ("Conditions.member.1.Field").
using QueryParams = std::vector<std::pair<std::string, std::string>>;

/// "Action=X&Version=Y&..." with every name and value percent-encoded (RFC 3986).
std::string QueryBody(const ServiceInfo& service, std::string_view action,
                      const QueryParams& params);

/// An error answer of an AWS service, as the service said it.
struct AwsError {
  int status = 0;    ///< HTTP status; 0 when no answer came (network failure)
  std::string code;  ///< "ThrottlingException", "SignatureDoesNotMatch", ...
  std::string message;
  std::string request_id;                 ///< x-amzn-RequestId / x-amz-request-id / <RequestId>
  ErrorCode kind = ErrorCode::kInternal;  ///< our class of it (see ClassifyAwsError)
  /// No answer (status 0): whether the request may still have reached the service (it was
  /// sent, and the answer was lost). False when it failed before a byte was sent.
  bool may_have_arrived = true;

  /// "ecs CreateService: ClusterNotFoundException: Cluster not found. (HTTP 400, request id
  /// …)" as a tempo::Error of `kind`.
  [[nodiscard]] Error ToError(std::string_view what) const;
};

/// The result of an AWS call: a value or the service's error.
template <class T>
using AwsResult = boost::system::result<T, AwsError>;

/// Found by ADL so that AwsResult::value() throws (edges only).
[[noreturn]] void throw_exception_from_error(const AwsError& e, const boost::source_location& loc);

/// A 2xx answer we cannot read (code MalformedResponse, kind kProtocol).
AwsError MalformedAnswer(std::string what);

/// Reads an error answer of `protocol` (status >= 300). Never fails: an unreadable body still
/// gives the status and a code derived from it.
AwsError ParseAwsError(Protocol protocol, const net::Response& response);

/// The AwsError of a request that got no answer (connect, TLS or timeout failure).
AwsError TransportError(const Error& error);

/// Fills `error.kind`: kUnauthenticated (bad or expired keys, bad signature),
/// kPermissionDenied (AccessDenied), kNotFound (…NotFound…, NoSuch…), kAlreadyExists,
/// kResourceExhausted (throttling, limits), kUnavailable (5xx, no answer),
/// kInvalidArgument otherwise.
void ClassifyAwsError(AwsError& error);

/// Whether a retry may succeed: no answer, 5xx, 429, throttling and transient codes.
bool IsRetryable(const AwsError& error);
/// Whether the service turned the request away for its rate (429, throttling codes): it did
/// not act on it.
bool IsThrottling(const AwsError& error);

/// Whether sending an operation twice does what sending it once does.
enum class Idempotency {
  kIdempotent,     ///< reads, puts of a given state, deletes, creates with a client token
  kNotIdempotent,  ///< a create without a client token: twice may make two
};
/// By the operation's name: Describe/List/Get/Head, Put/Update/Modify/Set/Tag/Untag/Attach/
/// Detach and Delete/Remove/Deregister are idempotent; anything else (Create, Register, Run,
/// ...) is not, unless the caller sends a client token.
Idempotency IdempotencyOf(std::string_view operation);
/// Whether to send the request again after `error`: a retryable error, and for an operation
/// that is not idempotent only when the service cannot have acted on it (it throttled the
/// request, or the request never reached it). A lost answer to a create is not retried:
/// repeating it would make a duplicate (or fail with PriorityInUse).
bool MayRetry(const AwsError& error, Idempotency idempotency);

/// The SDKs' "standard" retry mode: exponential backoff with full jitter (before retry n,
/// 1-based, wait uniform(0, min(cap, base * 2^(n-1)))), a longer base for throttling, and a
/// token bucket per client so that an outage does not turn every call into a retry storm.
struct RetryPolicy {
  int max_attempts = 3;  ///< including the first
  std::chrono::milliseconds base{100};
  std::chrono::milliseconds cap{20'000};
  std::chrono::milliseconds throttled_base{1'000};
  int bucket_capacity = 500;  ///< retry tokens; a success after a retry gives its cost back
  int retry_cost = 5;
  int timeout_retry_cost = 10;  ///< a retry after no answer
};

/// The wait before retry `retry` (1-based) for a uniform `random` in [0, 1).
std::chrono::milliseconds FullJitterDelay(const RetryPolicy& policy, int retry, double random,
                                          bool throttled = false);

}  // namespace tempo::aws
