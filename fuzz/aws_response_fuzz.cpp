// What AWS (or whatever answers in its place) sends back, and what we sign: error answers of
// the three protocols, the credential sources' JSON and XML, the shared config files, and
// SigV4 over arbitrary paths and queries. No crash, no exception, and the invariants hold.
#include "tempo/aws/credentials.hpp"
#include "tempo/aws/protocol.hpp"
#include "tempo/aws/sigv4.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo::aws;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first byte picks the status; the rest is the body (and the path/query to sign).
  const int status = size == 0 ? 400 : 300 + data[0] % 300;
  const std::string_view body = size == 0 ? input : input.substr(1);

  tempo::net::Response response;
  response.status = status;
  response.body = std::string(body);
  for (const Protocol p : {Protocol::kJson11, Protocol::kQuery, Protocol::kRestXml}) {
    const AwsError e = ParseAwsError(p, response);
    // An error answer always reads as an error with a code, whatever the body.
    if (e.status != status || e.code.empty()) std::abort();
    (void)e.ToError("fuzz");
    (void)IsRetryable(e);
  }
  (void)ParseCredentialsJson(body, "fuzz");
  (void)ParseStsCredentials(body, "fuzz");
  for (const SharedFile kind : {SharedFile::kConfig, SharedFile::kCredentials}) {
    if (auto profiles = ParseSharedFile(body, kind))
      (void)CredentialsFromProfile((*profiles)["default"], "default");
  }

  // Layout for signing: path '?' query '\n' header value.
  const size_t eol = body.find('\n');
  const std::string_view target = body.substr(0, eol);
  const size_t q = target.find('?');
  Credentials credentials;
  credentials.access_key_id = "AKIDEXAMPLE";
  credentials.secret_access_key = tempo::AwsSecretKey("secret");
  credentials.session_token = tempo::AwsSessionToken("token");
  SigningOptions options;
  options.region = "us-east-1";
  options.service = "service";
  for (const PathEncoding encoding : {PathEncoding::kDoubleEncode, PathEncoding::kAsSent}) {
    options.path_encoding = encoding;
    SignableRequest request;
    request.method = "GET";
    request.path = std::string(target.substr(0, q));
    request.query = q == std::string_view::npos ? "" : std::string(target.substr(q + 1));
    request.headers = {
        {"Host", "example.amazonaws.com"},
        {"X-Fuzz", eol == std::string_view::npos ? "" : std::string(body.substr(eol + 1))}};
    SignableRequest presigned = request;
    auto header_form = SignRequest(request, credentials, options);
    auto query_form = PresignRequest(presigned, credentials, options);
    // Both forms read the same query, so both succeed or both refuse it.
    if (header_form.has_value() != query_form.has_value()) std::abort();
    if (header_form && header_form->signature.size() != 64) std::abort();
  }
  return 0;
}
