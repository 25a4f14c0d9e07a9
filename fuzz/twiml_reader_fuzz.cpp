// Fuzzes the caller's TwiML reader: any bytes must give a document or an error, never a crash,
// and every verb read must be describable.
#include "tempo/caller/twiml_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view xml(reinterpret_cast<const char*>(data), size);
  auto doc = tempo::caller::ParseTwiml(xml);
  if (doc) {
    for (const auto& verb : doc->verbs) (void)tempo::caller::Describe(verb);
  }
  return 0;
}
