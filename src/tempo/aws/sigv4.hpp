#pragma once

// AWS Signature Version 4, sans-I/O: a request's parts in, the headers (or query parameters)
// that sign it out. Header form for API calls, presigned form for URLs handed to browsers.
// Follows the canonical-request rules of the aws-c-auth signing suite (every case of it is a
// unit test); event-stream frame signing reuses SigningKey and the scope defined here.

#include "tempo/aws/credentials.hpp"
#include "tempo/base/digest.hpp"
#include "tempo/base/result.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::aws {

/// Header (name, value) pairs in the order they are sent; names in any case.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// What SigV4 reads of a request.
struct SignableRequest {
  std::string method;  ///< "GET", "POST", ...
  /// The path exactly as sent on the wire (percent-encoded where needed), without the query.
  std::string path = "/";
  /// The query exactly as sent on the wire, without '?'; may be empty.
  std::string query;
  HeaderList headers;  ///< must hold Host (or pass it for HTTP/2's :authority)
  /// Lower-case hex SHA-256 of the body, or a literal (kUnsignedPayload, kStreamingEvents...).
  std::string payload_hash = Sha256Hex("");
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kStreamingEventsPayload = "STREAMING-AWS4-HMAC-SHA256-EVENTS";

/// How the canonical URI is derived from the wire path.
enum class PathEncoding {
  /// Every service but S3: the wire path is URI-encoded once more (so "%3A" signs as "%253A"),
  /// after dot segments and repeated slashes are removed when `normalize_path`.
  kDoubleEncode,
  /// S3: the wire path is already the canonical URI (object keys are encoded once).
  kAsSent,
};

struct SigningOptions {
  std::string region;   ///< "us-east-1"
  std::string service;  ///< the signing name: "s3", "ecs", "elasticloadbalancing", ...
  std::chrono::system_clock::time_point time;
  PathEncoding path_encoding = PathEncoding::kDoubleEncode;
  bool normalize_path = true;  ///< only with kDoubleEncode
  /// Adds and signs x-amz-content-sha256 with the payload hash (S3 requires it).
  bool content_sha256_header = false;
  /// Signs the session token. False is the legacy form some services want: the token is
  /// added after signing and is not in SignedHeaders.
  bool sign_session_token = true;
  /// Presigned form only: X-Amz-Expires (1 s .. 7 days).
  std::chrono::seconds expires{900};
};

/// The intermediate and final values of one signature (tests and debug logs compare them).
struct SignatureParts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  ///< "host;x-amz-date"
  std::string scope;           ///< "20150830/us-east-1/service/aws4_request"
  std::string signature;       ///< lower-case hex
};

/// "20150830T123600Z" and "20150830" for `time` (UTC).
std::string AmzDate(std::chrono::system_clock::time_point time);
std::string AmzShortDate(std::chrono::system_clock::time_point time);

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
Sha256Digest SigningKey(const AwsSecretKey& secret, std::string_view short_date,
                        std::string_view region, std::string_view service);

/// Signs in the header form: adds X-Amz-Date, X-Amz-Security-Token (temporary credentials),
/// X-Amz-Content-Sha256 (when asked) and Authorization to `request.headers`, replacing any
/// earlier values of those. Errors: kInvalidArgument for a request that cannot be signed
/// (no Host, empty region or service, a malformed percent-escape in the query).
Result<SignatureParts> SignRequest(SignableRequest& request, const Credentials& credentials,
                                   const SigningOptions& options);

/// Signs in the presigned (query) form: appends X-Amz-Algorithm, -Credential, -Date, -Expires,
/// -SignedHeaders, -Security-Token and finally X-Amz-Signature to `request.query`. Every
/// header of the request is signed, so send none that the receiver will not send back.
Result<SignatureParts> PresignRequest(SignableRequest& request, const Credentials& credentials,
                                      const SigningOptions& options);

}  // namespace tempo::aws
