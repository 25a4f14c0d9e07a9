// /api/v1/agents: agents with optimistic concurrency (ETag = version, If-Match required for
// changes), and their deployments (/deploy, /undeploy, /deployment); /api/v1/engines, the
// speech engines an agent may name.

#include "tempo/control/agents_api.hpp"

#include "tempo/base/log.hpp"
#include "tempo/control/agent_store.hpp"
#include "tempo/control/api_support.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/request_parsing.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace tempo::control {
namespace {

using nlohmann::json;

// Fields the API returns with an agent that are not part of its configuration; accepted and
// ignored on input so that a client can send back what it read.
const std::set<std::string>& ReadOnlyAgentFields() {
  static const std::set<std::string> kFields = {
      "twilioAuthTokenSet", "twilioApiSecretSet", "version", "status",
      "createdAt",          "updatedAt",          "voiceUrl"};
  return kFields;
}

json AgentJson(const ControlState& s, const AgentRow& a) {
  json j = agent::ToJson(a.config, agent::Secrets::kOmit);
  j["version"] = a.version;
  j["status"] = a.status;
  j["createdAt"] = FormatTimeMs(a.created_at);
  j["updatedAt"] = FormatTimeMs(a.updated_at);
  j["voiceUrl"] = s.VoiceUrl(a.config.agent_id.str());
  return j;
}

net::Response AgentResponse(const ControlState& s, int status, const AgentRow& a) {
  auto r = JsonResponse(status, AgentJson(s, a));
  r.headers.Set("ETag", ETag(a.version));
  return r;
}

void StripReadOnly(json& body) {
  for (const auto& key : ReadOnlyAgentFields()) body.erase(key);
}

bool HasEngine(const ControlState& s, std::string_view name) {
  const auto& engines = s.options.engines;
  return std::find(engines.begin(), engines.end(), name) != engines.end();
}

// The engine a body names: its "engine" string, or the default when it names none; nullopt
// when the field has the wrong type (FromJson reports that).
std::optional<std::string> NamedEngine(const json& j) {
  auto it = j.find("engine");
  if (it == j.end() || it->is_null()) return agent::AgentConfig{}.engine;
  if (it->is_string()) return it->get<std::string>();
  return std::nullopt;
}

// An agent the body describes, with every field problem in one 422. Besides the agent's own
// validation, its engine must be one this server has: an agent of a missing engine would
// save, then fail to deploy or answer calls with an apology.
ApiResult<agent::AgentConfig> ParseAgent(const ControlState& s, const json& j) {
  std::vector<agent::FieldError> errors;
  auto config = agent::FromJson(j, agent::Unknown::kReject, &errors);
  if (!config && errors.empty()) errors.push_back({"", config.error().message});
  const auto engine = config ? std::optional<std::string>(config->engine) : NamedEngine(j);
  const bool engine_reported =
      std::any_of(errors.begin(), errors.end(), [](const auto& e) { return e.field == "engine"; });
  if (engine && !engine_reported && !HasEngine(s, *engine)) {
    errors.push_back({"engine", s.options.engines.empty()
                                    ? "no speech engine is available in this server"
                                    : fmt::format("is not available in this server; use one of {}",
                                                  fmt::join(s.options.engines, ", "))});
  }
  if (!errors.empty()) return ValidationFailed(std::move(errors));
  return std::move(*config);
}

net::Response ListAgents(ControlState& s, Ctx& c) {
  if (auto e = OnlyQueryParams(c, {"limit", "cursor"})) return e->ToResponse();
  TEMPO_API_ASSIGN(int limit, PageLimit(c));
  std::vector<db::Value> params = {c.who.org_id.str()};
  std::string sql =
      "SELECT id, name, config_json, version, deployed_state, created_at, updated_at "
      "FROM agents WHERE org_id = $1";
  if (auto it = c.query.find("cursor"); it != c.query.end()) {
    auto cursor = DecodeCursor(it->second);
    if (!cursor) return BadRequest("invalid cursor").ToResponse();
    sql += " AND (created_at < $2 OR (created_at = $2 AND id < $3))";
    params.push_back(cursor->first);
    params.push_back(cursor->second);
  }
  sql += fmt::format(" ORDER BY created_at DESC, id DESC LIMIT ${}", params.size() + 1);
  params.push_back(limit + 1);
  TEMPO_DB_ASSIGN(db::Rows rows, s.db->Query(sql, params));
  json items = json::array();
  std::optional<std::string> next;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const std::string id = Str(row, 0);
    const int64_t created = Int(row, 5);
    if (static_cast<int>(i) == limit) {
      const auto& prev = rows[i - 1];
      next = EncodeCursor(Int(prev, 5), Str(prev, 0));
      break;
    }
    auto config = json::parse(Str(row, 2), nullptr, false);
    auto field = [&](const char* key) {
      return config.is_object() && config.contains(key) ? config[key] : json(nullptr);
    };
    items.push_back({{"agentId", id},
                     {"agentName", Str(row, 1)},
                     {"description", field("description")},
                     {"engine", field("engine")},
                     {"enabled", field("enabled")},
                     {"callPhoneNumber", field("callPhoneNumber")},
                     {"version", Int(row, 3)},
                     {"status", OptStr(row, 4).value_or("undeployed")},
                     {"createdAt", FormatTimeMs(created)},
                     {"updatedAt", FormatTimeMs(Int(row, 6))}});
  }
  return JsonResponse(200, {{"items", items}, {"nextCursor", next ? json(*next) : json()}});
}

net::Response CreateAgent(ControlState& s, Ctx& c) {
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  StripReadOnly(body);
  TEMPO_API_ASSIGN(agent::AgentConfig config, ParseAgent(s, body));
  const int64_t now = s.NowMs();
  auto inserted = InsertAgent(s, c.who.org_id, config, now);
  if (!inserted && inserted.error().code == ErrorCode::kAlreadyExists) {
    return ApiError{409,
                    "conflict",
                    "an agent with this agentId already exists; agent ids are unique "
                    "across the platform",
                    {{"agentId", "is already taken"}}}
        .ToResponse();
  }
  TEMPO_DB_TRY(inserted);
  AgentRow row{std::move(config), 1, "undeployed", now, now};
  auto response = AgentResponse(s, 201, row);
  response.headers.Set("Location", "/api/v1/agents/" + row.config.agent_id.str());
  return response;
}

net::Response GetAgent(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(auto row, LoadAgent(s, c.who.org_id, c.req.PathParam("id")));
  if (!row) return NotFoundError("agent").ToResponse();
  return AgentResponse(s, 200, *row);
}

enum class UpdateMode { kReplace, kMergePatch };

net::Response UpdateAgent(ControlState& s, Ctx& c, UpdateMode mode) {
  const std::string id(c.req.PathParam("id"));
  TEMPO_DB_ASSIGN(auto current, LoadAgent(s, c.who.org_id, id));
  if (!current) return NotFoundError("agent").ToResponse();
  TEMPO_API_ASSIGN(int64_t expected, RequireIfMatch(c));
  if (expected != current->version) {
    return PreconditionFailed(fmt::format("the agent has changed (version {} is current); "
                                          "reload it and apply your change again",
                                          current->version))
        .ToResponse();
  }
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  StripReadOnly(body);
  if (auto it = body.find("agentId"); it != body.end() && *it != json(id)) {
    return FieldInvalid("agentId", "cannot be changed; create a new agent instead").ToResponse();
  }
  json full;
  if (mode == UpdateMode::kMergePatch) {
    full = agent::ToJson(current->config, agent::Secrets::kInclude);
    full.merge_patch(body);
  } else {
    full = std::move(body);
    full["agentId"] = id;
    // Secrets are write-only: a client that never saw them keeps them by leaving them out.
    if (!full.contains("twilioAuthToken")) {
      full["twilioAuthToken"] = current->config.twilio_auth_token.Reveal();
    }
    if (!full.contains("twilioApiSecret")) {
      full["twilioApiSecret"] = current->config.twilio_api_secret.Reveal();
    }
  }
  TEMPO_API_ASSIGN(agent::AgentConfig config, ParseAgent(s, full));
  const auto columns = EncodeAgent(config, s.box);
  const int64_t now = s.NowMs();
  TEMPO_DB_ASSIGN(
      int64_t changed,
      s.db->Execute("UPDATE agents SET name = $1, config_json = $2, secrets_ciphertext = $3, "
                    "version = version + 1, updated_at = $4 "
                    "WHERE org_id = $5 AND id = $6 AND version = $7",
                    {config.agent_name, columns.config_json, columns.secrets_ciphertext, now,
                     c.who.org_id.str(), id, expected}));
  if (changed == 0) return PreconditionFailed("the agent changed meanwhile").ToResponse();
  if (auto ok = s.directory.Refresh(AgentId(id)); !ok) {
    TEMPO_LOG(control, error, "agent {} saved but not refreshed: {}", id, ok.error().message);
  }
  AgentRow row{std::move(config), expected + 1, current->status, current->created_at, now};
  return AgentResponse(s, 200, row);
}

net::Response PutAgent(ControlState& s, Ctx& c) { return UpdateAgent(s, c, UpdateMode::kReplace); }
net::Response PatchAgent(ControlState& s, Ctx& c) {
  return UpdateAgent(s, c, UpdateMode::kMergePatch);
}

net::Response DeleteAgent(ControlState& s, Ctx& c) {
  const std::string id(c.req.PathParam("id"));
  TEMPO_DB_ASSIGN(auto current, LoadAgent(s, c.who.org_id, id));
  if (!current) return NotFoundError("agent").ToResponse();
  TEMPO_API_ASSIGN(int64_t expected, RequireIfMatch(c));
  if (expected != current->version) {
    return PreconditionFailed("the agent has changed; reload it before deleting").ToResponse();
  }
  auto deleted = s.db->Execute("DELETE FROM agents WHERE org_id = $1 AND id = $2 AND version = $3",
                               {c.who.org_id.str(), id, expected});
  if (!deleted && deleted.error().code == ErrorCode::kFailedPrecondition) {
    return Conflict("phone numbers are assigned to this agent; remove them first").ToResponse();
  }
  TEMPO_DB_ASSIGN(int64_t n, std::move(deleted));
  if (n == 0) return PreconditionFailed("the agent changed meanwhile").ToResponse();
  if (auto ok = s.directory.Refresh(AgentId(id)); !ok) {
    TEMPO_LOG(control, error, "agent {} deleted but still cached: {}", id, ok.error().message);
  }
  return NoContent();
}

// The speech engines agents of this server may use (the dashboard's engine choice).
net::Response ListEngines(ControlState& s, Ctx& /*c*/) {
  json items = json::array();
  for (const auto& name : s.options.engines) items.push_back({{"name", name}});
  return JsonResponse(200, {{"items", items}});
}

// ---------------------------------------------------------------- deployments

net::Response StartDeployment(ControlState& s, Ctx& c, DeployAction action) {
  const std::string id(c.req.PathParam("id"));
  TEMPO_DB_ASSIGN(auto agent_row, LoadAgent(s, c.who.org_id, id));
  if (!agent_row) return NotFoundError("agent").ToResponse();
  if (!c.req.body.empty()) {
    TEMPO_API_ASSIGN(json body, ParseObject(c));
    if (!body.empty()) return BodyReader(body).Finish()->ToResponse();
  }
  TEMPO_DB_ASSIGN(auto started,
                  s.deployments.Start(c.who.org_id, agent_row->config, agent_row->version, action));
  if (!started) return Conflict("a deployment of this agent is in progress").ToResponse();
  auto response = JsonResponse(202, DeploymentJson(*started));
  response.headers.Set("Location", fmt::format("/api/v1/agents/{}/deployment", id));
  return response;
}

net::Response Deploy(ControlState& s, Ctx& c) {
  return StartDeployment(s, c, DeployAction::kDeploy);
}
net::Response Undeploy(ControlState& s, Ctx& c) {
  return StartDeployment(s, c, DeployAction::kUndeploy);
}

net::Response GetDeployment(ControlState& s, Ctx& c) {
  const std::string id(c.req.PathParam("id"));
  TEMPO_DB_ASSIGN(bool owned, OwnsAgent(s, c.who.org_id, id));
  if (!owned) return NotFoundError("agent").ToResponse();
  TEMPO_DB_ASSIGN(auto d, s.deployments.Latest(c.who.org_id, id));
  if (!d) return NotFoundError("deployment").ToResponse();
  return JsonResponse(200, DeploymentJson(*d));
}

// What the agent has where the deployer put it (the ecs deployer asks AWS).
net::Response GetResources(ControlState& s, Ctx& c) {
  const std::string id(c.req.PathParam("id"));
  TEMPO_DB_ASSIGN(bool owned, OwnsAgent(s, c.who.org_id, id));
  if (!owned) return NotFoundError("agent").ToResponse();
  auto resources = s.deployments.Backend().Resources(c.who.org_id, AgentId(id));
  if (!resources) {
    return ApiError(502, "deployer_unavailable",
                    fmt::format("the {} deployer could not say: {}", s.deployments.Backend().Name(),
                                resources.error().message))
        .ToResponse();
  }
  return JsonResponse(200, *resources);
}

}  // namespace

Result<std::optional<AgentRow>> LoadAgent(ControlState& s, const OrgId& org, std::string_view id) {
  TEMPO_ASSIGN_OR_RETURN(
      db::Rows rows,
      s.db->Query("SELECT config_json, secrets_ciphertext, version, deployed_state, created_at, "
                  "updated_at FROM agents WHERE org_id = $1 AND id = $2",
                  {org.str(), id}));
  if (rows.empty()) return std::optional<AgentRow>();
  const db::Row& row = rows[0];
  AgentRow a;
  TEMPO_ASSIGN_OR_RETURN(std::string config_json, row.GetString(0));
  TEMPO_ASSIGN_OR_RETURN(std::optional<std::string> secrets, row.GetOptionalString(1));
  TEMPO_ASSIGN_OR_RETURN(a.config, DecodeAgent(config_json, secrets, s.box));
  TEMPO_ASSIGN_OR_RETURN(a.version, row.GetInt(2));
  TEMPO_ASSIGN_OR_RETURN(std::optional<std::string> state, row.GetOptionalString(3));
  a.status = state.value_or("undeployed");
  TEMPO_ASSIGN_OR_RETURN(a.created_at, row.GetInt(4));
  TEMPO_ASSIGN_OR_RETURN(a.updated_at, row.GetInt(5));
  return std::optional<AgentRow>(std::move(a));
}

Result<void> InsertAgent(ControlState& s, const OrgId& org, const agent::AgentConfig& config,
                         int64_t now) {
  const auto columns = EncodeAgent(config, s.box);
  TEMPO_TRY(s.db->Execute(
      "INSERT INTO agents (org_id, id, name, config_json, secrets_ciphertext, version, "
      "deployed_state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
      {org.str(), config.agent_id.str(), config.agent_name, columns.config_json,
       columns.secrets_ciphertext, "undeployed", now}));
  return Ok();
}

Result<bool> OwnsAgent(ControlState& s, const OrgId& org, std::string_view agent_id) {
  TEMPO_ASSIGN_OR_RETURN(
      db::Rows rows,
      s.db->Query("SELECT 1 FROM agents WHERE org_id = $1 AND id = $2", {org.str(), agent_id}));
  return !rows.empty();
}

void AddAgentRoutes(ApiRoutes& routes) {
  using M = net::Method;
  routes.Add(M::kGet, "/api/v1/agents", Access::kRead, &ListAgents);
  routes.Add(M::kPost, "/api/v1/agents", Access::kWrite, &CreateAgent);
  routes.Add(M::kGet, "/api/v1/agents/{id}", Access::kRead, &GetAgent);
  routes.Add(M::kPut, "/api/v1/agents/{id}", Access::kWrite, &PutAgent);
  routes.Add(M::kPatch, "/api/v1/agents/{id}", Access::kWrite, &PatchAgent);
  routes.Add(M::kDelete, "/api/v1/agents/{id}", Access::kWrite, &DeleteAgent);
  routes.Add(M::kPost, "/api/v1/agents/{id}/deploy", Access::kWrite, &Deploy);
  routes.Add(M::kPost, "/api/v1/agents/{id}/undeploy", Access::kWrite, &Undeploy);
  routes.Add(M::kGet, "/api/v1/agents/{id}/deployment", Access::kRead, &GetDeployment);
  routes.Add(M::kGet, "/api/v1/agents/{id}/resources", Access::kRead, &GetResources);
  routes.Add(M::kGet, "/api/v1/engines", Access::kRead, &ListEngines);
}

}  // namespace tempo::control
