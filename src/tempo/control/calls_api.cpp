// /api/v1/calls: the call index of an organisation, each call's transcript and its recording
// (served with byte ranges, so that the dashboard's audio player can seek).

#include "tempo/base/log.hpp"
#include "tempo/control/api_support.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/request_parsing.hpp"
#include "tempo/storage/call_layout.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace tempo::control {
namespace {

using nlohmann::json;

constexpr std::string_view kCallColumns =
    "call_sid, agent_id, from_number, to_number, started_at, ended_at, duration_ms, outcome, "
    "turns, transcript_key, recording_key";

json CallJson(const db::Row& row) {
  const std::string sid = Str(row, 0);
  const auto ended = OptInt(row, 5);
  const auto duration = OptInt(row, 6);
  const auto outcome = OptStr(row, 7);
  const bool has_transcript = OptStr(row, 9).has_value();
  const bool has_recording = OptStr(row, 10).has_value();
  const int64_t started = Int(row, 4);
  return {{"callSid", sid},
          {"agentId", Str(row, 1)},
          {"from", OptStr(row, 2).value_or("")},
          {"to", OptStr(row, 3).value_or("")},
          {"startedAt", FormatTimeMs(started)},
          {"startedAtMs", started},
          {"endedAt", ended ? json(FormatTimeMs(*ended)) : json(nullptr)},
          {"durationMs", duration ? json(*duration) : json(nullptr)},
          {"outcome", outcome ? json(*outcome) : json(nullptr)},
          {"turns", Int(row, 8)},
          {"hasTranscript", has_transcript},
          {"hasRecording", has_recording},
          {"transcriptUrl",
           has_transcript ? json("/api/v1/calls/" + sid + "/transcript") : json(nullptr)},
          {"recordingUrl",
           has_recording ? json("/api/v1/calls/" + sid + "/recording.wav") : json(nullptr)}};
}

net::Response ListCalls(ControlState& s, Ctx& c) {
  if (auto e = OnlyQueryParams(c, {"agentId", "outcome", "from", "to", "limit", "cursor"})) {
    return e->ToResponse();
  }
  TEMPO_API_ASSIGN(int limit, PageLimit(c));
  TEMPO_API_ASSIGN(auto from, TimeParam(c, "from"));
  TEMPO_API_ASSIGN(auto to, TimeParam(c, "to"));
  std::vector<db::Value> params = {c.who.org_id.str()};
  std::string sql = fmt::format("SELECT {} FROM calls WHERE org_id = $1", kCallColumns);
  auto add = [&](std::string_view clause, db::Value v) {
    params.push_back(std::move(v));
    sql += fmt::format(fmt::runtime(clause), params.size());
  };
  if (auto it = c.query.find("agentId"); it != c.query.end() && !it->second.empty()) {
    add(" AND agent_id = ${}", it->second);
  }
  if (auto it = c.query.find("outcome"); it != c.query.end() && !it->second.empty()) {
    add(" AND outcome = ${}", it->second);
  }
  if (from) add(" AND started_at >= ${}", *from);
  if (to) add(" AND started_at < ${}", *to);
  if (auto it = c.query.find("cursor"); it != c.query.end()) {
    auto cursor = DecodeCursor(it->second);
    if (!cursor) return BadRequest("invalid cursor").ToResponse();
    params.push_back(cursor->first);
    params.push_back(cursor->second);
    sql += fmt::format(" AND (started_at < ${0} OR (started_at = ${0} AND call_sid < ${1}))",
                       params.size() - 1, params.size());
  }
  params.push_back(limit + 1);
  sql += fmt::format(" ORDER BY started_at DESC, call_sid DESC LIMIT ${}", params.size());
  TEMPO_DB_ASSIGN(db::Rows rows, s.db->Query(sql, params));
  json items = json::array();
  std::optional<std::string> next;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<int>(i) == limit) {
      next = EncodeCursor(Int(rows[i - 1], 4), Str(rows[i - 1], 0));
      break;
    }
    items.push_back(CallJson(rows[i]));
  }
  return JsonResponse(200, {{"items", items}, {"nextCursor", next ? json(*next) : json()}});
}

/// The call `sid` of `org` (kCallColumns, then metadata_json), if it exists.
Result<std::optional<db::Row>> LoadCall(ControlState& s, const OrgId& org, std::string_view sid) {
  TEMPO_ASSIGN_OR_RETURN(db::Rows rows,
                         s.db->Query(fmt::format("SELECT {}, metadata_json FROM calls "
                                                 "WHERE org_id = $1 AND call_sid = $2",
                                                 kCallColumns),
                                     {org.str(), sid}));
  if (rows.empty()) return std::optional<db::Row>();
  return std::optional<db::Row>(rows[0]);
}

net::Response GetCall(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(auto row, LoadCall(s, c.who.org_id, c.req.PathParam("sid")));
  if (!row) return NotFoundError("call").ToResponse();
  json j = CallJson(*row);
  auto metadata = json::parse(OptStr(*row, 11).value_or("null"), nullptr, false);
  j["metadata"] = metadata.is_discarded() ? json(nullptr) : metadata;
  j["turnLatenciesMs"] = metadata.is_object() && metadata.contains("turnLatenciesMs")
                             ? metadata["turnLatenciesMs"]
                             : json::array();
  return JsonResponse(200, j);
}

/// Where an indexed call's artefact is: its bucket and key come from the layout
/// (storage/call_layout), the row only says whether it was stored.
struct ArtifactPlace {
  std::string bucket;
  std::string key;
};
ApiResult<std::optional<ArtifactPlace>> FindArtifact(const db::Row& row,
                                                     storage::CallArtifact artifact) {
  const size_t column = artifact == storage::CallArtifact::kRecording ? 10 : 9;
  if (!OptStr(row, column)) return std::optional<ArtifactPlace>();
  auto location = storage::LocateCall(AgentId(Str(row, 1)), CallSid(Str(row, 0)));
  if (!location) return FromDb(location.error());
  return std::optional<ArtifactPlace>(ArtifactPlace{location->bucket, location->Key(artifact)});
}

net::Response GetTranscript(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(auto row, LoadCall(s, c.who.org_id, c.req.PathParam("sid")));
  if (!row) return NotFoundError("call").ToResponse();
  TEMPO_API_ASSIGN(auto place, FindArtifact(*row, storage::CallArtifact::kTranscript));
  if (!place) return NotFoundError("transcript").ToResponse();
  auto text = s.store.Get(place->bucket, place->key);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) {
      return NotFoundError("transcript").ToResponse();
    }
    return FromDb(text.error()).ToResponse();
  }
  auto r = net::Response::Json(200, std::move(*text));
  r.headers.Set("Cache-Control", "private, max-age=60");
  return r;
}

net::Response GetRecording(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(auto row, LoadCall(s, c.who.org_id, c.req.PathParam("sid")));
  if (!row) return NotFoundError("call").ToResponse();
  TEMPO_API_ASSIGN(auto place, FindArtifact(*row, storage::CallArtifact::kRecording));
  if (!place) return NotFoundError("recording").ToResponse();
  const std::string& bucket = place->bucket;
  const std::string& key = place->key;

  // Only the bytes asked for are read, from a file or from S3 (a ranged GET): a player seeking
  // in an hour-long recording does not load all of it.
  auto size = s.store.Size(bucket, key);
  if (!size) {
    if (size.error().code == ErrorCode::kNotFound) return NotFoundError("recording").ToResponse();
    return FromDb(size.error()).ToResponse();
  }
  auto read = [&](uint64_t first, uint64_t count) -> std::optional<std::string> {
    auto bytes = s.store.GetRange(bucket, key, first, count);
    if (!bytes) {
      TEMPO_LOG(control, error, "reading {}/{}: {}", bucket, key, bytes.error().message);
      return std::nullopt;
    }
    return std::move(*bytes);
  };
  net::Response r;
  r.headers.Set("Accept-Ranges", "bytes");
  r.headers.Set("Cache-Control", "private, max-age=3600");
  ByteRange range;
  const auto header = c.req.headers.Find("Range");
  switch (header ? ParseRange(*header, *size, range) : RangeParse::kNone) {
    case RangeParse::kUnsatisfiable: {
      auto e = ApiError{
          416,
          "range_not_satisfiable",
          fmt::format("the recording has {} bytes", *size),
          {}}.ToResponse();
      e.headers.Set("Content-Range", fmt::format("bytes */{}", *size));
      return e;
    }
    case RangeParse::kRange: {
      auto body = read(range.first, range.last - range.first + 1);
      if (!body) return InternalError().ToResponse();
      r.status = 206;
      r.body = std::move(*body);
      r.headers.Set("Content-Range", fmt::format("bytes {}-{}/{}", range.first, range.last, *size));
      break;
    }
    case RangeParse::kNone: {
      auto body = read(0, *size);
      if (!body) return InternalError().ToResponse();
      r.status = 200;
      r.body = std::move(*body);
      break;
    }
  }
  r.headers.Set("Content-Type", "audio/wav");
  return r;
}

}  // namespace

void AddCallRoutes(ApiRoutes& routes) {
  using M = net::Method;
  routes.Add(M::kGet, "/api/v1/calls", Access::kRead, &ListCalls);
  routes.Add(M::kGet, "/api/v1/calls/{sid}", Access::kRead, &GetCall);
  routes.Add(M::kGet, "/api/v1/calls/{sid}/transcript", Access::kRead, &GetTranscript);
  routes.Add(M::kGet, "/api/v1/calls/{sid}/recording.wav", Access::kRead, &GetRecording);
}

}  // namespace tempo::control
