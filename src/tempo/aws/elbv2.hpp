#pragma once

// Elastic Load Balancing v2 (the Query protocol) on top of Client: the target groups, listener
// rules and target health the ECS deployer needs. Blocking, like Client.

#include "tempo/aws/client.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::aws {

struct TargetGroup {
  std::string arn;
  std::string name;
  std::string vpc_id;
  std::string health_check_path;
};

/// What a target group is made with (HTTP, ip targets) and converged to.
struct TargetGroupSpec {
  std::string name;  ///< at most 32 characters: letters, digits, hyphens
  std::string vpc_id;
  int port = 3000;
  std::string health_check_path = "/health";
  int health_check_interval_seconds = 15;
  int healthy_threshold = 2;
  int unhealthy_threshold = 3;
  int deregistration_delay_seconds = 300;
  std::vector<std::pair<std::string, std::string>> tags;
};

struct ListenerRule {
  std::string arn;
  std::string priority;  ///< "default" for the listener's default rule
  std::vector<std::string> path_patterns;
  std::vector<std::string> target_group_arns;  ///< of its forward action
  [[nodiscard]] bool IsDefault() const { return priority == "default"; }
};

struct TargetHealth {
  std::string id;
  std::string state;  ///< initial, healthy, unhealthy, unused, draining, unavailable
  std::string reason;
};

class Elbv2 {
 public:
  explicit Elbv2(Client& client) : client_(client) {}

  /// The target group named `name`; nullopt when there is none.
  AwsResult<std::optional<TargetGroup>> FindTargetGroup(std::string_view name);
  AwsResult<TargetGroup> CreateTargetGroup(const TargetGroupSpec& spec);
  /// Sets the health check and the deregistration delay of an existing group to `spec`'s.
  AwsResult<void> ConvergeTargetGroup(std::string_view arn, const TargetGroupSpec& spec);
  AwsResult<void> DeleteTargetGroup(std::string_view arn);
  AwsResult<std::vector<TargetHealth>> DescribeTargetHealth(std::string_view target_group_arn);

  /// Every rule of the listener, following pages.
  AwsResult<std::vector<ListenerRule>> DescribeRules(std::string_view listener_arn);
  /// A rule forwarding requests whose path matches `path_pattern` to `target_group_arn`.
  /// Errors: PriorityInUse when another rule has the priority; TooManyRules at the quota.
  AwsResult<ListenerRule> CreateRule(std::string_view listener_arn, int priority,
                                     std::string_view path_pattern,
                                     std::string_view target_group_arn,
                                     const std::vector<std::pair<std::string, std::string>>& tags);
  /// Points an existing rule at `path_pattern` → `target_group_arn`.
  AwsResult<void> ModifyRule(std::string_view rule_arn, std::string_view path_pattern,
                             std::string_view target_group_arn);
  AwsResult<void> DeleteRule(std::string_view rule_arn);

 private:
  Client& client_;
};

}  // namespace tempo::aws
