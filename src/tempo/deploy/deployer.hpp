#pragma once

// Putting an agent into service: the Deployer interface the control plane drives (local in
// this process, ecs on AWS), with progress reported step by step.

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::deploy {

enum class StepState { kPending, kRunning, kDone, kFailed };
std::string_view ToString(StepState state);

/// Progress of a deployment: `step` indexes the deployer's step list.
using DeployProgress =
    std::function<void(size_t step, StepState state, const std::string& message)>;

/// Puts agents into service and takes them out: in this process (LocalDeployer) or
/// elsewhere (a container service). Calls block and run on the blocking pool; a deployer is
/// called for one agent at a time (the control plane serialises deployments per agent).
class Deployer {
 public:
  virtual ~Deployer() = default;
  /// "local", "ecs", ...
  [[nodiscard]] virtual std::string_view Name() const = 0;
  /// Step names of Deploy / Undeploy, in order (shown as pending before they run).
  [[nodiscard]] virtual std::vector<std::string> DeploySteps() const = 0;
  [[nodiscard]] virtual std::vector<std::string> UndeploySteps() const = 0;
  /// Runs every step, reporting each (kRunning, then kDone or kFailed). Returns the failure
  /// of the first failed step; later steps are not run.
  virtual Result<void> Deploy(const OrgId& org, const agent::AgentConfig& config,
                              const DeployProgress& progress) = 0;
  virtual Result<void> Undeploy(const OrgId& org, const AgentId& agent,
                                const DeployProgress& progress) = 0;
  /// What the agent has where this deployer put it ({"deployer": Name(), …}; the ecs
  /// deployer lists its AWS resources with their health and console links). Blocking.
  virtual Result<nlohmann::json> Resources(const OrgId& /*org*/, const AgentId& /*agent*/) {
    return nlohmann::json{{"deployer", std::string(Name())}};
  }
};

}  // namespace tempo::deploy
