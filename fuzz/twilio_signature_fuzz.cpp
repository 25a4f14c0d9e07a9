// Form parsing and signature checks on arbitrary bytes: no crash, and the round trips hold.
#include "tempo/base/secret.hpp"
#include "tempo/twilio/signature.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // Layout: url '\n' body '\n' signature; missing parts are empty.
  const size_t first = input.find('\n');
  const std::string_view url = input.substr(0, first);
  std::string_view rest = first == std::string_view::npos ? "" : input.substr(first + 1);
  const size_t second = rest.find('\n');
  const std::string_view body = rest.substr(0, second);
  const std::string_view signature =
      second == std::string_view::npos ? "" : rest.substr(second + 1);

  const tempo::TwilioAuthToken token("fuzz-token");
  auto params = tempo::twilio::ParseForm(body);
  if (params) {
    auto again = tempo::twilio::ParseForm(tempo::twilio::FormEncode(*params));
    if (!again || *again != *params) std::abort();
    (void)tempo::twilio::ValidateRequest(token, url, *params, signature);
    // What we sign ourselves must validate.
    const std::string own = tempo::twilio::ComputeSignature(token, url, *params);
    if (!tempo::twilio::ValidateRequest(token, url, *params, own)) std::abort();
  }
  (void)tempo::twilio::ValidateRequest(token, url, {}, signature);
  (void)tempo::twilio::ValidateJsonRequest(token, url, body, signature);
  (void)tempo::twilio::ParseForm(input);
  return 0;
}
