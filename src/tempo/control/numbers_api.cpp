// /api/v1/numbers: phone numbers (E.164) of an organisation and the agent each one calls.

#include "tempo/control/agents_api.hpp"
#include "tempo/control/api_support.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/request_parsing.hpp"

#include <nlohmann/json.hpp>

namespace tempo::control {
namespace {

using nlohmann::json;

json NumberJson(const ControlState& s, const std::string& e164,
                const std::optional<std::string>& agent_id, int64_t created_at) {
  return {{"e164", e164},
          {"agentId", agent_id ? json(*agent_id) : json(nullptr)},
          {"voiceUrl", agent_id ? json(s.VoiceUrl(*agent_id)) : json(nullptr)},
          {"voiceMethod", "POST"},
          {"createdAt", FormatTimeMs(created_at)}};
}

ApiResult<std::string> NumberParam(const Ctx& c) {
  auto e164 = PercentDecode(c.req.PathParam("e164"));
  if (!e164) return BadRequest("malformed number in the path");
  return std::move(*e164);
}

net::Response CreateNumber(ControlState& s, Ctx& c) {
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  BodyReader r(body);
  auto e164 = r.String("e164", true, 20);
  auto agent_id = r.String("agentId", false, 100);
  if (e164 && !agent::IsE164(*e164)) {
    r.Invalid("e164", "must be an E.164 phone number such as +14155550100");
  }
  if (agent_id) {
    TEMPO_DB_ASSIGN(bool owned, OwnsAgent(s, c.who.org_id, *agent_id));
    if (!owned) r.Invalid("agentId", "no agent with this id");
  }
  if (auto e = r.Finish()) return e->ToResponse();
  const int64_t now = s.NowMs();
  auto inserted = s.db->Execute(
      "INSERT INTO numbers (org_id, e164, agent_id, created_at) VALUES ($1, $2, "
      "$3, $4)",
      {c.who.org_id.str(), *e164, agent_id, now});
  if (!inserted && inserted.error().code == ErrorCode::kAlreadyExists) {
    return ApiError{
        409, "conflict", "this number is already registered", {{"e164", "is already registered"}}}
        .ToResponse();
  }
  TEMPO_DB_TRY(inserted);
  return JsonResponse(201, NumberJson(s, *e164, agent_id, now));
}

net::Response ListNumbers(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(db::Rows rows, s.db->Query("SELECT e164, agent_id, created_at FROM numbers "
                                             "WHERE org_id = $1 ORDER BY e164",
                                             {c.who.org_id.str()}));
  json items = json::array();
  for (const auto& row : rows) {
    items.push_back(NumberJson(s, Str(row, 0), OptStr(row, 1), Int(row, 2)));
  }
  return JsonResponse(200, {{"items", items}});
}

net::Response PatchNumber(ControlState& s, Ctx& c) {
  TEMPO_API_ASSIGN(std::string e164, NumberParam(c));
  TEMPO_DB_ASSIGN(db::Rows existing,
                  s.db->Query("SELECT created_at FROM numbers WHERE org_id = $1 AND e164 = $2",
                              {c.who.org_id.str(), e164}));
  if (existing.empty()) return NotFoundError("number").ToResponse();
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  BodyReader r(body);
  auto agent_id = r.String("agentId", false, 100);
  if (!agent_id && !r.IsNull("agentId") && !body.contains("agentId")) {
    r.Invalid("agentId", "is required (null unassigns the number)");
  }
  if (agent_id) {
    TEMPO_DB_ASSIGN(bool owned, OwnsAgent(s, c.who.org_id, *agent_id));
    if (!owned) r.Invalid("agentId", "no agent with this id");
  }
  if (auto e = r.Finish()) return e->ToResponse();
  TEMPO_DB_TRY(s.db->Execute("UPDATE numbers SET agent_id = $1 WHERE org_id = $2 AND e164 = $3",
                             {agent_id, c.who.org_id.str(), e164}));
  return JsonResponse(200, NumberJson(s, e164, agent_id, Int(existing[0], 0)));
}

net::Response DeleteNumber(ControlState& s, Ctx& c) {
  TEMPO_API_ASSIGN(std::string e164, NumberParam(c));
  TEMPO_DB_ASSIGN(int64_t n, s.db->Execute("DELETE FROM numbers WHERE org_id = $1 AND e164 = $2",
                                           {c.who.org_id.str(), e164}));
  if (n == 0) return NotFoundError("number").ToResponse();
  return NoContent();
}

}  // namespace

void AddNumberRoutes(ApiRoutes& routes) {
  using M = net::Method;
  routes.Add(M::kGet, "/api/v1/numbers", Access::kRead, &ListNumbers);
  routes.Add(M::kPost, "/api/v1/numbers", Access::kWrite, &CreateNumber);
  routes.Add(M::kPatch, "/api/v1/numbers/{e164}", Access::kWrite, &PatchNumber);
  routes.Add(M::kDelete, "/api/v1/numbers/{e164}", Access::kWrite, &DeleteNumber);
}

}  // namespace tempo::control
