#pragma once

// The ECS deployer: an agent put into service on Fargate in the shared infrastructure of
// EcsSettings, the seed's workflow with each step recorded (docs/deploy-aws.md).
//
// Every step finds its resources by name (and tags) before it creates anything, so a re-run
// changes nothing and a changed agent gets a new task definition revision. When a step
// fails, what this run created is removed again and the error names the step and AWS's
// code and message. Blocking: run it on a worker thread.

#include "tempo/aws/client.hpp"
#include "tempo/deploy/deployer.hpp"
#include "tempo/deploy/ecs_plan.hpp"
#include "tempo/deploy/ecs_settings.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace tempo::deploy {

struct EcsDeployerOptions {
  EcsSettings settings;
  /// Empty: the AWS SDKs' default chain (environment, profile, ECS task role, EC2).
  std::shared_ptr<aws::CredentialProvider> credentials;
  aws::EndpointOverrides endpoints;  ///< moto, VPC endpoints
  /// In front of every agent bucket's name (S3 bucket names are global).
  std::string bucket_prefix;
  /// The last step waits this long at most for the tasks to run and pass the load
  /// balancer's health checks, asking every `wait_poll`.
  std::chrono::milliseconds wait_timeout{15 * 60 * 1000};
  std::chrono::milliseconds wait_poll{10'000};
  /// Tests: the network, and the waits (between retries and between polls).
  aws::HttpFetch fetch;
  std::function<void(std::chrono::milliseconds)> sleep;
};

/// What a deployment made: the seed Lambda's answer, plus the agent's Twilio Voice URL.
struct EcsDeployment {
  std::string agent_id;
  std::string bucket;
  std::string image;  ///< repository URI @ digest
  std::string secret_arn;
  std::string task_definition_arn;
  std::string service_arn;
  std::string voice_url;
  /// {success, agentId, s3BucketName, serviceArn, taskDefinitionArn, voiceUrl, image}
  [[nodiscard]] nlohmann::json ToJson() const;
};

class EcsDeployer final : public Deployer {
 public:
  /// Validates the settings (the error names the setting).
  static Result<std::unique_ptr<EcsDeployer>> Create(EcsDeployerOptions options);

  [[nodiscard]] std::string_view Name() const override { return "ecs"; }
  [[nodiscard]] std::vector<std::string> DeploySteps() const override;
  [[nodiscard]] std::vector<std::string> UndeploySteps() const override;
  Result<void> Deploy(const OrgId& org, const agent::AgentConfig& config,
                      const DeployProgress& progress) override;
  /// Removes the listener rule, the service (and its scaling), the target group, the task
  /// definition revisions and the secret; keeps the bucket (the calls are the customer's data).
  Result<void> Undeploy(const OrgId& org, const AgentId& agent,
                        const DeployProgress& progress) override;

  /// What the agent has on AWS, each resource looked up (read-only): bucket, secret, task
  /// definition, target group with its targets' health, service with its rollout, listener
  /// rule, scaling. Absent resources are null.
  Result<nlohmann::json> Status(const AgentId& agent);
  /// Status, for the dashboard.
  Result<nlohmann::json> Resources(const OrgId& /*org*/, const AgentId& agent) override {
    return Status(agent);
  }

  /// Undeploy; with `purge`, the bucket too, every object version in it first (the calls are
  /// gone for good).
  Result<void> UndeployAgent(const AgentId& agent, const DeployProgress& progress, bool purge);
  [[nodiscard]] std::vector<std::string> UndeploySteps(bool purge) const;

  /// Deploy, returning what was made.
  Result<EcsDeployment> DeployAgent(const agent::AgentConfig& config,
                                    const DeployProgress& progress);

  [[nodiscard]] const EcsSettings& settings() const { return options_.settings; }
  [[nodiscard]] aws::ClientStats stats() const { return client_.stats(); }

 private:
  explicit EcsDeployer(EcsDeployerOptions options);
  void Wait(std::chrono::milliseconds how_long) const;
  struct Run;

  EcsDeployerOptions options_;
  aws::Client client_;
};

}  // namespace tempo::deploy
