#pragma once

#include "tempo/base/result.hpp"
#include "tempo/cli/settings.hpp"

#include <memory>

namespace CLI {
class App;
}

namespace tempo::deploy {
class EcsDeployer;
}

namespace tempo::cli {

/// The ecs deployer the settings describe: the infrastructure from --ecs-settings and the
/// --ecs-* flags (which win), validated (the error names the setting), AWS credentials from
/// the SDKs' default chain, --aws-endpoint for every service when set.
Result<std::unique_ptr<deploy::EcsDeployer>> MakeEcsDeployer(const ServeSettings& settings);

/// Adds `tempovoice deploy | undeploy | status AGENT`: drive the ecs deployer from the command
/// line for an agent file (or an agent id in the agents folder).
void AddDeployCommands(CLI::App& app);

}  // namespace tempo::cli
