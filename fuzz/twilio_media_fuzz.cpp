// Twilio Media Streams frames: both parsers must agree, and whatever parses must survive a
// serialize/parse round trip unchanged.
#include "tempo/twilio/media_stream.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using tempo::twilio::InboundEvent;
using tempo::twilio::MediaMessage;
using tempo::twilio::ParseOptions;

void CheckFastAgreesWithGeneral(std::string_view text, const ParseOptions& options) {
  MediaMessage media;
  const auto fast = tempo::twilio::detail::ParseMediaFast(text, media, options);
  if (!fast) return;
  const auto general = tempo::twilio::detail::ParseInboundGeneral(text, options);
  if (fast->has_value() != general.has_value()) std::abort();
  if (general && !(*general == InboundEvent(media))) std::abort();
  if (!general && !(fast->error() == general.error())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ParseOptions options{.max_payload_bytes = 4096};

  CheckFastAgreesWithGeneral(text, options);

  if (auto inbound = tempo::twilio::ParseInbound(text, options)) {
    const std::string again = tempo::twilio::Serialize(*inbound);
    auto reparsed = tempo::twilio::ParseInbound(again, options);
    if (!reparsed || !(*reparsed == *inbound)) std::abort();
    // The serializer's output is plain enough for the fast path when it is media.
    CheckFastAgreesWithGeneral(again, options);
  }

  // The reuse path must give the same answer as a fresh parse.
  InboundEvent reused{MediaMessage{1, tempo::StreamSid("MZ0"), {}, 0, 0, {1, 2, 3}}};
  const auto into = tempo::twilio::ParseInboundInto(text, reused, options);
  const auto fresh = tempo::twilio::ParseInbound(text, options);
  if (into.has_value() != fresh.has_value()) std::abort();
  if (fresh && !(reused == *fresh)) std::abort();

  if (auto outbound = tempo::twilio::ParseOutbound(text, options)) {
    const std::string again = tempo::twilio::Serialize(*outbound);
    auto reparsed = tempo::twilio::ParseOutbound(again, options);
    if (!reparsed || !(*reparsed == *outbound)) std::abort();
  }
  return 0;
}
