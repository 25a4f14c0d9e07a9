// Fuzzes a call's record: the write-ahead log reader (a spool file after a crash may hold any
// bytes) and the serialisers of transcript.json, metadata.json and the log lines, with
// arbitrary bytes in every text field (caller speech, From/To, custom parameters, tool
// arguments). Every output must be valid JSON, and what the log holds must read back.
// Input: lines. They are read as a write-ahead file, and also become the text fields of a
// record built directly; the first bytes double as its times.
#include "tempo/runtime/call_record.hpp"

#include "fuzz_lines.hpp"
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace tempo;
using namespace tempo::runtime;

void MustBeJson(const std::string& text) {
  if (nlohmann::json::parse(text, nullptr, false).is_discarded()) std::abort();
}

bool PrintableAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

int64_t Int64At(std::string_view bytes, std::size_t at) {
  uint64_t v = 0;
  if (at < bytes.size())
    std::memcpy(&v, bytes.data() + at, std::min<std::size_t>(8, bytes.size() - at));
  return static_cast<int64_t>(v);
}

std::vector<std::string> WalOf(const CallRecord& r) {
  std::vector<std::string> lines = {WalHeaderLine(r.info)};
  for (const auto& t : r.turns) lines.push_back(WalTurnLine(t));
  for (const auto& t : r.tools) lines.push_back(WalToolLine(t));
  lines.push_back(WalEndLine(r));  // a finished call's entry (runtime::FinishedCalls)
  return lines;
}

void CheckSerialisers(const CallRecord& r) {
  MustBeJson(r.TranscriptJson("complete"));
  MustBeJson(r.TranscriptJson("recovered"));
  MustBeJson(r.MetadataJson(true));
  MustBeJson(r.MetadataJson(false));
  for (const auto& line : WalOf(r)) MustBeJson(line);
}

bool SameInfo(const CallInfo& a, const CallInfo& b) {
  return a.call_sid == b.call_sid && a.stream_sid == b.stream_sid && a.agent_id == b.agent_id &&
         a.account_sid == b.account_sid && a.from == b.from && a.to == b.to &&
         a.engine == b.engine && a.started_at_ms == b.started_at_ms;
}

// Strings that came out of a JSON parser are valid UTF-8: writing and reading the log again
// must give exactly the same record.
void CheckWalRoundTrip(const CallRecord& r) {
  auto again = RecordFromWal(WalOf(r));
  if (!again || !SameInfo(again->info, r.info)) std::abort();
  if (again->turns.size() != r.turns.size() || again->tools.size() != r.tools.size()) std::abort();
  for (std::size_t i = 0; i < r.turns.size(); ++i) {
    const Turn& a = again->turns[i];
    const Turn& b = r.turns[i];
    if (a.role != b.role || a.text != b.text || a.start_ms != b.start_ms || a.end_ms != b.end_ms ||
        a.interrupted != b.interrupted) {
      std::abort();
    }
  }
  for (std::size_t i = 0; i < r.tools.size(); ++i) {
    const ToolEvent& a = again->tools[i];
    const ToolEvent& b = r.tools[i];
    if (a.name != b.name || a.arguments_json != b.arguments_json || a.at_ms != b.at_ms) {
      std::abort();
    }
  }
  const CallStats& a = again->stats;
  const CallStats& b = r.stats;
  if (again->end.outcome != r.end.outcome || again->end.reason != r.end.reason ||
      again->end.ended_at_ms != r.end.ended_at_ms || again->callback != r.callback ||
      again->has_recording != r.has_recording || again->has_transcript != r.has_transcript ||
      a.frames_in != b.frames_in || a.marks_played != b.marks_played ||
      a.bad_input != b.bad_input || a.turn_latencies_ms != b.turn_latencies_ms) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto lines = tempo::fuzz::Lines<std::string>(input);

  // 1. The lines as a write-ahead file (RecoverSpool).
  if (auto recovered = RecordFromWal(lines)) {
    if (recovered->info.call_sid.empty() || recovered->info.agent_id.empty()) std::abort();
    CheckSerialisers(*recovered);
    CheckWalRoundTrip(*recovered);
  }

  // 2. The lines as the text of a live call.
  auto field = [&](std::size_t i) { return i < lines.size() ? lines[i] : std::string(); };
  CallRecord r;
  r.info.call_sid = CallSid(field(0));
  r.info.agent_id = AgentId(field(1));
  r.info.stream_sid = StreamSid(field(2));
  r.info.account_sid = AccountSid(field(3));
  r.info.from = field(4);
  r.info.to = field(5);
  r.info.engine = field(6);
  r.info.started_at_ms = Int64At(input, 0);
  r.end.outcome = field(7);
  r.end.reason = field(8);
  r.end.ended_at_ms = Int64At(input, 8);
  r.stats.turn_latencies_ms = {Int64At(input, 16), Int64At(input, 24)};
  for (std::size_t i = 9; i < lines.size(); ++i) {
    switch (i % 4) {
      case 0:
        r.turns.push_back({engine::Role::kCaller, lines[i], Int64At(input, i), 0, false});
        break;
      case 1:
        r.turns.push_back({engine::Role::kAgent, lines[i], 0, Int64At(input, i), true});
        break;
      case 2:
        r.tools.push_back({field(i - 1), lines[i], Int64At(input, i)});
        break;
      default:
        r.callback[field(i - 1)] = lines[i];
        r.stats.bad_input[lines[i]] += 1;
        break;
    }
  }
  CheckSerialisers(r);
  auto back = RecordFromWal(WalOf(r));
  if (back.has_value() != (!r.info.call_sid.empty() && !r.info.agent_id.empty())) std::abort();
  if (back) {
    if (back->turns.size() != r.turns.size() || back->tools.size() != r.tools.size()) {
      std::abort();
    }
    if (PrintableAscii(r.info.from) && back->info.from != r.info.from) std::abort();
    if (back->info.started_at_ms != r.info.started_at_ms) std::abort();
    CheckWalRoundTrip(*back);
  }
  return 0;
}
