#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/storage/object_store.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::control {

enum class StepState { kPending, kRunning, kDone, kFailed };
std::string_view ToString(StepState state);

/// Progress of a deployment: `step` indexes the deployer's step list.
using DeployProgress =
    std::function<void(size_t step, StepState state, const std::string& message)>;

enum class Activation { kActive, kInactive };

/// Makes an agent reachable (or not) by the runtime of this process.
class AgentActivator {
 public:
  virtual ~AgentActivator() = default;
  /// Blocking (database). Errors: those of the database; kNotFound for an unknown agent.
  virtual Result<void> SetActivation(const OrgId& org, const AgentId& agent,
                                     Activation activation) = 0;
};

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
};

/// Builds what the agent's speech engine needs before it takes calls (the local engine's
/// language model). Errors fail the deployment with their message. Blocking; thread-safe.
using SpeechPreparer = std::function<Result<void>(const agent::AgentConfig&)>;

/// Serves the agent from this process: validates its config, prepares its speech engine (if a
/// preparer is given), creates its artefact bucket (storage::AgentBucket) and
/// activates it in the runtime's directory. Milliseconds for a normal agent. Thread-safe.
class LocalDeployer final : public Deployer {
 public:
  LocalDeployer(storage::ObjectStore& store, AgentActivator& activator,
                SpeechPreparer prepare = {});
  [[nodiscard]] std::string_view Name() const override { return "local"; }
  [[nodiscard]] std::vector<std::string> DeploySteps() const override;
  [[nodiscard]] std::vector<std::string> UndeploySteps() const override;
  Result<void> Deploy(const OrgId& org, const agent::AgentConfig& config,
                      const DeployProgress& progress) override;
  Result<void> Undeploy(const OrgId& org, const AgentId& agent,
                        const DeployProgress& progress) override;

 private:
  storage::ObjectStore& store_;
  AgentActivator& activator_;
  SpeechPreparer prepare_;
};

}  // namespace tempo::control
