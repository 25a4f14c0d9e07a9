#include "tempo/aws/protocol.hpp"

#include "tempo/aws/xml.hpp"
#include "tempo/base/backoff.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/net/client.hpp"

#include <boost/throw_exception.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace tempo::aws {

namespace services {
const ServiceInfo kS3{"s3", "s3", "s3", "S3", Protocol::kRestXml, "", "2006-03-01"};
const ServiceInfo kEcs{
    "ecs",       "ecs", "ecs", "ECS", Protocol::kJson11, "AmazonEC2ContainerServiceV20141113",
    "2014-11-13"};
const ServiceInfo kEcr{
    "ecr",       "ecr", "api.ecr", "ECR", Protocol::kJson11, "AmazonEC2ContainerRegistry_V20150921",
    "2015-09-21"};
const ServiceInfo kLogs{"logs",          "logs",      "logs", "CLOUDWATCH_LOGS", Protocol::kJson11,
                        "Logs_20140328", "2014-03-28"};
const ServiceInfo kSecretsManager{"secretsmanager",  "secretsmanager",  "secretsmanager",
                                  "SECRETS_MANAGER", Protocol::kJson11, "secretsmanager",
                                  "2017-10-17"};
const ServiceInfo kAutoScaling{"application-autoscaling",
                               "application-autoscaling",
                               "application-autoscaling",
                               "APPLICATION_AUTO_SCALING",
                               Protocol::kJson11,
                               "AnyScaleFrontendService",
                               "2016-02-06"};
const ServiceInfo kElbv2{"elasticloadbalancing",
                         "elasticloadbalancing",
                         "elasticloadbalancing",
                         "ELASTIC_LOAD_BALANCING_V2",
                         Protocol::kQuery,
                         "",
                         "2015-12-01"};
const ServiceInfo kIam{"iam", "iam", "iam", "IAM", Protocol::kQuery, "", "2010-05-08", true};
const ServiceInfo kSts{"sts", "sts", "sts", "STS", Protocol::kQuery, "", "2011-06-15"};
}  // namespace services

namespace {

constexpr std::array<const ServiceInfo*, 9> kAllServices = {&services::kS3,
                                                            &services::kEcs,
                                                            &services::kEcr,
                                                            &services::kLogs,
                                                            &services::kSecretsManager,
                                                            &services::kAutoScaling,
                                                            &services::kElbv2,
                                                            &services::kIam,
                                                            &services::kSts};

std::string StripTrailingSlash(std::string url) {
  while (url.ends_with('/')) url.pop_back();
  return url;
}

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string HeaderOr(const net::Response& response, std::string_view a, std::string_view b) {
  if (auto v = response.headers.Find(a)) return std::string(*v);
  if (auto v = response.headers.Find(b)) return std::string(*v);
  return {};
}

// "aws.protocoltests#FooError:http://internal..." -> "FooError" (the JSON protocols' forms).
std::string JsonErrorCode(std::string_view type) {
  if (const size_t hash = type.rfind('#'); hash != std::string_view::npos) {
    type = type.substr(hash + 1);
  }
  if (const size_t colon = type.find(':'); colon != std::string_view::npos) {
    type = type.substr(0, colon);
  }
  return std::string(Trim(type));
}

std::string CodeForStatus(int status) {
  switch (status) {
    case 301:
      return "PermanentRedirect";
    case 304:
      return "NotModified";
    case 400:
      return "BadRequest";
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 409:
      return "Conflict";
    case 412:
      return "PreconditionFailed";
    case 429:
      return "TooManyRequests";
    case 503:
      return "ServiceUnavailable";
    default:
      return status >= 500 ? "InternalError" : fmt::format("Http{}", status);
  }
}

}  // namespace

const ServiceInfo* FindService(std::string_view id) {
  for (const ServiceInfo* s : kAllServices) {
    if (s->id == id) return s;
  }
  return nullptr;
}

EndpointOverrides EveryServiceAt(std::string_view url) {
  EndpointOverrides out;
  for (const ServiceInfo* s : kAllServices) out.emplace(s->id, url);
  return out;
}

Result<std::string> EndpointUrl(const ServiceInfo& service, std::string_view region,
                                const EndpointOverrides& overrides, const EnvLookup& env) {
  std::string url;
  if (auto it = overrides.find(service.id); it != overrides.end() && !it->second.empty()) {
    url = it->second;
  } else if (auto v = env(fmt::format("AWS_ENDPOINT_URL_{}", service.env_suffix));
             v && !v->empty()) {
    url = *v;
  } else if (auto all = env("AWS_ENDPOINT_URL"); all && !all->empty()) {
    url = *all;
  } else if (service.global) {
    url = fmt::format("https://{}.amazonaws.com", service.endpoint_prefix);
  } else {
    if (region.empty()) {
      return InvalidArgument(fmt::format("no AWS region for {} (set AWS_REGION)", service.id));
    }
    url = fmt::format("https://{}.{}.amazonaws.com", service.endpoint_prefix, region);
  }
  auto parsed = net::ParseClientUrl(url);
  if (!parsed || (parsed->scheme != "http" && parsed->scheme != "https")) {
    return InvalidArgument(fmt::format("endpoint for {} is not an http(s) URL", service.id));
  }
  return StripTrailingSlash(std::move(url));
}

std::string_view SigningRegion(const ServiceInfo& service, std::string_view region) {
  return service.global ? std::string_view("us-east-1") : region;
}

std::string QueryBody(const ServiceInfo& service, std::string_view action,
                      const QueryParams& params) {
  std::string out = "Action=";
  PercentEncodeTo(action, out);
  out += "&Version=";
  PercentEncodeTo(service.api_version, out);
  for (const auto& [name, value] : params) {
    out += '&';
    PercentEncodeTo(name, out);
    out += '=';
    PercentEncodeTo(value, out);
  }
  return out;
}

Error AwsError::ToError(std::string_view what) const {
  std::string text = status == 0 ? fmt::format("{}: {}", what, message)
                                 : fmt::format("{}: {}: {}", what, code, message);
  if (status != 0) {
    text += fmt::format(" (HTTP {}", status);
    if (!request_id.empty()) text += fmt::format(", request id {}", request_id);
    text += ')';
  }
  return {kind, std::move(text)};
}

void throw_exception_from_error(const AwsError& e, const boost::source_location& loc) {
  boost::throw_exception(ErrorException(e.ToError("AWS")), loc);
}

AwsError ParseAwsError(Protocol protocol, const net::Response& response) {
  AwsError error;
  error.status = response.status;
  error.request_id = HeaderOr(response, "x-amzn-RequestId", "x-amz-request-id");
  const auto json_doc = protocol == Protocol::kJson11
                            ? nlohmann::json::parse(response.body, nullptr, false)
                            : nlohmann::json();
  // A JSON service's error may still come as XML from whatever answered in front of it (a
  // gateway, an emulator), so a body that is not a JSON object is read as XML.
  if (json_doc.is_object()) {
    const auto& doc = json_doc;
    {
      for (const char* key : {"__type", "code", "Code"}) {
        if (auto it = doc.find(key); it != doc.end() && it->is_string()) {
          error.code = JsonErrorCode(it->get<std::string>());
          break;
        }
      }
      for (const char* key : {"message", "Message", "errorMessage"}) {
        if (auto it = doc.find(key); it != doc.end() && it->is_string()) {
          error.message = it->get<std::string>();
          break;
        }
      }
    }
  } else if (auto doc = XmlDoc::Parse(response.body)) {
    // Query: <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>;
    // S3: <Error><Code/><Message/><RequestId/></Error>.
    error.code = doc->Text("//Error/Code").value_or("");
    error.message = doc->Text("//Error/Message").value_or("");
    if (error.request_id.empty()) {
      error.request_id =
          doc->Text("//RequestId").value_or(doc->Text("//Error/RequestId").value_or(""));
    }
  }
  if (error.code.empty()) {
    if (auto type = response.headers.Find("x-amzn-ErrorType")) error.code = JsonErrorCode(*type);
  }
  if (error.code.empty()) error.code = CodeForStatus(response.status);
  if (error.message.empty()) error.message = std::string(net::StatusReason(response.status));
  ClassifyAwsError(error);
  return error;
}

AwsError TransportError(const Error& error) {
  AwsError out;
  out.code = std::string(ToString(error.code));
  out.message = error.message;
  out.kind = error.code == ErrorCode::kInvalidArgument ? ErrorCode::kInvalidArgument
                                                       : ErrorCode::kUnavailable;
  out.may_have_arrived = net::RequestMayHaveArrived(error);
  return out;
}

void ClassifyAwsError(AwsError& error) {
  const std::string_view code = error.code;
  static constexpr std::array<std::string_view, 10> kAuth = {"SignatureDoesNotMatch",
                                                             "InvalidClientTokenId",
                                                             "UnrecognizedClientException",
                                                             "InvalidAccessKeyId",
                                                             "ExpiredToken",
                                                             "ExpiredTokenException",
                                                             "InvalidSignatureException",
                                                             "IncompleteSignature",
                                                             "MissingAuthenticationToken",
                                                             "RequestExpired"};
  if (error.status == 0 || error.status >= 500) {
    error.kind = ErrorCode::kUnavailable;
  } else if (std::find(kAuth.begin(), kAuth.end(), code) != kAuth.end() ||
             code == "RequestTimeTooSkewed") {
    error.kind = ErrorCode::kUnauthenticated;
  } else if (Contains(code, "AccessDenied") || code == "UnauthorizedOperation" ||
             code == "Forbidden") {
    error.kind = ErrorCode::kPermissionDenied;
  } else if (IsRetryable(error)) {
    error.kind = ErrorCode::kResourceExhausted;
  } else if (Contains(code, "NotFound") || code.starts_with("NoSuch") || error.status == 404) {
    error.kind = ErrorCode::kNotFound;
  } else if (Contains(code, "AlreadyExists") || Contains(code, "AlreadyOwned") ||
             code == "EntityAlreadyExists" || code == "DuplicateTargetGroupName") {
    error.kind = ErrorCode::kAlreadyExists;
  } else if (Contains(code, "LimitExceeded") || code.starts_with("TooMany")) {
    error.kind = ErrorCode::kResourceExhausted;
  } else {
    error.kind = ErrorCode::kInvalidArgument;
  }
}

bool IsRetryable(const AwsError& error) {
  if (error.status == 0) return error.kind != ErrorCode::kInvalidArgument;
  if (error.status >= 500 || IsThrottling(error)) return true;
  static constexpr std::array<std::string_view, 5> kTransient = {
      "TransactionInProgressException", "PriorRequestNotComplete", "RequestTimeout",
      "RequestTimeoutException", "IDPCommunicationError"};
  return std::find(kTransient.begin(), kTransient.end(), error.code) != kTransient.end();
}

bool IsThrottling(const AwsError& error) {
  static constexpr std::array<std::string_view, 11> kThrottling = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "RequestThrottled",
      "SlowDown",
      "EC2ThrottledException"};
  return error.status == 429 ||
         std::find(kThrottling.begin(), kThrottling.end(), error.code) != kThrottling.end();
}

AwsError MalformedAnswer(std::string what) {
  AwsError error;
  error.status = 200;
  error.code = "MalformedResponse";
  error.message = std::move(what);
  error.kind = ErrorCode::kProtocol;
  return error;
}

Idempotency IdempotencyOf(std::string_view operation) {
  static constexpr std::array<std::string_view, 15> kIdempotent = {
      "Describe", "List",  "Get",    "Head",   "Put",    "Update", "Modify",    "Set",
      "Tag",      "Untag", "Attach", "Detach", "Delete", "Remove", "Deregister"};
  for (const auto prefix : kIdempotent) {
    if (operation.starts_with(prefix)) return Idempotency::kIdempotent;
  }
  return Idempotency::kNotIdempotent;
}

bool MayRetry(const AwsError& error, Idempotency idempotency) {
  if (!IsRetryable(error)) return false;
  if (idempotency == Idempotency::kIdempotent) return true;
  if (error.status == 0) return !error.may_have_arrived;
  return IsThrottling(error);
}

std::chrono::milliseconds FullJitterDelay(const RetryPolicy& policy, int retry, double random,
                                          bool throttled) {
  return tempo::FullJitterDelay(throttled ? policy.throttled_base : policy.base, policy.cap, retry,
                                random);
}

}  // namespace tempo::aws
