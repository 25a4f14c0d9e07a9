#include "tempo/control/deployment_service.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"
#include "tempo/control/api_support.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/control/request_parsing.hpp"

#include <algorithm>

namespace tempo::control {
namespace {

using nlohmann::json;

json StepsJson(const Deployment& d) {
  json steps = json::array();
  for (size_t i = 0; i < d.step_names.size(); ++i) {
    steps.push_back({{"name", d.step_names[i]},
                     {"state", ToString(d.step_states[i])},
                     {"message", d.step_messages[i]}});
  }
  return {{"action", d.action},
          {"agentVersion", d.agent_version},
          {"error", d.error},
          {"steps", steps}};
}

Result<Deployment> ReadDeployment(const db::Row& row) {
  Deployment d;
  TEMPO_ASSIGN_OR_RETURN(d.id, row.GetString("id"));
  TEMPO_ASSIGN_OR_RETURN(d.agent_id, row.GetString("agent_id"));
  TEMPO_ASSIGN_OR_RETURN(d.state, row.GetString("state"));
  TEMPO_ASSIGN_OR_RETURN(std::string steps_text, row.GetString("steps_json"));
  TEMPO_ASSIGN_OR_RETURN(d.created_at, row.GetInt("created_at"));
  TEMPO_ASSIGN_OR_RETURN(d.updated_at, row.GetInt("updated_at"));
  auto j = json::parse(steps_text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Internal("corrupt deployment steps");
  d.action = j.value("action", "deploy");
  d.agent_version = j.value("agentVersion", int64_t{0});
  d.error = j.value("error", "");
  for (const auto& s : j.value("steps", json::array())) {
    d.step_names.push_back(s.value("name", ""));
    const std::string state = s.value("state", "pending");
    d.step_states.push_back(state == "done"      ? StepState::kDone
                            : state == "running" ? StepState::kRunning
                            : state == "failed"  ? StepState::kFailed
                                                 : StepState::kPending);
    d.step_messages.push_back(s.value("message", ""));
  }
  return d;
}

Result<std::optional<Deployment>> LatestOn(db::Database& on, const OrgId& org,
                                           std::string_view agent_id) {
  TEMPO_ASSIGN_OR_RETURN(
      db::Rows rows,
      on.Query("SELECT id, agent_id, state, steps_json, created_at, updated_at FROM deployments "
               "WHERE org_id = $1 AND agent_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
               {org.str(), agent_id}));
  if (rows.empty()) return std::optional<Deployment>();
  TEMPO_ASSIGN_OR_RETURN(Deployment d, ReadDeployment(rows[0]));
  return std::optional<Deployment>(std::move(d));
}

}  // namespace

json DeploymentJson(const Deployment& d) {
  size_t done = 0;
  for (auto s : d.step_states) done += s == StepState::kDone ? 1 : 0;
  const int progress =
      d.step_names.empty() ? 100 : static_cast<int>(done * 100 / d.step_names.size());
  json j = StepsJson(d);
  j["id"] = d.id;
  j["agentId"] = d.agent_id;
  j["state"] = d.state;
  j["progress"] = progress;
  j["createdAt"] = FormatTimeMs(d.created_at);
  j["updatedAt"] = FormatTimeMs(d.updated_at);
  if (d.error.empty()) j["error"] = nullptr;
  return j;
}

DeploymentService::DeploymentService(db::Database& db, const Clock& clock,
                                     const RunBlocking& run_blocking,
                                     std::unique_ptr<Deployer> deployer)
    : db_(db), clock_(clock), run_blocking_(run_blocking), deployer_(std::move(deployer)) {}

int64_t DeploymentService::NowMs() const { return WallMs(clock_); }

Result<std::optional<Deployment>> DeploymentService::Latest(const OrgId& org,
                                                            std::string_view agent_id) {
  return LatestOn(db_, org, agent_id);
}

Result<void> DeploymentService::Save(const Deployment& d) {
  TEMPO_TRY(db_.Execute(
      "UPDATE deployments SET state = $1, steps_json = $2, updated_at = $3 WHERE id = $4",
      {d.state, DumpJson(StepsJson(d)), d.updated_at, d.id}));
  return Ok();
}

Result<std::optional<Deployment>> DeploymentService::Start(const OrgId& org,
                                                           const agent::AgentConfig& config,
                                                           int64_t agent_version,
                                                           DeployAction action) {
  const std::string id = config.agent_id.str();
  Deployment d;
  d.id = "dep_" + RandomHex(12);
  d.agent_id = id;
  d.action = action == DeployAction::kDeploy ? "deploy" : "undeploy";
  d.state = "in_progress";
  d.agent_version = agent_version;
  d.step_names =
      action == DeployAction::kDeploy ? deployer_->DeploySteps() : deployer_->UndeploySteps();
  d.step_states.assign(d.step_names.size(), StepState::kPending);
  d.step_messages.assign(d.step_names.size(), "");
  d.created_at = d.updated_at = NowMs();
  bool busy = false;
  TEMPO_TRY(db_.Transaction([&](db::Database& tx) -> Result<void> {
    TEMPO_ASSIGN_OR_RETURN(auto latest, LatestOn(tx, org, id));
    if (latest && latest->state == "in_progress") {
      busy = true;
      return Ok();
    }
    // Keep created_at strictly increasing per agent so "latest" is well defined.
    if (latest && latest->created_at >= d.created_at) d.created_at = latest->created_at + 1;
    d.updated_at = d.created_at;
    TEMPO_TRY(
        tx.Execute("INSERT INTO deployments (id, org_id, agent_id, state, steps_json, created_at, "
                   "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                   {d.id, org.str(), id, d.state, DumpJson(StepsJson(d)), d.created_at}));
    return Ok();
  }));
  if (busy) return std::optional<Deployment>();
  run_blocking_([this, d, org, config]() mutable { Run(std::move(d), org, config); });
  return std::optional<Deployment>(d);
}

void DeploymentService::Run(Deployment d, const OrgId& org, const agent::AgentConfig& config) {
  auto progress = [&](size_t step, StepState state, const std::string& message) {
    if (step >= d.step_states.size()) return;
    d.step_states[step] = state;
    d.step_messages[step] = message;
    d.updated_at = std::max(NowMs(), d.created_at);
    if (auto ok = Save(d); !ok) {
      TEMPO_LOG(control, warn, "deployment {}: progress not saved: {}", d.id, ok.error().message);
    }
  };
  auto result = d.action == "deploy" ? deployer_->Deploy(org, config, progress)
                                     : deployer_->Undeploy(org, config.agent_id, progress);
  d.state = result ? "succeeded" : "failed";
  if (!result) d.error = result.error().message;
  d.updated_at = std::max(NowMs(), d.created_at);
  if (auto ok = Save(d); !ok) {
    TEMPO_LOG(control, error, "deployment {}: final state not saved: {}", d.id, ok.error().message);
  }
  TEMPO_LOG(control, info, "{} of agent {} {} ({})", d.action, d.agent_id, d.state,
            deployer_->Name());
}

Result<void> DeploymentService::FailInterrupted() {
  TEMPO_ASSIGN_OR_RETURN(db::Rows rows,
                         db_.Query("SELECT id, agent_id, state, steps_json, created_at, "
                                   "updated_at FROM deployments WHERE state = $1",
                                   {"in_progress"}));
  for (const auto& row : rows) {
    TEMPO_ASSIGN_OR_RETURN(Deployment d, ReadDeployment(row));
    d.state = "failed";
    d.error = "interrupted by a restart of the control plane";
    d.updated_at = std::max(NowMs(), d.created_at);
    TEMPO_TRY(Save(d));
  }
  return Ok();
}

}  // namespace tempo::control
