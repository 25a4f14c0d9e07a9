#pragma once

// Where credentials come from at run time, in the AWS SDKs' order, with refresh before
// expiry. Fetches over HTTP through an injected function so tests can stand in for the
// metadata services that exist only on AWS.

#include "tempo/aws/credentials.hpp"
#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/net/client.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tempo::aws {

/// One blocking HTTP request (on the process's kept-alive net::HttpPool unless injected).
using HttpFetch = std::function<Result<net::Response>(net::ClientRequest)>;
HttpFetch BlockingFetch();

/// Hands out current credentials. Thread-safe; Get() blocks while it fetches.
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  /// Credentials valid for a while yet. Errors: kUnauthenticated when no source has any,
  /// kUnavailable when the source did not answer, others naming the bad configuration.
  virtual Result<Credentials> Get() = 0;
};

/// Always the same credentials.
std::shared_ptr<CredentialProvider> MakeStaticCredentials(Credentials credentials);

struct ChainOptions {
  EnvLookup env = ProcessEnvironment();
  HttpFetch fetch = BlockingFetch();
  const Clock* clock = &SystemClock::Instance();
  /// Reads a file (the shared files, token files); default: the file system.
  std::function<Result<std::string>(const std::string& path)> read_file;
  /// Profile name; empty: AWS_PROFILE, else "default".
  std::string profile;
  /// Temporary credentials are fetched again this long before they expire.
  std::chrono::seconds refresh_window{300};
  /// The numeric addresses of a host name (getaddrinfo unless injected): a container
  /// credentials URL over plain http must resolve to loopback or the ECS/EKS agent only.
  std::function<Result<std::vector<std::string>>(const std::string& host)> resolve;
};

/// The default chain. The first source that is configured is used, and refreshed from then
/// on:
///   1. environment: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN;
///   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (EKS, GitHub OIDC), through
///      STS AssumeRoleWithWebIdentity;
///   3. the profile of the shared files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, default
///      ~/.aws/config and ~/.aws/credentials): static keys, or role_arn +
///      web_identity_token_file;
///   4. the ECS container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or _FULL_URI (https,
///      loopback or the ECS/EKS link-local hosts) with AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE);
///   5. EC2 instance metadata, IMDSv2 (token first), unless AWS_EC2_METADATA_DISABLED=true;
///      AWS_EC2_METADATA_SERVICE_ENDPOINT overrides where it is.
/// When a refresh fails and the old credentials have not expired, they are used (and the
/// failure logged); after expiry the error is returned. Refreshing is single-flight: one
/// thread fetches, the others keep the cached credentials while they are valid. A failed
/// source is asked again only after a backoff (1 s, doubling to 64 s). Temporary credentials
/// without an Expiration are fetched again after 15 minutes. An AWS_PROFILE that does not
/// exist is an error. EC2 instance metadata that does not answer is not probed again.
std::shared_ptr<CredentialProvider> MakeDefaultCredentialChain(ChainOptions options);

/// The region: AWS_REGION, AWS_DEFAULT_REGION, else the profile's `region`. Empty when none.
std::string ResolveRegion(const ChainOptions& options);

}  // namespace tempo::aws
