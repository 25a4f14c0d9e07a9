#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/secret.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::twilio {

/// Decoded application/x-www-form-urlencoded parameters as (name, value) pairs, in arrival
/// order. Repeated names are kept (Twilio signs every distinct value of a repeated name).
using FormParams = std::vector<std::pair<std::string, std::string>>;

/// Parses an application/x-www-form-urlencoded body (or a URL query without the '?').
/// '+' decodes to a space and %XX to its byte; a pair without '=' has an empty value; empty
/// pairs ("a=1&&b=2") are skipped. Values are bytes: no UTF-8 check.
/// Errors: kInvalidArgument on a malformed percent escape ("%G1", a trailing "%4").
/// Thread-safe (pure function).
Result<FormParams> ParseForm(std::string_view body);

/// Encodes `params` in order as an application/x-www-form-urlencoded body: unreserved bytes
/// (A-Z a-z 0-9 - . _ ~) as is, space as '+', every other byte as %XX (upper-case hex).
/// ParseForm(FormEncode(p)) == p for every p. Thread-safe.
std::string FormEncode(const FormParams& params);

/// The string Twilio signs: `url` followed by name+value of every parameter, sorted by name
/// then value (byte order), identical (name, value) pairs taken once. `url` is used verbatim.
std::string StringToSign(std::string_view url, const FormParams& params);

/// base64(HMAC-SHA1(auth_token, StringToSign(url, params))): the X-Twilio-Signature value
/// Twilio sends for a form POST to `url` (pass no params for GET and WebSocket upgrades).
/// Used by our Twilio-compatible caller and by tests. Thread-safe.
std::string ComputeSignature(const TwilioAuthToken& auth_token, std::string_view url,
                             const FormParams& params);

/// Checks X-Twilio-Signature for a form POST (or, with empty `params`, a GET or WebSocket
/// upgrade). `url` is the public URL Twilio requested, query included and not re-encoded.
/// Like Twilio's own libraries, accepts a signature over the URL with its port removed or with
/// the default port (:443 for https/wss, :80 for http/ws) added when it has none; a
/// non-default port is also tried as given. Comparison is constant-time. An empty or
/// malformed `signature` never validates. Thread-safe.
bool ValidateRequest(const TwilioAuthToken& auth_token, std::string_view url,
                     const FormParams& params, std::string_view signature);

/// Checks X-Twilio-Signature for a request with a JSON body: `url` must carry a `bodySHA256`
/// query parameter equal to the lower-case hex SHA-256 of `body`, and the signature covers
/// the URL alone (same port variants as ValidateRequest). Returns false when bodySHA256 is
/// missing or does not match. Thread-safe.
bool ValidateJsonRequest(const TwilioAuthToken& auth_token, std::string_view url,
                         std::string_view body, std::string_view signature);

}  // namespace tempo::twilio
