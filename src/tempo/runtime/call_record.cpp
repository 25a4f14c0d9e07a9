#include "tempo/runtime/call_record.hpp"

#include <nlohmann/json.hpp>

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

json TurnJson(const Turn& t) {
  return {{"role", engine::ToString(t.role)},
          {"text", t.text},
          {"startMs", t.start_ms},
          {"endMs", t.end_ms},
          {"interrupted", t.interrupted}};
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
  return j.dump(2);
}

std::string CallRecord::MetadataJson(bool has_recording) const {
  json j = InfoJson(info);
  j["schema"] = "tempovoice.call/1";
  j["endedAt"] = end.ended_at_ms > 0 ? json(IsoTime(end.ended_at_ms)) : json(nullptr);
  j["durationMs"] = end.ended_at_ms > 0 ? end.ended_at_ms - info.started_at_ms : 0;
  j["outcome"] = end.outcome;
  j["endReason"] = end.reason;
  j["turns"] = turns.size();
  j["interruptions"] = stats.interruptions;
  j["frames"] = {{"in", stats.frames_in}, {"out", stats.frames_out}, {"late", stats.late_frames}};
  j["marks"] = {{"sent", stats.marks_sent}, {"played", stats.marks_played}};
  j["badInput"] = stats.bad_input;
  j["turnLatenciesMs"] = stats.turn_latencies_ms;
  j["toolCalls"] = json::array();
  for (const auto& t : tools) j["toolCalls"].push_back(ToolJson(t));
  if (!callback.empty()) j["callback"] = callback;
  j["recording"] = has_recording ? json{{"key", "recording.wav"},
                                        {"sampleRate", 8000},
                                        {"channels", 2},
                                        {"left", "caller"},
                                        {"right", "agent"}}
                                 : json(nullptr);
  return j.dump(2);
}

std::string WalHeaderLine(const CallInfo& info) {
  json j = InfoJson(info);
  j["type"] = "call";
  return j.dump();
}

std::string WalTurnLine(const Turn& turn) {
  json j = TurnJson(turn);
  j["type"] = "turn";
  return j.dump();
}

std::string WalToolLine(const ToolEvent& tool) {
  json j = ToolJson(tool);
  j["type"] = "tool";
  return j.dump();
}

Result<CallRecord> RecordFromWal(const std::vector<std::string>& lines) {
  CallRecord r;
  bool have_header = false;
  for (const auto& line : lines) {
    const auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    const auto type = j.value("type", "");
    if (type == "call") {
      r.info.call_sid = CallSid(j.value("callSid", ""));
      r.info.stream_sid = StreamSid(j.value("streamSid", ""));
      r.info.agent_id = AgentId(j.value("agentId", ""));
      r.info.account_sid = AccountSid(j.value("accountSid", ""));
      r.info.from = j.value("from", "");
      r.info.to = j.value("to", "");
      r.info.engine = j.value("engine", "");
      r.info.started_at_ms = j.value("startedAtMs", int64_t{0});
      have_header = true;
    } else if (type == "turn") {
      Turn t;
      t.role = j.value("role", "") == "agent" ? engine::Role::kAgent : engine::Role::kCaller;
      t.text = j.value("text", "");
      t.start_ms = j.value("startMs", int64_t{0});
      t.end_ms = j.value("endMs", int64_t{0});
      t.interrupted = j.value("interrupted", false);
      r.turns.push_back(std::move(t));
    } else if (type == "tool") {
      ToolEvent t;
      t.name = j.value("name", "");
      t.arguments_json = j.contains("arguments") ? j["arguments"].dump() : "{}";
      t.at_ms = j.value("atMs", int64_t{0});
      r.tools.push_back(std::move(t));
    }
  }
  if (!have_header || r.info.call_sid.empty() || r.info.agent_id.empty()) {
    return InvalidArgument("write-ahead file has no call header");
  }
  return r;
}

}  // namespace tempo::runtime
