#include "tempo/control/call_index.hpp"

#include "tempo/storage/call_layout.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>

namespace tempo::control {

Result<void> CallIndex::Index(const runtime::CallRecord& record) {
  const std::string& agent_id = record.info.agent_id.str();
  TEMPO_ASSIGN_OR_RETURN(db::Rows owner,
                         db_.Query("SELECT org_id FROM agents WHERE id = $1", {agent_id}));
  std::string org;
  if (!owner.empty()) {
    TEMPO_ASSIGN_OR_RETURN(org, owner[0].GetString(0));
  } else {
    TEMPO_ASSIGN_OR_RETURN(
        db::Rows first, db_.Query("SELECT id FROM organisations ORDER BY created_at, id LIMIT 1"));
    if (first.empty()) return NotFound("no organisation to record the call in");
    TEMPO_ASSIGN_OR_RETURN(org, first[0].GetString(0));
  }
  TEMPO_ASSIGN_OR_RETURN(storage::CallLocation location,
                         storage::LocateCall(record.info.agent_id, record.info.call_sid));
  // The keys of the artefacts the runtime stored; absent ones stay NULL.
  auto stored = [&](storage::CallArtifact artifact) -> std::optional<std::string> {
    std::string key = location.Key(artifact);
    auto exists = store_.Exists(location.bucket, key);
    if (exists && *exists) return key;
    return std::nullopt;
  };
  const std::optional<std::string> recording = stored(storage::CallArtifact::kRecording);
  const std::optional<std::string> transcript = stored(storage::CallArtifact::kTranscript);
  const int64_t ended = record.end.ended_at_ms;
  const std::optional<int64_t> ended_at = ended > 0 ? std::optional<int64_t>(ended) : std::nullopt;
  const std::optional<int64_t> duration =
      ended > 0 ? std::optional<int64_t>(std::max<int64_t>(0, ended - record.info.started_at_ms))
                : std::nullopt;
  const std::string metadata =
      nlohmann::json::parse(record.MetadataJson(recording.has_value()), nullptr, false).dump();
  TEMPO_TRY(db_.Execute(
      "INSERT INTO calls (org_id, call_sid, agent_id, from_number, to_number, started_at, "
      "ended_at, duration_ms, outcome, turns, transcript_key, recording_key, metadata_json) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
      "ON CONFLICT (call_sid) DO UPDATE SET ended_at = excluded.ended_at, "
      "duration_ms = excluded.duration_ms, outcome = excluded.outcome, turns = excluded.turns, "
      "transcript_key = excluded.transcript_key, recording_key = excluded.recording_key, "
      "metadata_json = excluded.metadata_json",
      {org, record.info.call_sid.str(), agent_id, record.info.from, record.info.to,
       record.info.started_at_ms, ended_at, duration, record.end.outcome,
       static_cast<int64_t>(record.turns.size()), transcript, recording, metadata}));
  return Ok();
}

}  // namespace tempo::control
