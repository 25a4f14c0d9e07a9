#include "tempo/base/base64.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = tempo::base64::Decode(text);
  if (decoded) {
    // Whatever decodes must re-encode to a string that decodes to the same bytes.
    auto again = tempo::base64::Decode(tempo::base64::Encode(*decoded));
    if (!again || *again != *decoded) std::abort();
  }
  const auto encoded = tempo::base64::Encode({data, size});
  auto round = tempo::base64::Decode(encoded);
  if (!round || round->size() != size) std::abort();
  return 0;
}
