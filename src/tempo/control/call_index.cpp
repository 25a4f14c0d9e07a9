#include "tempo/control/call_index.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"
#include "tempo/storage/call_layout.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace tempo::control {
namespace {

// The columns both tables share, bound in this order (calls has org_id in front).
constexpr std::string_view kColumns =
    "call_sid, agent_id, from_number, to_number, started_at, ended_at, duration_ms, outcome, "
    "turns, transcript_key, recording_key, metadata_json";
// What a second index of the same call (e.g. after a crash recovery) completes.
constexpr std::string_view kCompletion =
    "ended_at = excluded.ended_at, duration_ms = excluded.duration_ms, "
    "outcome = excluded.outcome, turns = excluded.turns, "
    "transcript_key = excluded.transcript_key, recording_key = excluded.recording_key, "
    "metadata_json = excluded.metadata_json";

}  // namespace

CallIndex::CallIndex(db::Database& db)
    : db_(db),
      unassigned_(metrics::Registry::Global().AddCounter(
          "tempo_calls_unassigned_total",
          "Finished calls of agents no organisation owns, kept apart from every tenant")) {}

Result<IndexedIn> CallIndex::Index(const runtime::CallRecord& record) {
  TEMPO_ASSIGN_OR_RETURN(storage::CallLocation location,
                         storage::LocateCall(record.info.agent_id, record.info.call_sid));
  // The keys of the artefacts the runtime stored (it says which: asking the store would cost
  // two requests per call on S3); absent ones stay NULL.
  auto stored = [&](bool present, storage::CallArtifact artifact) -> std::optional<std::string> {
    if (!present) return std::nullopt;
    return location.Key(artifact);
  };
  const std::optional<std::string> recording =
      stored(record.has_recording, storage::CallArtifact::kRecording);
  const std::optional<std::string> transcript =
      stored(record.has_transcript, storage::CallArtifact::kTranscript);
  const int64_t ended = record.end.ended_at_ms;
  const std::optional<int64_t> ended_at = ended > 0 ? std::optional<int64_t>(ended) : std::nullopt;
  const std::optional<int64_t> duration =
      ended > 0 ? std::optional<int64_t>(std::max<int64_t>(0, ended - record.info.started_at_ms))
                : std::nullopt;
  const std::string metadata =
      DumpJson(nlohmann::json::parse(record.MetadataJson(recording.has_value()), nullptr, false));
  std::vector<db::Value> values = {record.info.call_sid.str(), record.info.agent_id.str(),
                                   // What Twilio's form held: PostgreSQL refuses text
                                   // that is not UTF-8.
                                   ValidUtf8(record.info.from), ValidUtf8(record.info.to),
                                   record.info.started_at_ms, ended_at, duration,
                                   record.end.outcome, static_cast<int64_t>(record.turns.size()),
                                   transcript, recording, metadata};

  // Agent ids are unique across organisations (Twilio's webhook URLs carry only the id).
  TEMPO_ASSIGN_OR_RETURN(db::Rows owner, db_.Query("SELECT org_id FROM agents WHERE id = $1",
                                                   {record.info.agent_id.str()}));
  if (owner.empty()) {
    TEMPO_TRY(db_.Execute(fmt::format("INSERT INTO unassigned_calls ({}) VALUES ($1, $2, $3, $4, "
                                      "$5, $6, $7, $8, $9, $10, $11, $12) "
                                      "ON CONFLICT (agent_id, call_sid) DO UPDATE SET {}",
                                      kColumns, kCompletion),
                          values));
    unassigned_.Inc();
    TEMPO_LOG(control, warn,
              "[call={}] agent {} belongs to no organisation; the call is kept in "
              "unassigned_calls, not shown to any tenant",
              record.info.call_sid, record.info.agent_id);
    return IndexedIn::kUnassigned;
  }
  TEMPO_ASSIGN_OR_RETURN(std::string org, owner[0].GetString(0));
  values.insert(values.begin(), std::move(org));
  // The conflict target is the organisation's own key: the update can only reach the row of
  // this organisation's call with this CallSid.
  TEMPO_TRY(db_.Execute(fmt::format("INSERT INTO calls (org_id, {}) VALUES ($1, $2, $3, $4, $5, "
                                    "$6, $7, $8, $9, $10, $11, $12, $13) "
                                    "ON CONFLICT (org_id, call_sid) DO UPDATE SET {}",
                                    kColumns, kCompletion),
                        values));
  return IndexedIn::kOrganisation;
}

}  // namespace tempo::control
