// Fuzzes Twilio's form-encoded webhook bodies along the path an incoming call takes: the
// form decoder, the TwiML answer that echoes CallSid/From/To into <Stream> parameters (read
// back by our own TwiML reader, as Twilio would), and the call's write-ahead header and
// metadata.json. Any bytes must give an error or well-formed output, never a crash.
#include "tempo/caller/twiml_reader.hpp"
#include "tempo/runtime/call_record.hpp"
#include "tempo/twilio/signature.hpp"
#include "tempo/twilio/twiml.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

namespace {

bool PrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

bool IsJson(const std::string& text) {
  return !nlohmann::json::parse(text, nullptr, false).is_discarded();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto params = twilio::ParseForm(body);
  if (!params) return 0;

  std::string call_sid, from, to;
  for (const auto& [name, value] : *params) {
    // Decoding never grows the text.
    if (name.size() + value.size() > size) std::abort();
    if (name == "CallSid") call_sid = value;
    if (name == "From") from = value;
    if (name == "To") to = value;
  }
  auto again = twilio::ParseForm(twilio::FormEncode(*params));
  if (!again || *again != *params) std::abort();

  // The incoming-call answer (Runtime::IncomingCall).
  twilio::TwimlResponse t;
  t.ConnectStream(
      {.action = "https://example.com/agent/a1/call-ended"},
      {.url = "wss://example.com/agent/a1/media-stream",
       .parameters = {{"agentId", "a1"}, {"callSid", call_sid}, {"from", from}, {"to", to}}});
  const std::string xml = t.ToXml();
  auto doc = caller::ParseTwiml(xml);
  if (!doc) {
    if (xml.size() <= caller::kMaxTwimlBytes) std::abort();  // we wrote malformed TwiML
  } else {
    if (doc->verbs.size() != 1) std::abort();
    const auto* connect = std::get_if<caller::ConnectVerb>(&doc->verbs[0]);
    if (connect == nullptr || !connect->stream || connect->stream->parameters.size() != 4) {
      std::abort();
    }
    // Plain text comes back exactly (other bytes may be replaced or dropped).
    const auto& read = connect->stream->parameters;
    if (PrintableAscii(from) && read[2].second != from) std::abort();
    if (PrintableAscii(call_sid) && read[1].second != call_sid) std::abort();
  }

  // The call's artefacts keep whatever Twilio sent, even bytes that are not UTF-8.
  runtime::CallInfo info;
  info.call_sid = CallSid(call_sid.empty() ? std::string("CA0") : call_sid);
  info.agent_id = AgentId("a1");
  info.from = from;
  info.to = to;
  const std::string header = runtime::WalHeaderLine(info);
  if (!IsJson(header)) std::abort();
  auto record = runtime::RecordFromWal({header});
  if (!record) std::abort();
  if (PrintableAscii(from) && record->info.from != from) std::abort();
  runtime::CallRecord direct;
  direct.info = info;
  direct.callback["phone"] = from;
  if (!IsJson(direct.MetadataJson(true)) || !IsJson(direct.TranscriptJson("complete"))) {
    std::abort();
  }
  return 0;
}
