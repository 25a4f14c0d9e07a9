#include "tempo/runtime/call_record.hpp"

#include "tempo/base/json_text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace tempo::runtime {
namespace {
using nlohmann::json;

std::string IsoTime(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(ms % 1000));
  return buf;
}

// A damaged write-ahead line may hold any JSON: json::value() would throw on a field of the
// wrong type (type_error 302) and convert a huge float to int64_t (undefined), so a field
// of the wrong kind reads as absent.
std::string WalText(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t WalInt(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_unsigned()) {
    const auto u = it->get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? 0 : static_cast<int64_t>(u);
  }
  return it->is_number_integer() ? it->get<int64_t>() : 0;
}

// Both times come from outside this process (a recovered log, the clock): no overflow.
int64_t DurationMs(int64_t started_ms, int64_t ended_ms) {
  int64_t d = 0;
  if (ended_ms <= 0 || __builtin_sub_overflow(ended_ms, started_ms, &d)) return 0;
  return d;
}

json TurnJson(const Turn& t) {
  return {{"role", engine::ToString(t.role)},
          {"text", t.text},
          {"startMs", t.start_ms},
          {"endMs", t.end_ms},
          {"interrupted", t.interrupted}};
}

json UsageJson(const engine::Usage& u) {
  return {{"inputTokens", u.input_tokens},
          {"outputTokens", u.output_tokens},
          {"inputSpeechTokens", u.input_speech_tokens},
          {"inputTextTokens", u.input_text_tokens},
          {"outputSpeechTokens", u.output_speech_tokens},
          {"outputTextTokens", u.output_text_tokens},
          {"costUsd", u.cost_usd}};
}

json ToolJson(const ToolEvent& t) {
  auto args = json::parse(t.arguments_json, nullptr, false);
  return {{"name", t.name},
          {"arguments", args.is_discarded() ? json(t.arguments_json) : args},
          {"atMs", t.at_ms}};
}

json InfoJson(const CallInfo& i) {
  return {{"callSid", i.call_sid.str()},
          {"streamSid", i.stream_sid.str()},
          {"agentId", i.agent_id.str()},
          {"accountSid", i.account_sid.str()},
          {"from", i.from},
          {"to", i.to},
          {"engine", i.engine},
          {"startedAt", IsoTime(i.started_at_ms)},
          {"startedAtMs", i.started_at_ms}};
}
}  // namespace

std::string CallRecord::TranscriptJson(std::string_view status) const {
  json j = {{"schema", "tempovoice.transcript/1"},
            {"callSid", info.call_sid.str()},
            {"agentId", info.agent_id.str()},
            {"status", status},
            {"startedAt", IsoTime(info.started_at_ms)},
            {"endedAt", end.ended_at_ms > 0 ? json(IsoTime(end.ended_at_ms)) : json(nullptr)},
            {"turns", json::array()},
            {"toolCalls", json::array()}};
  for (const auto& t : turns) j["turns"].push_back(TurnJson(t));
  for (const auto& t : tools) j["toolCalls"].push_back(ToolJson(t));
  return DumpJson(j, 2);
}

std::string CallRecord::MetadataJson(bool has_recording) const {
  json j = InfoJson(info);
  j["schema"] = "tempovoice.call/1";
  j["endedAt"] = end.ended_at_ms > 0 ? json(IsoTime(end.ended_at_ms)) : json(nullptr);
  j["durationMs"] = DurationMs(info.started_at_ms, end.ended_at_ms);
  j["outcome"] = end.outcome;
  j["endReason"] = end.reason;
  j["turns"] = turns.size();
  j["interruptions"] = stats.interruptions;
  j["frames"] = {{"in", stats.frames_in}, {"out", stats.frames_out}, {"late", stats.late_frames}};
  j["marks"] = {{"sent", stats.marks_sent}, {"played", stats.marks_played}};
  j["badInput"] = stats.bad_input;
  j["turnLatenciesMs"] = stats.turn_latencies_ms;
  if (stats.usage != engine::Usage{}) j["usage"] = UsageJson(stats.usage);
  j["toolCalls"] = json::array();
  for (const auto& t : tools) j["toolCalls"].push_back(ToolJson(t));
  if (!callback.empty()) j["callback"] = callback;
  j["recording"] = has_recording ? json{{"key", "recording.wav"},
                                        {"sampleRate", 8000},
                                        {"channels", 2},
                                        {"left", "caller"},
                                        {"right", "agent"}}
                                 : json(nullptr);
  return DumpJson(j, 2);
}

std::string WalHeaderLine(const CallInfo& info) {
  json j = InfoJson(info);
  j["type"] = "call";
  return DumpJson(j);
}

std::string WalTurnLine(const Turn& turn) {
  json j = TurnJson(turn);
  j["type"] = "turn";
  return DumpJson(j);
}

std::string WalToolLine(const ToolEvent& tool) {
  json j = ToolJson(tool);
  j["type"] = "tool";
  return DumpJson(j);
}

std::string WalEndLine(const CallRecord& record) {
  const CallStats& st = record.stats;
  json j = {{"type", "end"},
            {"outcome", record.end.outcome},
            {"reason", record.end.reason},
            {"endedAtMs", record.end.ended_at_ms},
            {"framesIn", st.frames_in},
            {"framesOut", st.frames_out},
            {"lateFrames", st.late_frames},
            {"interruptions", st.interruptions},
            {"marksSent", st.marks_sent},
            {"marksPlayed", st.marks_played},
            {"badInput", st.bad_input},
            {"turnLatenciesMs", st.turn_latencies_ms},
            {"usage", UsageJson(st.usage)},
            {"callback", record.callback},
            {"hasRecording", record.has_recording},
            {"hasTranscript", record.has_transcript}};
  return DumpJson(j);
}

namespace {
uint64_t WalCount(const json& j, const char* key) {
  return static_cast<uint64_t>(std::max<int64_t>(0, WalInt(j, key)));
}

void ReadEndLine(const json& j, CallRecord& r) {
  r.end.outcome = WalText(j, "outcome");
  r.end.reason = WalText(j, "reason");
  r.end.ended_at_ms = WalInt(j, "endedAtMs");
  CallStats& st = r.stats;
  st.frames_in = WalCount(j, "framesIn");
  st.frames_out = WalCount(j, "framesOut");
  st.late_frames = WalCount(j, "lateFrames");
  st.interruptions = WalCount(j, "interruptions");
  st.marks_sent = WalCount(j, "marksSent");
  st.marks_played = WalCount(j, "marksPlayed");
  if (const auto bad = j.find("badInput"); bad != j.end() && bad->is_object()) {
    for (const auto& [reason, count] : bad->items()) {
      if (count.is_number_unsigned()) st.bad_input[reason] = count.get<uint64_t>();
    }
  }
  if (const auto usage = j.find("usage"); usage != j.end() && usage->is_object()) {
    st.usage = {WalInt(*usage, "inputTokens"),        WalInt(*usage, "outputTokens"),
                WalInt(*usage, "inputSpeechTokens"),  WalInt(*usage, "inputTextTokens"),
                WalInt(*usage, "outputSpeechTokens"), WalInt(*usage, "outputTextTokens")};
    // A cost that is not a finite, non-negative number is dropped, not trusted.
    if (const auto cost = usage->find("costUsd"); cost != usage->end() && cost->is_number()) {
      const double value = cost->get<double>();
      if (std::isfinite(value) && value >= 0) st.usage.cost_usd = value;
    }
  }
  if (const auto lat = j.find("turnLatenciesMs"); lat != j.end() && lat->is_array()) {
    for (const auto& v : *lat) {
      if (v.is_number_integer()) st.turn_latencies_ms.push_back(v.get<int64_t>());
    }
  }
  const auto flag = [&](const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  r.has_recording = flag("hasRecording");
  r.has_transcript = flag("hasTranscript");
  if (const auto cb = j.find("callback"); cb != j.end() && cb->is_object()) {
    for (const auto& [key, value] : cb->items()) {
      if (value.is_string()) r.callback[key] = value.get<std::string>();
    }
  }
}
}  // namespace

Result<CallRecord> RecordFromWal(const std::vector<std::string>& lines) {
  CallRecord r;
  bool have_header = false;
  for (const auto& line : lines) {
    const auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const auto type = WalText(j, "type");
    if (type == "call") {
      r.info.call_sid = CallSid(WalText(j, "callSid"));
      r.info.stream_sid = StreamSid(WalText(j, "streamSid"));
      r.info.agent_id = AgentId(WalText(j, "agentId"));
      r.info.account_sid = AccountSid(WalText(j, "accountSid"));
      r.info.from = WalText(j, "from");
      r.info.to = WalText(j, "to");
      r.info.engine = WalText(j, "engine");
      r.info.started_at_ms = WalInt(j, "startedAtMs");
      have_header = true;
    } else if (type == "turn") {
      Turn t;
      t.role = WalText(j, "role") == "agent" ? engine::Role::kAgent : engine::Role::kCaller;
      t.text = WalText(j, "text");
      t.start_ms = WalInt(j, "startMs");
      t.end_ms = WalInt(j, "endMs");
      const auto interrupted = j.find("interrupted");
      t.interrupted =
          interrupted != j.end() && interrupted->is_boolean() && interrupted->get<bool>();
      r.turns.push_back(std::move(t));
    } else if (type == "tool") {
      ToolEvent t;
      t.name = WalText(j, "name");
      const auto arguments = j.find("arguments");
      t.arguments_json = arguments != j.end() ? DumpJson(*arguments) : "{}";
      t.at_ms = WalInt(j, "atMs");
      r.tools.push_back(std::move(t));
    } else if (type == "end") {
      ReadEndLine(j, r);
    }
  }
  if (!have_header || r.info.call_sid.empty() || r.info.agent_id.empty()) {
    return InvalidArgument("write-ahead file has no call header");
  }
  return r;
}

}  // namespace tempo::runtime
