#include "tempo/twilio/signature.hpp"

#include "tempo/base/base64.hpp"
#include "tempo/base/digest.hpp"
#include "tempo/base/strings.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tempo::twilio {
namespace {

Result<std::string> FormDecode(std::string_view text) {
  auto decoded = PercentDecode(text, PlusMeans::kSpace);
  if (!decoded) return InvalidArgument("form body has a " + decoded.error().message);
  return decoded;
}

void FormEncodeTo(std::string_view text, std::string& out) {
  PercentEncodeTo(text, out, SpaceAs::kPlus);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

// The URL forms Twilio may have signed: as given, port removed, default port added. Twilio's
// back end is inconsistent about the port, so its libraries accept any of them.
std::vector<std::string> UrlVariants(std::string_view url) {
  std::vector<std::string> variants{std::string(url)};
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return variants;
  const std::string_view scheme = url.substr(0, scheme_end);
  const size_t authority_begin = scheme_end + 3;
  const size_t authority_end = std::min(url.find_first_of("/?#", authority_begin), url.size());
  const std::string_view authority = url.substr(authority_begin, authority_end - authority_begin);
  const size_t at = authority.rfind('@');
  const size_t host_begin = at == std::string_view::npos ? 0 : at + 1;
  const std::string_view host_port = authority.substr(host_begin);
  size_t colon = std::string_view::npos;
  if (!host_port.empty() && host_port.front() == '[') {
    const size_t bracket = host_port.find(']');
    if (bracket != std::string_view::npos && bracket + 1 < host_port.size() &&
        host_port[bracket + 1] == ':') {
      colon = bracket + 1;
    }
  } else {
    colon = host_port.rfind(':');
  }
  const size_t host_port_begin = authority_begin + host_begin;
  if (colon != std::string_view::npos) {
    std::string without(url.substr(0, host_port_begin + colon));
    without.append(url.substr(authority_end));
    variants.push_back(std::move(without));
    return variants;
  }
  std::string_view default_port;
  if (EqualsIgnoreCase(scheme, "https") || EqualsIgnoreCase(scheme, "wss")) {
    default_port = ":443";
  } else if (EqualsIgnoreCase(scheme, "http") || EqualsIgnoreCase(scheme, "ws")) {
    default_port = ":80";
  }
  if (!default_port.empty()) {
    std::string with(url.substr(0, authority_end));
    with.append(default_port);
    with.append(url.substr(authority_end));
    variants.push_back(std::move(with));
  }
  return variants;
}

using Sha1Digest = std::array<uint8_t, 20>;

Sha1Digest HmacSha1(const TwilioAuthToken& auth_token, std::string_view message) {
  Sha1Digest digest{};
  unsigned int length = 0;
  const std::string& key = auth_token.Reveal();
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
       &length);
  return digest;
}

// Decodes the header to raw bytes so the comparison is over a fixed-size digest. Returns
// nullopt for anything that is not the base64 of exactly 20 bytes.
std::optional<Sha1Digest> DecodeSignature(std::string_view signature) {
  std::vector<uint8_t> bytes;
  if (!base64::DecodeTo(signature, bytes) || bytes.size() != Sha1Digest{}.size()) {
    return std::nullopt;
  }
  Sha1Digest digest{};
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

bool MatchesAnyVariant(const TwilioAuthToken& auth_token, std::string_view url,
                       const FormParams& params, std::string_view signature) {
  const auto expected = DecodeSignature(signature);
  if (!expected) return false;
  bool valid = false;
  for (const std::string& variant : UrlVariants(url)) {
    const Sha1Digest actual = HmacSha1(auth_token, StringToSign(variant, params));
    // No early exit: the time taken must not depend on which variant matched.
    valid |= CRYPTO_memcmp(actual.data(), expected->data(), actual.size()) == 0;
  }
  return valid;
}

std::optional<std::string> BodyHashFromUrl(std::string_view url) {
  const size_t question = url.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = url.substr(question + 1);
  query = query.substr(0, query.find('#'));
  auto params = ParseForm(query);
  if (!params) return std::nullopt;
  for (auto& [name, value] : *params) {
    if (name == "bodySHA256") return std::move(value);
  }
  return std::nullopt;
}

}  // namespace

Result<FormParams> ParseForm(std::string_view body) {
  FormParams params;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    TEMPO_ASSIGN_OR_RETURN(std::string name, FormDecode(pair.substr(0, eq)));
    std::string value;
    if (eq != std::string_view::npos) {
      TEMPO_ASSIGN_OR_RETURN(value, FormDecode(pair.substr(eq + 1)));
    }
    params.emplace_back(std::move(name), std::move(value));
  }
  return params;
}

std::string FormEncode(const FormParams& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    FormEncodeTo(name, out);
    out.push_back('=');
    FormEncodeTo(value, out);
  }
  return out;
}

std::string StringToSign(std::string_view url, const FormParams& params) {
  std::vector<const std::pair<std::string, std::string>*> sorted;
  sorted.reserve(params.size());
  size_t size = url.size();
  for (const auto& param : params) {
    sorted.push_back(&param);
    size += param.first.size() + param.second.size();
  }
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) { return *a < *b; });
  std::string out;
  out.reserve(size);
  out.append(url);
  const std::pair<std::string, std::string>* previous = nullptr;
  for (const auto* param : sorted) {
    if (previous != nullptr && *previous == *param) continue;
    out.append(param->first);
    out.append(param->second);
    previous = param;
  }
  return out;
}

std::string ComputeSignature(const TwilioAuthToken& auth_token, std::string_view url,
                             const FormParams& params) {
  const Sha1Digest digest = HmacSha1(auth_token, StringToSign(url, params));
  return base64::Encode(digest);
}

bool ValidateRequest(const TwilioAuthToken& auth_token, std::string_view url,
                     const FormParams& params, std::string_view signature) {
  return MatchesAnyVariant(auth_token, url, params, signature);
}

bool ValidateJsonRequest(const TwilioAuthToken& auth_token, std::string_view url,
                         std::string_view body, std::string_view signature) {
  const auto expected_hash = BodyHashFromUrl(url);
  if (!expected_hash) return false;
  const std::string actual_hash = Sha256Hex(body);
  const bool body_ok =
      expected_hash->size() == actual_hash.size() &&
      CRYPTO_memcmp(expected_hash->data(), actual_hash.data(), actual_hash.size()) == 0;
  const bool signature_ok = MatchesAnyVariant(auth_token, url, {}, signature);
  return body_ok && signature_ok;
}

}  // namespace tempo::twilio
