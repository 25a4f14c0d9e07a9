#pragma once

// What the ECS deployer asks AWS for, as data (sans-I/O): the agent bucket's configuration
// documents, the names of an agent's resources, and its task definition. Pure functions, so
// the plan is tested without AWS and the deployer only sends it.

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/deploy/ecs_settings.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace tempo::deploy {

inline constexpr std::string_view kContainerName = "tempo-agent";
inline constexpr int kContainerPort = 3000;
/// Fargate's longest stop timeout: calls get this long after SIGTERM (task protection keeps
/// a task with calls from being stopped at all; see docs/deploy-aws.md).
inline constexpr int kStopTimeoutSeconds = 120;
/// The tag that says which plan a task definition revision was registered from: a re-run
/// with the same plan finds it instead of registering another revision.
inline constexpr std::string_view kPlanTag = "tempo:plan";
inline constexpr std::string_view kAgentTag = "tempo:agent";

/// Bucket configuration documents (S3 REST-XML), each sent whole: sending one again changes
/// nothing.
std::string BucketVersioningXml();
/// Current and noncurrent versions: Standard-IA at 30 days, Glacier at 90, expiry at 365;
/// abandoned multipart uploads aborted after 7 days.
std::string BucketLifecycleXml();
std::string PublicAccessBlockXml();
/// SSE-S3 (AES256) by default, with an S3 bucket key.
std::string BucketEncryptionXml();
std::string BucketTaggingXml(const AgentId& agent);

/// tempo/agents/{agentId}/twilio: a JSON secret {"authToken", "apiSecret"}.
std::string TwilioSecretName(const AgentId& agent);
/// {"authToken", "apiSecret"} of the agent, as stored in the secret.
std::string TwilioSecretValue(const agent::AgentConfig& config);
/// tempo-agent-{agentId}
std::string TaskFamily(const AgentId& agent);

struct TaskPlan {
  const agent::AgentConfig* config = nullptr;
  const EcsSettings* settings = nullptr;
  std::string image;       ///< repository URI @ digest
  std::string bucket;      ///< the agent's artefact bucket (S3_BUCKET_NAME)
  std::string secret_arn;  ///< the Twilio secret
};

/// RegisterTaskDefinition's input (without tags): Fargate at the agent's size, awsvpc, the
/// seed's environment, the Twilio secrets as `secrets`/`valueFrom`, awslogs, a health check
/// on /health/live and the longest stop timeout.
nlohmann::json TaskDefinitionInput(const TaskPlan& plan);

/// A digest of everything a revision is registered from, including the secret's version
/// (a new token must roll the tasks): the value of kPlanTag.
std::string PlanDigest(const nlohmann::json& task_definition_input,
                       std::string_view secret_version);

/// The agent's target group: "tempo-{agentId}", or for a long id its first letters and a
/// digest of the whole (target group names have at most 32 characters).
std::string TargetGroupName(const AgentId& agent);
/// tempo-agent-{agentId}
std::string ServiceName(const AgentId& agent);
/// /agent/{agentId}/* : every path of the agent (webhooks, media stream, status callbacks).
std::string AgentPathPattern(const AgentId& agent);
/// Where the agent's listener rule would like to sit (1000..40999, from a digest of its id),
/// so that agents deployed at the same time rarely ask for the same priority.
int PreferredRulePriority(const AgentId& agent);
/// An ALB listener holds at most 100 rules besides its default one.
inline constexpr size_t kListenerRuleQuota = 100;
/// The cluster's name (settings may name it by ARN).
std::string ClusterName(const EcsSettings& settings);
/// service/{cluster}/{service}: the service as Application Auto Scaling names it.
std::string ScalingResourceId(const EcsSettings& settings, const AgentId& agent);

/// How long the load balancer keeps a draining task's connections: a call in progress
/// (a media stream is one long request) runs to the agent's longest session, up to ALB's
/// limit of an hour.
int DeregistrationDelaySeconds(const agent::AgentConfig& config);

/// The service's settings that CreateService and UpdateService share: Fargate or Fargate
/// Spot by the agent's choice, private subnets without public IPs, the deployment circuit
/// breaker with rollback, minimum healthy 100 % (a redeploy starts new tasks before it stops
/// old ones), the load balancer's target group.
nlohmann::json ServiceSettings(const agent::AgentConfig& config, const EcsSettings& settings,
                               std::string_view task_definition_arn,
                               std::string_view target_group_arn);

/// The target tracking policy: the runtime's active calls per task (CloudWatch metric
/// TempoVoice/ActiveCalls, dimension AgentId, averaged over the tasks) held at the agent's
/// callsPerTask. Request count would be the wrong signal: a call's media stream is one
/// request that lasts minutes.
nlohmann::json ScalingPolicyInput(const agent::AgentConfig& config, const EcsSettings& settings);

/// The AWS console page of one of an agent's resources, by kind: "bucket" (a name),
/// "secret" (a name), "taskDefinition", "targetGroup", "listenerRule" (ARNs), "service"
/// (its name), "logs" (the log group).
std::string ConsoleUrl(const EcsSettings& settings, std::string_view kind, std::string_view value);

/// The agent's Twilio Voice URL on the load balancer (empty without a public URL).
std::string VoiceUrl(const EcsSettings& settings, const AgentId& agent);

}  // namespace tempo::deploy
