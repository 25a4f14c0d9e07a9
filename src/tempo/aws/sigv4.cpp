#include "tempo/aws/sigv4.hpp"

#include "tempo/base/strings.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace tempo::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IsWhite(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// Header values are trimmed and every run of white space (folded lines included) becomes
// one space, so a proxy that re-folds or re-spaces a header does not break the signature.
std::string CanonicalValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool pending_space = false;
  for (const char c : value) {
    if (IsWhite(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

struct CanonicalHeaders {
  std::string block;  // "name:value\n" for each, sorted by name
  std::string signed_names;
};

Result<CanonicalHeaders> Canonicalise(const HeaderList& headers) {
  std::map<std::string, std::string> merged;  // sorted by lower-case name
  for (const auto& [name, value] : headers) {
    if (name.empty()) return InvalidArgument("header with an empty name");
    auto [it, fresh] = merged.try_emplace(Lower(name), CanonicalValue(value));
    // Repeated headers sign as one, values joined by ',' in the order they are sent.
    if (!fresh) it->second += "," + CanonicalValue(value);
  }
  if (!merged.contains("host")) return InvalidArgument("request has no Host header to sign");
  CanonicalHeaders out;
  for (const auto& [name, value] : merged) {
    out.block += name;
    out.block += ':';
    out.block += value;
    out.block += '\n';
    if (!out.signed_names.empty()) out.signed_names += ';';
    out.signed_names += name;
  }
  return out;
}

std::string NormalisePath(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto segment : segments) {
    out += '/';
    out += segment;
  }
  if (out.empty()) return "/";
  if (path.ends_with('/')) out += '/';
  return out;
}

std::string CanonicalUri(std::string_view wire_path, const SigningOptions& options) {
  if (wire_path.empty()) return "/";
  if (options.path_encoding == PathEncoding::kAsSent) return std::string(wire_path);
  const std::string path =
      options.normalize_path ? NormalisePath(wire_path) : std::string(wire_path);
  return PercentEncode(path, SpaceAs::kPercent20, /*keep_slash=*/true);
}

// The query of the wire is decoded and encoded again with SigV4's rules (%20 for a space,
// upper-case hex), then sorted by name and value.
Result<std::string> CanonicalQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string_view part = query.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    auto name = PercentDecode(part.substr(0, eq));
    auto value = PercentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1));
    if (!name || !value) return InvalidArgument("query has a malformed percent-escape");
    params.emplace_back(PercentEncode(*name), PercentEncode(*value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

void SetHeader(HeaderList& headers, std::string_view name, std::string value) {
  const std::string lower = Lower(name);
  std::erase_if(headers, [&](const auto& h) { return Lower(h.first) == lower; });
  headers.emplace_back(std::string(name), std::move(value));
}

Result<void> CheckOptions(const Credentials& credentials, const SigningOptions& options) {
  if (options.region.empty() || options.service.empty()) {
    return InvalidArgument("SigV4 needs a region and a service name");
  }
  if (credentials.access_key_id.empty() || credentials.secret_access_key.empty()) {
    return InvalidArgument("SigV4 needs an access key id and a secret key");
  }
  return Ok();
}

// Builds the canonical request, the string to sign and the signature from finished parts.
SignatureParts Sign(const SignableRequest& request, const CanonicalHeaders& headers,
                    std::string_view canonical_query, const Credentials& credentials,
                    const SigningOptions& options) {
  SignatureParts parts;
  const std::string date = AmzShortDate(options.time);
  parts.scope = fmt::format("{}/{}/{}/aws4_request", date, options.region, options.service);
  parts.signed_headers = headers.signed_names;
  parts.canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method, CanonicalUri(request.path, options),
                  canonical_query, headers.block, headers.signed_names, request.payload_hash);
  parts.string_to_sign = fmt::format("{}\n{}\n{}\n{}", kAlgorithm, AmzDate(options.time),
                                     parts.scope, Sha256Hex(parts.canonical_request));
  const Sha256Digest key =
      SigningKey(credentials.secret_access_key, date, options.region, options.service);
  parts.signature = HexLower(HmacSha256(key, parts.string_to_sign));
  return parts;
}

std::tm UtcTime(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string AmzDate(std::chrono::system_clock::time_point time) {
  return fmt::format("{:%Y%m%dT%H%M%SZ}", UtcTime(time));
}

std::string AmzShortDate(std::chrono::system_clock::time_point time) {
  return fmt::format("{:%Y%m%d}", UtcTime(time));
}

Sha256Digest SigningKey(const AwsSecretKey& secret, std::string_view short_date,
                        std::string_view region, std::string_view service) {
  const Sha256Digest k_date = HmacSha256("AWS4" + secret.Reveal(), short_date);
  const Sha256Digest k_region = HmacSha256(k_date, region);
  const Sha256Digest k_service = HmacSha256(k_region, service);
  return HmacSha256(k_service, "aws4_request");
}

Result<SignatureParts> SignRequest(SignableRequest& request, const Credentials& credentials,
                                   const SigningOptions& options) {
  TEMPO_TRY(CheckOptions(credentials, options));
  SetHeader(request.headers, "X-Amz-Date", AmzDate(options.time));
  const bool token = !credentials.session_token.empty();
  if (token && options.sign_session_token) {
    SetHeader(request.headers, "X-Amz-Security-Token", credentials.session_token.Reveal());
  }
  if (options.content_sha256_header) {
    SetHeader(request.headers, "X-Amz-Content-Sha256", request.payload_hash);
  }
  std::erase_if(request.headers, [](const auto& h) { return Lower(h.first) == "authorization"; });
  TEMPO_ASSIGN_OR_RETURN(const CanonicalHeaders headers, Canonicalise(request.headers));
  TEMPO_ASSIGN_OR_RETURN(const std::string query, CanonicalQuery(request.query));
  SignatureParts parts = Sign(request, headers, query, credentials, options);
  if (token && !options.sign_session_token) {
    SetHeader(request.headers, "X-Amz-Security-Token", credentials.session_token.Reveal());
  }
  request.headers.emplace_back(
      "Authorization",
      fmt::format("{} Credential={}/{}, SignedHeaders={}, Signature={}", kAlgorithm,
                  credentials.access_key_id, parts.scope, parts.signed_headers, parts.signature));
  return parts;
}

Result<SignatureParts> PresignRequest(SignableRequest& request, const Credentials& credentials,
                                      const SigningOptions& options) {
  TEMPO_TRY(CheckOptions(credentials, options));
  const auto expires = options.expires.count();
  if (expires < 1 || expires > int64_t{7} * 24 * 3600) {
    return InvalidArgument("a presigned URL expires after 1 second to 7 days");
  }
  TEMPO_ASSIGN_OR_RETURN(const CanonicalHeaders headers, Canonicalise(request.headers));
  const std::string scope = fmt::format("{}/{}/{}/aws4_request", AmzShortDate(options.time),
                                        options.region, options.service);
  std::string added = fmt::format(
      "X-Amz-Algorithm={}&X-Amz-Credential={}&X-Amz-Date={}&X-Amz-Expires={}&"
      "X-Amz-SignedHeaders={}",
      kAlgorithm, PercentEncode(credentials.access_key_id + "/" + scope), AmzDate(options.time),
      expires, PercentEncode(headers.signed_names));
  const std::string token =
      credentials.session_token.empty()
          ? std::string()
          : "X-Amz-Security-Token=" + PercentEncode(credentials.session_token.Reveal());
  if (!token.empty() && options.sign_session_token) added += "&" + token;
  std::string query = request.query;
  if (!query.empty()) query += '&';
  query += added;
  TEMPO_ASSIGN_OR_RETURN(const std::string canonical_query, CanonicalQuery(query));
  SignatureParts parts = Sign(request, headers, canonical_query, credentials, options);
  if (!token.empty() && !options.sign_session_token) query += "&" + token;
  query += "&X-Amz-Signature=" + parts.signature;
  request.query = std::move(query);
  return parts;
}

}  // namespace tempo::aws
