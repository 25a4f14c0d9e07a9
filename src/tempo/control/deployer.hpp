#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/deploy/deployer.hpp"
#include "tempo/storage/object_store.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::control {

// The Deployer interface lives in deploy/ (below control/); these names keep the control
// plane's code short.
using deploy::Deployer;
using deploy::DeployProgress;
using deploy::StepState;
using deploy::ToString;

enum class Activation { kActive, kInactive };

/// Makes an agent reachable (or not) by the runtime of this process.
class AgentActivator {
 public:
  virtual ~AgentActivator() = default;
  /// Blocking (database). Errors: those of the database; kNotFound for an unknown agent.
  virtual Result<void> SetActivation(const OrgId& org, const AgentId& agent,
                                     Activation activation) = 0;
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
