#include "tempo/control/agent_store.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"

#include <nlohmann/json.hpp>

#include <mutex>

namespace tempo::control {
namespace {
using nlohmann::json;
constexpr std::string_view kDeployed = "deployed";
constexpr std::string_view kUndeployed = "undeployed";
}  // namespace

StoredAgentColumns EncodeAgent(const agent::AgentConfig& config, const SecretBox& box) {
  json j = agent::ToJson(config, agent::Secrets::kOmit);
  j.erase("twilioAuthTokenSet");
  j.erase("twilioApiSecretSet");
  StoredAgentColumns out;
  out.config_json = DumpJson(j);
  if (!config.twilio_auth_token.empty() || !config.twilio_api_secret.empty()) {
    const json secrets = {{"twilioAuthToken", config.twilio_auth_token.Reveal()},
                          {"twilioApiSecret", config.twilio_api_secret.Reveal()}};
    out.secrets_ciphertext = box.Seal(DumpJson(secrets));
  }
  return out;
}

Result<agent::AgentConfig> DecodeAgent(std::string_view config_json,
                                       const std::optional<std::string>& secrets_ciphertext,
                                       const SecretBox& box) {
  auto j = json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Internal("stored agent is not a JSON object");
  if (secrets_ciphertext) {
    TEMPO_ASSIGN_OR_RETURN(std::string plain, box.Open(*secrets_ciphertext));
    auto secrets = json::parse(plain, nullptr, false);
    if (secrets.is_discarded() || !secrets.is_object()) {
      return Internal("stored agent secrets are corrupt");
    }
    for (const char* key : {"twilioAuthToken", "twilioApiSecret"}) {
      if (secrets.contains(key) && secrets[key].is_string()) j[key] = secrets[key];
    }
  }
  auto config = agent::FromJson(j, agent::Unknown::kIgnore);
  if (!config) return Internal("stored agent is invalid: " + config.error().message);
  return std::move(*config);
}

DbAgentDirectory::DbAgentDirectory(db::Database& db, const SecretBox& box) : db_(db), box_(box) {}

std::shared_ptr<const agent::AgentConfig> DbAgentDirectory::Find(const AgentId& id) const {
  {
    std::shared_lock lock(mutex_);
    if (auto it = agents_.find(id); it != agents_.end()) return it->second;
  }
  return fallback_ != nullptr ? fallback_->Find(id) : nullptr;
}

std::vector<std::shared_ptr<const agent::AgentConfig>> DbAgentDirectory::List() const {
  std::vector<std::shared_ptr<const agent::AgentConfig>> out;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, config] : agents_) out.push_back(config);
  }
  if (fallback_ != nullptr) {
    for (auto& config : fallback_->List()) {
      if (Find(config->agent_id) == config) out.push_back(std::move(config));
    }
  }
  return out;
}

std::optional<OrgId> DbAgentDirectory::OrgOf(const AgentId& id) const {
  {
    std::shared_lock lock(mutex_);
    if (auto it = orgs_.find(id); it != orgs_.end()) return it->second;
  }
  return fallback_ != nullptr ? fallback_->OrgOf(id) : std::nullopt;
}

Result<size_t> DbAgentDirectory::Reload() {
  TEMPO_ASSIGN_OR_RETURN(db::Rows rows,
                         db_.Query("SELECT id, config_json, secrets_ciphertext, org_id FROM agents "
                                   "WHERE deployed_state = $1",
                                   {kDeployed}));
  std::map<AgentId, std::shared_ptr<const agent::AgentConfig>> loaded;
  std::map<AgentId, OrgId> orgs;
  for (const db::Row& row : rows) {
    TEMPO_ASSIGN_OR_RETURN(std::string id, row.GetString(0));
    TEMPO_ASSIGN_OR_RETURN(std::string config_json, row.GetString(1));
    TEMPO_ASSIGN_OR_RETURN(std::optional<std::string> secrets, row.GetOptionalString(2));
    TEMPO_ASSIGN_OR_RETURN(std::string org, row.GetString(3));
    auto config = DecodeAgent(config_json, secrets, box_);
    if (!config) {
      TEMPO_LOG(control, error, "agent {} cannot be served: {}", id, config.error().message);
      continue;
    }
    loaded[AgentId(id)] = std::make_shared<const agent::AgentConfig>(std::move(*config));
    orgs[AgentId(id)] = OrgId(std::move(org));
  }
  const size_t count = loaded.size();
  std::unique_lock lock(mutex_);
  agents_ = std::move(loaded);
  orgs_ = std::move(orgs);
  return count;
}

Result<void> DbAgentDirectory::Refresh(const AgentId& id) {
  TEMPO_ASSIGN_OR_RETURN(db::Rows rows,
                         db_.Query("SELECT config_json, secrets_ciphertext, org_id FROM agents "
                                   "WHERE id = $1 AND deployed_state = $2",
                                   {id.str(), kDeployed}));
  if (rows.empty()) {
    std::unique_lock lock(mutex_);
    agents_.erase(id);
    orgs_.erase(id);
    return Ok();
  }
  TEMPO_ASSIGN_OR_RETURN(std::string config_json, rows[0].GetString(0));
  TEMPO_ASSIGN_OR_RETURN(std::optional<std::string> secrets, rows[0].GetOptionalString(1));
  TEMPO_ASSIGN_OR_RETURN(std::string org, rows[0].GetString(2));
  TEMPO_ASSIGN_OR_RETURN(agent::AgentConfig config, DecodeAgent(config_json, secrets, box_));
  auto shared = std::make_shared<const agent::AgentConfig>(std::move(config));
  std::unique_lock lock(mutex_);
  agents_[id] = std::move(shared);
  orgs_[id] = OrgId(std::move(org));
  return Ok();
}

Result<void> DbAgentDirectory::SetActivation(const OrgId& org, const AgentId& agent,
                                             Activation activation) {
  TEMPO_ASSIGN_OR_RETURN(
      int64_t changed,
      db_.Execute(
          "UPDATE agents SET deployed_state = $1 WHERE org_id = $2 AND id = $3",
          {activation == Activation::kActive ? kDeployed : kUndeployed, org.str(), agent.str()}));
  if (changed == 0) return NotFound("agent " + agent.str() + " not found");
  return Refresh(agent);
}

}  // namespace tempo::control
