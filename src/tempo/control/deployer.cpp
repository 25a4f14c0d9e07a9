#include "tempo/control/deployer.hpp"

#include "tempo/storage/call_layout.hpp"

#include <fmt/format.h>

namespace tempo::control {

LocalDeployer::LocalDeployer(storage::ObjectStore& store, AgentActivator& activator,
                             SpeechPreparer prepare)
    : store_(store), activator_(activator), prepare_(std::move(prepare)) {}

std::vector<std::string> LocalDeployer::DeploySteps() const {
  return {"validate configuration", "prepare speech engine", "create transcript storage",
          "activate in runtime"};
}

std::vector<std::string> LocalDeployer::UndeploySteps() const { return {"deactivate in runtime"}; }

Result<void> LocalDeployer::Deploy(const OrgId& org, const agent::AgentConfig& config,
                                   const DeployProgress& progress) {
  auto fail = [&](size_t step, const Error& error) -> Result<void> {
    progress(step, StepState::kFailed, error.message);
    return error;
  };
  progress(0, StepState::kRunning, "");
  if (auto errors = agent::Validate(config); !errors.empty()) {
    return fail(0, InvalidArgument(agent::Describe(errors)));
  }
  progress(0, StepState::kDone, "configuration is valid");

  progress(1, StepState::kRunning, "");
  if (prepare_) {
    if (auto ok = prepare_(config); !ok) return fail(1, ok.error());
  }
  progress(1, StepState::kDone, fmt::format("{} engine ready", config.engine));

  progress(2, StepState::kRunning, "");
  const std::string bucket = storage::AgentBucket(config.agent_id);
  if (auto ok = store_.EnsureBucket(bucket); !ok) return fail(2, ok.error());
  progress(2, StepState::kDone, fmt::format("bucket {}", bucket));

  progress(3, StepState::kRunning, "");
  if (auto ok = activator_.SetActivation(org, config.agent_id, Activation::kActive); !ok) {
    return fail(3, ok.error());
  }
  progress(3, StepState::kDone, "the agent answers calls");
  return Ok();
}

Result<void> LocalDeployer::Undeploy(const OrgId& org, const AgentId& agent,
                                     const DeployProgress& progress) {
  progress(0, StepState::kRunning, "");
  if (auto ok = activator_.SetActivation(org, agent, Activation::kInactive); !ok) {
    progress(0, StepState::kFailed, ok.error().message);
    return ok.error();
  }
  progress(0, StepState::kDone, "the agent no longer answers calls");
  return Ok();
}

}  // namespace tempo::control
