#pragma once

// Internal to the control module: deployments of agents, a small state machine over the
// `deployments` table. A deployment is created in_progress (at most one per agent at a time),
// runs its deployer's steps on the blocking pool, saving each step's progress, and ends
// succeeded or failed; one left in_progress by a stopped process is failed at the next start.

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/control/deployer.hpp"
#include "tempo/db/database.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::control {

enum class DeployAction { kDeploy, kUndeploy };

struct Deployment {
  std::string id;
  std::string agent_id;
  std::string action;  // deploy | undeploy
  std::string state;   // in_progress | succeeded | failed
  std::string error;
  int64_t agent_version = 0;
  std::vector<std::string> step_names;
  std::vector<StepState> step_states;
  std::vector<std::string> step_messages;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

/// The API form of a deployment (with its progress in percent).
nlohmann::json DeploymentJson(const Deployment& d);

/// Thread-safe as far as the database and the deployer are; Start() returns at once.
class DeploymentService {
 public:
  using RunBlocking = std::function<void(std::function<void()>)>;

  /// `run_blocking` runs the steps of started deployments; it must outlive the service.
  DeploymentService(db::Database& db, const Clock& clock, const RunBlocking& run_blocking,
                    std::unique_ptr<Deployer> deployer);

  /// Replaces the deployer (before serving).
  void SetDeployer(std::unique_ptr<Deployer> deployer) { deployer_ = std::move(deployer); }
  [[nodiscard]] Deployer& Backend() { return *deployer_; }

  /// Records a new in_progress deployment of `config` (at `agent_version`) and runs it on the
  /// blocking pool. nullopt (nothing started) while another deployment of the agent is in
  /// progress. Errors: database.
  Result<std::optional<Deployment>> Start(const OrgId& org, const agent::AgentConfig& config,
                                          int64_t agent_version, DeployAction action);
  /// The latest deployment of an agent of `org`, if any.
  Result<std::optional<Deployment>> Latest(const OrgId& org, std::string_view agent_id);
  /// Start-up: deployments a stopped process left in_progress are failed, so that the agent
  /// can be deployed again.
  Result<void> FailInterrupted();

 private:
  void Run(Deployment d, const OrgId& org, const agent::AgentConfig& config);
  Result<void> Save(const Deployment& d);
  [[nodiscard]] int64_t NowMs() const;

  db::Database& db_;
  const Clock& clock_;
  const RunBlocking& run_blocking_;
  std::unique_ptr<Deployer> deployer_;
};

}  // namespace tempo::control
