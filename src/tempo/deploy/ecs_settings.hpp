#pragma once

// The shared AWS infrastructure the ECS deployer deploys agents into (made once, by Terraform:
// deploy/terraform). Read from the JSON `terraform output -json` prints, or set by flags, and
// validated before anything is called: one clear message names the setting that is missing or
// malformed.

#include "tempo/base/result.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::deploy {

struct EcsSettings {
  std::string region;
  std::string cluster;       ///< name or ARN of the ECS cluster
  std::string listener_arn;  ///< the load balancer's HTTPS (or HTTP) listener
  std::string vpc_id;        ///< where the agents' target groups live
  std::vector<std::string> private_subnets;
  std::vector<std::string> security_groups;  ///< of the tasks: reachable from the ALB only
  std::string execution_role_arn;            ///< pulls the image, reads the secrets
  std::string task_role_arn;                 ///< what the agent calls: Bedrock, S3
  std::string image_repository;              ///< ECR repository name ("tempo-voice-agents")
  std::string image_tag;                     ///< the release; pinned to its digest when deployed
  std::string log_group = "/ecs/tempo-agents";
  /// The public base URL of the load balancer ("https://voice.example.com"), for the agents'
  /// Twilio Voice URLs.
  std::string public_url;
};

/// One setting: its name in `terraform output -json` (and the flag `--ecs-<name with ->`).
struct EcsSettingField {
  std::string_view name;
  std::string_view description;
  bool list = false;      ///< a list of strings (subnets, security groups)
  bool optional = false;  ///< has a default
};
const std::vector<EcsSettingField>& EcsSettingFields();

/// Reads the settings from `terraform output -json` ({"name": {"value": …, "type": …}}) or a
/// plain object ({"name": …}); names not listed in EcsSettingFields() are ignored (the same
/// Terraform outputs serve other tools). Does not validate.
Result<EcsSettings> ParseEcsSettings(std::string_view json_text);

/// Sets one setting by its name (a flag's value; a list is comma-separated).
Result<void> SetEcsSetting(EcsSettings& settings, std::string_view name, std::string_view value);

/// Checks every setting: missing ones first, then each value's shape (an ARN of the right
/// service, subnet-…, sg-…, vpc-…, a region, an ECR repository name, an image tag). The
/// message names the setting and says what was expected.
Result<void> ValidateEcsSettings(const EcsSettings& settings);

}  // namespace tempo::deploy
