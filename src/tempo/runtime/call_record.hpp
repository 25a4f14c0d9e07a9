#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/engine/speech_engine.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::runtime {

/// One finished utterance. Times are milliseconds from the start of the call.
struct Turn {
  engine::Role role = engine::Role::kCaller;
  std::string text;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool interrupted = false;  ///< agent turn cut short by the caller (text = what was heard)
};

struct ToolEvent {
  std::string name;
  std::string arguments_json = "{}";
  int64_t at_ms = 0;
};

/// What is known about a call from its first moments.
struct CallInfo {
  CallSid call_sid;
  StreamSid stream_sid;
  AgentId agent_id;
  AccountSid account_sid;
  std::string from;
  std::string to;
  std::string engine;
  int64_t started_at_ms = 0;  ///< wall clock, ms since the Unix epoch
};

/// How a call ended (metadata.json `outcome`): completed (caller hung up), ended_by_agent,
/// transferred, voicemail, guardrail, error, interrupted (server stopped; recovered).
struct CallEnd {
  std::string outcome = "completed";
  std::string reason;
  int64_t ended_at_ms = 0;
};

/// Counters kept per call and written to metadata.json.
struct CallStats {
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t late_frames = 0;
  uint64_t interruptions = 0;
  uint64_t marks_sent = 0;
  uint64_t marks_played = 0;
  std::map<std::string, uint64_t> bad_input;  ///< reason -> count (bounded set of reasons)
  std::vector<int64_t> turn_latencies_ms;     ///< caller stopped -> first agent audio
  engine::Usage usage;                        ///< the model's tokens (Nova Sonic), if metered
};

/// The transcript and facts of one call; serialised to the artefacts of
/// docs/call-artifacts.md and to the write-ahead lines that make it crash-safe.
struct CallRecord {
  CallInfo info;
  std::vector<Turn> turns;
  std::vector<ToolEvent> tools;
  CallEnd end;
  CallStats stats;
  std::map<std::string, std::string> callback;  ///< schedule_callback request, if any
  /// What the object store holds for this call once its artefacts are stored (set by
  /// Runtime::StoreArtifacts, kept in the end line), so that indexing need not ask the store.
  bool has_recording = false;
  bool has_transcript = false;

  /// transcript.json. `status`: "complete" or "recovered".
  [[nodiscard]] std::string TranscriptJson(std::string_view status) const;
  /// metadata.json.
  [[nodiscard]] std::string MetadataJson(bool has_recording) const;
};

/// Write-ahead lines (one JSON object per line).
std::string WalHeaderLine(const CallInfo& info);
std::string WalTurnLine(const Turn& turn);
std::string WalToolLine(const ToolEvent& tool);
/// How the call ended, its counters and its callback request: the last line of a finished
/// call's entry, so that the entry alone rebuilds the record the call list indexes.
std::string WalEndLine(const CallRecord& record);
/// Rebuilds what the write-ahead lines hold; unknown or damaged lines are skipped. Without an
/// end line, `end` keeps its defaults (the call was cut short).
Result<CallRecord> RecordFromWal(const std::vector<std::string>& lines);

}  // namespace tempo::runtime
