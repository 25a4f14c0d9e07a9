#include "tempo/aws/client.hpp"

#include "tempo/aws/sigv4.hpp"
#include "tempo/base/digest.hpp"
#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/base/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>
#include <thread>

namespace tempo::aws {

struct Client::Prepared {
  net::ClientRequest request;  // url and body set; headers without the signature
  SignableRequest signable;
  SigningOptions signing;
};

namespace {

std::string HostHeader(const net::ClientUrl& url) {
  const bool default_port =
      (url.scheme == "https" && url.port == 443) || (url.scheme == "http" && url.port == 80);
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string host = v6 ? "[" + url.host + "]" : url.host;
  if (!default_port) host += fmt::format(":{}", url.port);
  return host;
}

// Process-wide, for /metrics and the benchmarks (Client::stats() is per client).
struct AwsMetrics {
  metrics::Counter& requests = metrics::Registry::Global().AddCounter(
      "tempo_aws_requests_total", "Requests sent to AWS services (every attempt)");
  metrics::Counter& retries = metrics::Registry::Global().AddCounter(
      "tempo_aws_retries_total", "AWS requests sent again after a retryable failure");
};
AwsMetrics& Metrics() {
  static AwsMetrics m;
  return m;
}

double UniformRandom() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

}  // namespace

Client::Client(ClientOptions options)
    : options_(std::move(options)), bucket_(options_.retry.bucket_capacity) {
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
}

bool Client::TakeRetryTokens(const AwsError& error, int& cost) {
  cost = error.status == 0 ? options_.retry.timeout_retry_cost : options_.retry.retry_cost;
  int tokens = bucket_.load(std::memory_order_relaxed);
  do {
    if (tokens < cost) return false;
  } while (!bucket_.compare_exchange_weak(tokens, tokens - cost, std::memory_order_relaxed));
  return true;
}

void Client::ReturnTokens(int tokens) {
  int now = bucket_.load(std::memory_order_relaxed);
  while (!bucket_.compare_exchange_weak(now, std::min(options_.retry.bucket_capacity, now + tokens),
                                        std::memory_order_relaxed)) {
  }
}

AwsResult<net::Response> Client::Send(const ServiceInfo& service, std::string_view what,
                                      Idempotency idempotency,
                                      const std::function<Result<Prepared>()>& prepare) {
  AwsError last;
  int last_cost = 0;  // tokens taken by the last retry
  for (int attempt = 1; attempt <= std::max(1, options_.retry.max_attempts); ++attempt) {
    if (attempt > 1) {
      if (!TakeRetryTokens(last, last_cost)) {
        retries_refused_.fetch_add(1, std::memory_order_relaxed);
        TEMPO_LOG(aws, warn, "{}: {} {}; not retried (too many retries lately)", what, last.code,
                  last.message);
        break;
      }
      retries_.fetch_add(1, std::memory_order_relaxed);
      Metrics().retries.Inc();
      const auto delay =
          FullJitterDelay(options_.retry, attempt - 1, UniformRandom(), IsThrottling(last));
      TEMPO_LOG(aws, info, "{}: {} {}, retry {} in {} ms", what, last.code, last.message,
                attempt - 1, delay.count());
      options_.sleep(delay);
    }
    if (!options_.credentials) return TransportError(Unauthenticated("no AWS credential provider"));
    auto credentials = options_.credentials->Get();
    if (!credentials) {
      AwsError error = TransportError(credentials.error());
      error.kind = credentials.error().code;
      return error;
    }
    // Prepared again on every attempt: the signature holds the time.
    auto prepared = prepare();
    if (!prepared) return TransportError(prepared.error());
    prepared->signing.time = options_.clock->WallNow();
    auto signed_parts = SignRequest(prepared->signable, *credentials, prepared->signing);
    if (!signed_parts) return TransportError(signed_parts.error());
    net::ClientRequest request = std::move(prepared->request);
    for (const auto& [name, value] : prepared->signable.headers) request.headers.Set(name, value);
    request.response_timeout = options_.timeout;
    requests_.fetch_add(1, std::memory_order_relaxed);
    Metrics().requests.Inc();
    auto response = options_.fetch(std::move(request));
    if (!response) {
      last = TransportError(response.error());
    } else if (response->status >= 200 && response->status < 300) {
      // The standard mode's bucket: a success gives back what its retry took, or one token.
      ReturnTokens(attempt > 1 ? last_cost : 1);
      return std::move(*response);
    } else {
      last = ParseAwsError(service.protocol, *response);
    }
    if (!MayRetry(last, idempotency)) break;
  }
  return last;
}

Result<void> Client::Frame(std::string_view endpoint, std::string path, std::string query,
                           net::Method method, std::string body, Prepared& out) {
  TEMPO_ASSIGN_OR_RETURN(const net::ClientUrl url, net::ParseClientUrl(endpoint));
  // An endpoint may carry a base path (a proxy's prefix); it goes before ours.
  const std::string& base = url.target == "/" ? std::string() : url.target;
  out.request.method = method;
  out.request.url = fmt::format("{}://{}{}{}{}{}", url.scheme, HostHeader(url), base, path,
                                query.empty() ? "" : "?", query);
  out.signable.method = std::string(net::ToString(method));
  out.signable.path = base + path;
  out.signable.query = std::move(query);
  out.signable.headers.emplace_back("Host", HostHeader(url));
  out.signable.payload_hash = Sha256Hex(body);
  out.request.body = std::move(body);
  return Ok();
}

AwsResult<nlohmann::json> Client::CallJson(const ServiceInfo& service, std::string_view operation,
                                           const nlohmann::json& input) {
  const std::string what = fmt::format("{} {}", service.id, operation);
  auto endpoint = EndpointUrl(service, options_.region, options_.endpoints, options_.env);
  if (!endpoint) return TransportError(endpoint.error());
  // DumpJson: text from outside (a name, an environment value) may not be UTF-8.
  const std::string body = DumpJson(input);
  // A client token makes a create safe to repeat: the service answers the first one again
  // (Secrets Manager calls it ClientRequestToken).
  const bool has_token =
      input.is_object() && (input.contains("clientToken") || input.contains("ClientToken") ||
                            input.contains("ClientRequestToken"));
  const Idempotency idempotency = has_token ? Idempotency::kIdempotent : IdempotencyOf(operation);
  auto response = Send(service, what, idempotency, [&]() -> Result<Prepared> {
    Prepared p;
    TEMPO_TRY(Frame(*endpoint, "/", "", net::Method::kPost, body, p));
    p.signable.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
    p.signable.headers.emplace_back("X-Amz-Target",
                                    fmt::format("{}.{}", service.target_prefix, operation));
    p.signing.region = std::string(SigningRegion(service, options_.region));
    p.signing.service = std::string(service.signing_name);
    return p;
  });
  if (!response) return response.error();
  // json converts to anything, so the result is built in place.
  if (response->body.empty()) {
    return AwsResult<nlohmann::json>(boost::system::in_place_value, nlohmann::json::object());
  }
  auto doc = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    AwsError error;
    error.status = response->status;
    error.code = "MalformedResponse";
    error.message = "the answer is not a JSON object";
    error.kind = ErrorCode::kProtocol;
    return error;
  }
  return AwsResult<nlohmann::json>(boost::system::in_place_value, std::move(doc));
}

AwsResult<std::string> Client::CallQuery(const ServiceInfo& service, std::string_view action,
                                         const QueryParams& params) {
  const std::string what = fmt::format("{} {}", service.id, action);
  auto endpoint = EndpointUrl(service, options_.region, options_.endpoints, options_.env);
  if (!endpoint) return TransportError(endpoint.error());
  const std::string body = QueryBody(service, action, params);
  const bool has_token = std::any_of(params.begin(), params.end(),
                                     [](const auto& p) { return p.first == "ClientToken"; });
  const Idempotency idempotency = has_token ? Idempotency::kIdempotent : IdempotencyOf(action);
  auto response = Send(service, what, idempotency, [&]() -> Result<Prepared> {
    Prepared p;
    TEMPO_TRY(Frame(*endpoint, "/", "", net::Method::kPost, body, p));
    p.signable.headers.emplace_back("Content-Type",
                                    "application/x-www-form-urlencoded; charset=utf-8");
    p.signing.region = std::string(SigningRegion(service, options_.region));
    p.signing.service = std::string(service.signing_name);
    return p;
  });
  if (!response) return response.error();
  return std::move(response->body);
}

Result<Client::Prepared> Client::PrepareS3(const S3Request& request, std::string_view endpoint) {
  TEMPO_ASSIGN_OR_RETURN(const net::ClientUrl url, net::ParseClientUrl(endpoint));
  const bool overridden = endpoint.find(".amazonaws.com") == std::string_view::npos;
  const bool path_style = options_.s3_path_style || overridden ||
                          request.bucket.find('.') != std::string::npos || request.bucket.empty();
  std::string encoded_key = PercentEncode(request.key, SpaceAs::kPercent20, /*keep_slash=*/true);
  std::string path;
  std::string host_endpoint(endpoint);
  if (path_style) {
    path = request.bucket.empty() ? "/" : "/" + request.bucket + "/" + encoded_key;
  } else {
    host_endpoint = fmt::format("{}://{}.{}", url.scheme, request.bucket, HostHeader(url));
    path = "/" + encoded_key;
  }
  Prepared p;
  TEMPO_TRY(Frame(host_endpoint, path, request.query, request.method, request.body, p));
  for (const auto& field : request.headers.fields()) {
    p.signable.headers.emplace_back(field.name, field.value);
  }
  p.signing.region = options_.region;
  p.signing.service = "s3";
  p.signing.path_encoding = PathEncoding::kAsSent;
  p.signing.normalize_path = false;
  p.signing.content_sha256_header = true;
  return p;
}

AwsResult<net::Response> Client::CallS3(const S3Request& request) {
  const std::string what = fmt::format("s3 {} {}", net::ToString(request.method), request.bucket);
  auto endpoint = EndpointUrl(services::kS3, options_.region, options_.endpoints, options_.env);
  if (!endpoint) return TransportError(endpoint.error());
  const Idempotency idempotency =
      request.method == net::Method::kPost ? Idempotency::kNotIdempotent : Idempotency::kIdempotent;
  return Send(services::kS3, what, idempotency, [&]() -> Result<Prepared> {
    TEMPO_ASSIGN_OR_RETURN(Prepared p, PrepareS3(request, *endpoint));
    p.request.max_response_bytes = request.max_response_bytes;
    return p;
  });
}

Result<std::string> Client::PresignS3Get(std::string_view bucket, std::string_view key,
                                         std::chrono::seconds expires) {
  TEMPO_ASSIGN_OR_RETURN(const std::string endpoint, EndpointUrl(services::kS3, options_.region,
                                                                 options_.endpoints, options_.env));
  if (!options_.credentials) return Unauthenticated("no AWS credential provider");
  TEMPO_ASSIGN_OR_RETURN(const Credentials credentials, options_.credentials->Get());
  S3Request request;
  request.bucket = std::string(bucket);
  request.key = std::string(key);
  TEMPO_ASSIGN_OR_RETURN(Prepared p, PrepareS3(request, endpoint));
  p.signable.payload_hash = std::string(kUnsignedPayload);
  p.signing.content_sha256_header = false;
  p.signing.expires = expires;
  p.signing.time = options_.clock->WallNow();
  TEMPO_TRY(PresignRequest(p.signable, credentials, p.signing));
  const std::string url = p.request.url.substr(0, p.request.url.find('?'));
  return url + "?" + p.signable.query;
}

}  // namespace tempo::aws
