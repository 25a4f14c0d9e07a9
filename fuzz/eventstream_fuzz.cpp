// What a Bedrock stream (or whatever answers in its place) sends: event-stream bytes, split
// anywhere. No crash, no exception; every message the decoder hands out encodes back to the
// bytes it came from, and decoding those gives the same message.
#include "tempo/aws/eventstream.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo::aws::eventstream;
  if (size == 0) return 0;
  // The first byte picks the size of the pieces the stream arrives in.
  const size_t piece = 1 + data[0] % 64;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  Decoder decoder(64 * 1024);
  size_t handed_out = 0;
  bool failed = false;
  for (size_t at = 0; at < stream.size() && !failed; at += piece) {
    decoder.Feed(stream.substr(at, piece));
    while (true) {
      auto next = decoder.Next();
      if (!next) {
        failed = true;
        // A failed stream stays failed.
        if (decoder.Next()) std::abort();
        break;
      }
      if (!*next) break;
      const Message& message = **next;
      auto encoded = Encode(message);
      if (!encoded) std::abort();  // it came off the wire: it fits on it
      if (stream.substr(handed_out, encoded->size()) != *encoded) std::abort();
      handed_out += encoded->size();
      auto again = DecodeMessage(*encoded);
      if (!again || !(*again == message)) std::abort();
      (void)message.String(":message-type");
    }
  }
  if (!failed && handed_out + decoder.Buffered() != stream.size()) std::abort();
  (void)DecodeMessage(stream);
  return 0;
}
