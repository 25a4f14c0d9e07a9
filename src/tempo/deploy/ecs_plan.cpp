#include "tempo/deploy/ecs_plan.hpp"

#include "tempo/base/digest.hpp"
#include "tempo/base/json_text.hpp"
#include "tempo/base/strings.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tempo::deploy {
namespace {

constexpr std::string_view kXmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

}  // namespace

std::string BucketVersioningXml() {
  return fmt::format(
      R"(<VersioningConfiguration xmlns="{}"><Status>Enabled</Status></VersioningConfiguration>)",
      kXmlns);
}

std::string BucketLifecycleXml() {
  return fmt::format(
      "<LifecycleConfiguration xmlns=\"{}\"><Rule><ID>tempo-call-artefacts</ID>"
      "<Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
      "<Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass></Transition>"
      "<Transition><Days>90</Days><StorageClass>GLACIER</StorageClass></Transition>"
      "<Expiration><Days>365</Days></Expiration>"
      "<NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays>"
      "<StorageClass>STANDARD_IA</StorageClass></NoncurrentVersionTransition>"
      "<NoncurrentVersionTransition><NoncurrentDays>90</NoncurrentDays>"
      "<StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition>"
      "<NoncurrentVersionExpiration><NoncurrentDays>365</NoncurrentDays>"
      "</NoncurrentVersionExpiration>"
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
      "</AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>",
      kXmlns);
}

std::string PublicAccessBlockXml() {
  return fmt::format(
      "<PublicAccessBlockConfiguration xmlns=\"{}\"><BlockPublicAcls>true</BlockPublicAcls>"
      "<IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy>"
      "<RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>",
      kXmlns);
}

std::string BucketEncryptionXml() {
  return fmt::format(
      "<ServerSideEncryptionConfiguration xmlns=\"{}\"><Rule><ApplyServerSideEncryptionByDefault>"
      "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
      "<BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>",
      kXmlns);
}

std::string BucketTaggingXml(const AgentId& agent) {
  // Agent ids are [a-z0-9-] (agent::IsValidAgentId): nothing to escape.
  return fmt::format(
      "<Tagging xmlns=\"{}\"><TagSet><Tag><Key>{}</Key><Value>{}</Value></Tag>"
      "<Tag><Key>tempo:managed-by</Key><Value>tempovoice</Value></Tag></TagSet></Tagging>",
      kXmlns, kAgentTag, agent.str());
}

std::string TwilioSecretName(const AgentId& agent) {
  return fmt::format("tempo/agents/{}/twilio", agent.str());
}

std::string TwilioSecretValue(const agent::AgentConfig& config) {
  return DumpJson({{"authToken", config.twilio_auth_token.Reveal()},
                   {"apiSecret", config.twilio_api_secret.Reveal()}});
}

std::string TaskFamily(const AgentId& agent) { return fmt::format("tempo-agent-{}", agent.str()); }

nlohmann::json TaskDefinitionInput(const TaskPlan& plan) {
  using nlohmann::json;
  const auto& config = *plan.config;
  const auto& settings = *plan.settings;
  json environment = json::array();
  for (const auto& [name, value] : agent::ToEnvironment(config)) {
    environment.push_back({{"name", name}, {"value", value}});
  }
  // Where the runtime keeps this agent's calls, and the URL Twilio signs (the load
  // balancer's, not the task's own address).
  environment.push_back({{"name", "S3_BUCKET_NAME"}, {"value", plan.bucket}});
  environment.push_back({{"name", "TEMPO_S3_REGION"}, {"value", settings.region}});
  environment.push_back({{"name", "TEMPO_LOG_FORMAT"}, {"value", "json"}});
  if (!settings.public_url.empty()) {
    environment.push_back({{"name", "TEMPO_PUBLIC_URL"}, {"value", settings.public_url}});
  }
  const json secrets = json::array(
      {{{"name", "TWILIO_AUTH_TOKEN"}, {"valueFrom", plan.secret_arn + ":authToken::"}},
       {{"name", "TWILIO_API_SECRET"}, {"valueFrom", plan.secret_arn + ":apiSecret::"}}});
  const json container = {
      {"name", kContainerName},
      {"image", plan.image},
      {"essential", true},
      {"command", {"agent"}},
      {"portMappings",
       {{{"containerPort", kContainerPort}, {"hostPort", kContainerPort}, {"protocol", "tcp"}}}},
      {"environment", environment},
      {"secrets", secrets},
      {"logConfiguration",
       {{"logDriver", "awslogs"},
        {"options",
         {{"awslogs-group", settings.log_group},
          {"awslogs-region", settings.region},
          {"awslogs-stream-prefix", "agent"}}}}},
      {"healthCheck",
       {{"command",
         {"CMD", "tempovoice", "probe",
          fmt::format("http://127.0.0.1:{}/health/live", kContainerPort)}},
        {"interval", 15},
        {"timeout", 5},
        {"retries", 3},
        {"startPeriod", 10}}},
      {"stopTimeout", kStopTimeoutSeconds},
  };
  return {
      {"family", TaskFamily(config.agent_id)},
      {"networkMode", "awsvpc"},
      {"requiresCompatibilities", {"FARGATE"}},
      {"cpu", std::to_string(config.fargate_cpu)},
      {"memory", std::to_string(config.fargate_memory)},
      {"executionRoleArn", settings.execution_role_arn},
      {"taskRoleArn", settings.task_role_arn},
      {"runtimePlatform", {{"cpuArchitecture", "X86_64"}, {"operatingSystemFamily", "LINUX"}}},
      {"containerDefinitions", {container}},
  };
}

std::string PlanDigest(const nlohmann::json& task_definition_input,
                       std::string_view secret_version) {
  // nlohmann::json keeps object keys sorted: the same plan always dumps the same text.
  return Sha256Hex(DumpJson(task_definition_input) + "\n" + std::string(secret_version));
}

std::string TargetGroupName(const AgentId& agent) {
  std::string name = "tempo-" + agent.str();
  if (name.size() <= 32) return name;
  std::string head = name.substr(0, 23);
  while (head.ends_with('-')) head.pop_back();
  return head + "-" + Sha256Hex(agent.str()).substr(0, 8);
}

std::string ServiceName(const AgentId& agent) { return TaskFamily(agent); }

std::string AgentPathPattern(const AgentId& agent) {
  return fmt::format("/agent/{}/*", agent.str());
}

int PreferredRulePriority(const AgentId& agent) {
  const std::string digest = Sha256Hex(agent.str());
  return 1000 + static_cast<int>(std::stoul(digest.substr(0, 8), nullptr, 16) % 40'000);
}

std::string ClusterName(const EcsSettings& settings) {
  const auto slash = settings.cluster.rfind("cluster/");
  return slash == std::string::npos ? settings.cluster : settings.cluster.substr(slash + 8);
}

std::string ScalingResourceId(const EcsSettings& settings, const AgentId& agent) {
  return fmt::format("service/{}/{}", ClusterName(settings), ServiceName(agent));
}

int DeregistrationDelaySeconds(const agent::AgentConfig& config) {
  return std::min(3600, config.max_session_duration + 30);
}

nlohmann::json ServiceSettings(const agent::AgentConfig& config, const EcsSettings& settings,
                               std::string_view task_definition_arn,
                               std::string_view target_group_arn) {
  using nlohmann::json;
  return {
      {"cluster", settings.cluster},
      {"taskDefinition", task_definition_arn},
      {"capacityProviderStrategy",
       {{{"capacityProvider", config.fargate_spot ? "FARGATE_SPOT" : "FARGATE"},
         {"weight", 1},
         {"base", 0}}}},
      {"platformVersion", "LATEST"},
      {"networkConfiguration",
       {{"awsvpcConfiguration",
         {{"subnets", settings.private_subnets},
          {"securityGroups", settings.security_groups},
          {"assignPublicIp", "DISABLED"}}}}},
      {"loadBalancers",
       {{{"targetGroupArn", target_group_arn},
         {"containerName", kContainerName},
         {"containerPort", kContainerPort}}}},
      // Time to start before the load balancer's health checks count.
      {"healthCheckGracePeriodSeconds", 60},
      {"deploymentConfiguration",
       {{"minimumHealthyPercent", 100},
        {"maximumPercent", 200},
        {"deploymentCircuitBreaker", {{"enable", true}, {"rollback", true}}}}},
  };
}

nlohmann::json ScalingPolicyInput(const agent::AgentConfig& config, const EcsSettings& settings) {
  using nlohmann::json;
  return {
      {"PolicyName", "tempo-active-calls-per-task"},
      {"ServiceNamespace", "ecs"},
      {"ResourceId", ScalingResourceId(settings, config.agent_id)},
      {"ScalableDimension", "ecs:service:DesiredCount"},
      {"PolicyType", "TargetTrackingScaling"},
      {"TargetTrackingScalingPolicyConfiguration",
       {{"TargetValue", config.calls_per_task},
        {"CustomizedMetricSpecification",
         {{"Namespace", "TempoVoice"},
          {"MetricName", "ActiveCalls"},
          {"Dimensions", {{{"Name", "AgentId"}, {"Value", config.agent_id.str()}}}},
          {"Statistic", "Average"}}},
        // Out quickly when calls arrive; in slowly, and task protection keeps a task with
        // calls from being stopped anyway.
        {"ScaleOutCooldown", 60},
        {"ScaleInCooldown", 300}}},
  };
}

std::string ConsoleUrl(const EcsSettings& settings, std::string_view kind, std::string_view value) {
  const std::string& r = settings.region;
  const std::string v = PercentEncode(value);
  if (kind == "bucket")
    return fmt::format("https://s3.console.aws.amazon.com/s3/buckets/{}?region={}", v, r);
  if (kind == "secret") {
    return fmt::format(
        "https://{0}.console.aws.amazon.com/secretsmanager/secret?name={1}&region={0}", r, v);
  }
  if (kind == "taskDefinition") {  // …:task-definition/{family}:{revision}
    const auto slash = value.rfind('/');
    std::string family_revision(value.substr(slash == std::string_view::npos ? 0 : slash + 1));
    std::replace(family_revision.begin(), family_revision.end(), ':', '/');
    return fmt::format("https://{0}.console.aws.amazon.com/ecs/v2/task-definitions/{1}?region={0}",
                       r, family_revision);
  }
  if (kind == "service") {
    return fmt::format(
        "https://{0}.console.aws.amazon.com/ecs/v2/clusters/{1}/services/{2}/health?region={0}", r,
        PercentEncode(ClusterName(settings)), v);
  }
  if (kind == "targetGroup") {
    return fmt::format(
        "https://{0}.console.aws.amazon.com/ec2/home?region={0}#TargetGroup:targetGroupArn={1}", r,
        value);
  }
  if (kind == "listenerRule") {
    return fmt::format(
        "https://{0}.console.aws.amazon.com/ec2/home?region={0}#ListenerRuleDetails:ruleArn={1}", r,
        value);
  }
  if (kind == "logs") {
    // The console's own escaping of a log group in its fragment: '/' is $252F.
    std::string group;
    for (const char c : value) group += c == '/' ? std::string("$252F") : std::string(1, c);
    return fmt::format(
        "https://{0}.console.aws.amazon.com/cloudwatch/home?region={0}#logsV2:log-groups/log-group/"
        "{1}",
        r, group);
  }
  return "";
}

std::string VoiceUrl(const EcsSettings& settings, const AgentId& agent) {
  if (settings.public_url.empty()) return "";
  std::string base = settings.public_url;
  while (base.ends_with('/')) base.pop_back();
  return fmt::format("{}/agent/{}/incoming-call", base, agent.str());
}

}  // namespace tempo::deploy
