#pragma once

// Calls AWS services: endpoint, SigV4, the network (net::), error answers and retries with
// full jitter. Blocking: run it on a worker thread (the deployer's, a store's uploader),
// never on an I/O thread.

#include "tempo/aws/credential_chain.hpp"
#include "tempo/aws/protocol.hpp"
#include "tempo/base/clock.hpp"
#include "tempo/net/http.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tempo::aws {

struct ClientOptions {
  std::string region;
  std::shared_ptr<CredentialProvider> credentials;
  HttpFetch fetch = BlockingFetch();
  EnvLookup env = ProcessEnvironment();
  EndpointOverrides endpoints;
  const Clock* clock = &SystemClock::Instance();
  /// Waits between retries (tests make it free).
  std::function<void(std::chrono::milliseconds)> sleep;
  RetryPolicy retry;
  std::chrono::milliseconds timeout{30'000};
  /// S3 addressing: bucket in the path ("http://host/bucket/key"); otherwise in the host
  /// ("bucket.s3.region.amazonaws.com"). Always on for an overridden S3 endpoint, and for
  /// bucket names with dots (TLS certificates do not cover them).
  bool s3_path_style = false;
};

/// An S3 request (REST-XML). GET, HEAD, PUT and DELETE are retried; POST (multipart
/// create and complete) only when the service cannot have acted on it.
struct S3Request {
  net::Method method = net::Method::kGet;
  std::string bucket;  ///< empty for ListBuckets
  std::string key;     ///< object key, not encoded; empty for bucket operations
  std::string query;   ///< already encoded ("uploads", "partNumber=1&uploadId=…")
  net::Headers headers;
  std::string body;
  /// Objects are read whole into memory; recordings of long calls run to tens of MiB.
  size_t max_response_bytes = size_t{256} * 1024 * 1024;
};

/// Totals since construction (for benchmarks and /metrics).
struct ClientStats {
  uint64_t requests = 0;  ///< every attempt sent
  uint64_t retries = 0;
  uint64_t retries_refused = 0;  ///< a retry the token bucket did not allow (an outage)
};

class Client {
 public:
  explicit Client(ClientOptions options);

  /// A JSON 1.1 operation (ECS, ECR, Logs, Secrets Manager, Application Auto Scaling): the
  /// answer's JSON object.
  AwsResult<nlohmann::json> CallJson(const ServiceInfo& service, std::string_view operation,
                                     const nlohmann::json& input);
  /// A Query operation (ELBv2, IAM, STS): the answer's XML text.
  AwsResult<std::string> CallQuery(const ServiceInfo& service, std::string_view action,
                                   const QueryParams& params);
  /// An S3 operation: the answer (2xx) with its headers and body.
  AwsResult<net::Response> CallS3(const S3Request& request);

  /// A presigned GET URL of an object, valid for `expires`.
  Result<std::string> PresignS3Get(std::string_view bucket, std::string_view key,
                                   std::chrono::seconds expires);

  [[nodiscard]] const std::string& region() const { return options_.region; }
  [[nodiscard]] ClientStats stats() const {
    return {requests_.load(), retries_.load(), retries_refused_.load()};
  }

 private:
  struct Prepared;
  AwsResult<net::Response> Send(const ServiceInfo& service, std::string_view what,
                                Idempotency idempotency,
                                const std::function<Result<Prepared>()>& prepare);
  /// Takes the tokens of a retry after `error`; false when the bucket is too low.
  bool TakeRetryTokens(const AwsError& error, int& cost);
  void ReturnTokens(int tokens);
  Result<Prepared> PrepareS3(const S3Request& request, std::string_view endpoint);
  // Sets up what every protocol shares: URL, Host, the body and its hash.
  static Result<void> Frame(std::string_view endpoint, std::string path, std::string query,
                            net::Method method, std::string body, Prepared& out);

  ClientOptions options_;
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> retries_refused_{0};
  std::atomic<int> bucket_;
};

}  // namespace tempo::aws
