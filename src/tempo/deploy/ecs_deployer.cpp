#include "tempo/deploy/ecs_deployer.hpp"

#include "tempo/aws/elbv2.hpp"
#include "tempo/aws/s3.hpp"
#include "tempo/base/digest.hpp"
#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"
#include "tempo/storage/call_layout.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <cstdlib>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <utility>

namespace tempo::deploy {
namespace {

using nlohmann::json;
namespace services = aws::services;

enum Step : size_t {
  kBucket,
  kImage,
  kSecrets,
  kTaskDefinition,
  kTargetGroup,
  kService,
  kListenerRule,
  kWait
};
const std::vector<std::string> kDeploySteps = {"bucket",          "image",        "secrets",
                                               "task definition", "target group", "service",
                                               "listener rule",   "healthy"};
enum UndoStep : size_t {
  kRuleGone,
  kServiceGone,
  kTargetGroupGone,
  kTaskDefinitions,
  kSecret,
  kBucketGone  // --purge only
};
const std::vector<std::string> kUndeploySteps = {"listener rule",    "service", "target group",
                                                 "task definitions", "secret",  "bucket"};

// A random UUID (v4): the ClientRequestToken that makes a Secrets Manager write safe to send
// again (the same token twice is one write).
std::string NewClientToken() {
  std::random_device device;
  std::array<uint32_t, 4> words{};
  for (auto& w : words) w = device();
  words[1] = (words[1] & 0xffff0fffU) | 0x00004000U;  // version 4
  words[2] = (words[2] & 0x3fffffffU) | 0x80000000U;  // variant 10
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:04x}{:08x}", words[0], words[1] >> 16,
                     words[1] & 0xffffU, words[2] >> 16, words[2] & 0xffffU, words[3]);
}

std::string StringOf(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool HasTag(const json& tags, std::string_view key, std::string_view value) {
  if (!tags.is_array()) return false;
  for (const auto& tag : tags) {
    if (StringOf(tag, "key") == key && StringOf(tag, "value") == value) return true;
  }
  return false;
}

// DescribeSecret of a secret deleted with a recovery window: its name is still taken.
bool IsScheduledForDeletion(const json& described) {
  const auto it = described.find("DeletedDate");
  return it != described.end() && !it->is_null();
}

// The outcome of a call whose answer is not needed: Ok, or AWS's error named as `what`.
template <class T>
Result<void> Checked(const aws::AwsResult<T>& answer, std::string_view what) {
  if (!answer) return answer.error().ToError(what);
  return Ok();
}

// The agent's ACTIVE service (a deleted one lingers as INACTIVE), or nullopt.
aws::AwsResult<std::optional<json>> ActiveService(aws::Client& client, const EcsSettings& settings,
                                                  const AgentId& agent, bool with_tags = false) {
  json input = {{"cluster", settings.cluster}, {"services", {ServiceName(agent)}}};
  if (with_tags) input["include"] = {"TAGS"};
  auto described = client.CallJson(services::kEcs, "DescribeServices", input);
  if (!described) return described.error();
  for (const auto& service : described->value("services", json::array())) {
    if (StringOf(service, "status") == "ACTIVE") return std::optional<json>(service);
  }
  return std::optional<json>();
}

// The state of a service's primary deployment.
struct Rollout {
  std::string state = "?";  ///< IN_PROGRESS, COMPLETED, FAILED
  std::string reason;
  int running = 0;
  int desired = 0;
};

Rollout RolloutOf(const json& service) {
  Rollout r;
  r.running = service.value("runningCount", 0);
  r.desired = service.value("desiredCount", 0);
  for (const auto& d : service.value("deployments", json::array())) {
    if (StringOf(d, "status") != "PRIMARY") continue;
    r.state = StringOf(d, "rolloutState");
    r.reason = StringOf(d, "rolloutStateReason");
    r.running = d.value("runningCount", r.running);
  }
  return r;
}

// The agent's scalable target, or nullopt.
aws::AwsResult<std::optional<json>> ScalableTarget(aws::Client& client, const EcsSettings& settings,
                                                   const AgentId& agent) {
  auto found = client.CallJson(
      services::kAutoScaling, "DescribeScalableTargets",
      {{"ServiceNamespace", "ecs"}, {"ResourceIds", {ScalingResourceId(settings, agent)}}});
  if (!found) return found.error();
  const json targets = found->value("ScalableTargets", json::array());
  if (targets.empty()) return std::optional<json>();
  return std::optional<json>(targets[0]);
}

// The listener's rule for `pattern` (not the default rule), or null.
const aws::ListenerRule* RuleFor(const std::vector<aws::ListenerRule>& rules,
                                 std::string_view pattern) {
  for (const auto& rule : rules) {
    if (!rule.IsDefault() && std::find(rule.path_patterns.begin(), rule.path_patterns.end(),
                                       pattern) != rule.path_patterns.end()) {
      return &rule;
    }
  }
  return nullptr;
}

}  // namespace

json EcsDeployment::ToJson() const {
  return {{"success", true},
          {"agentId", agent_id},
          {"s3BucketName", bucket},
          {"serviceArn", service_arn},
          {"taskDefinitionArn", task_definition_arn},
          {"voiceUrl", voice_url},
          {"image", image}};
}

// One deployment: the steps, the progress they report and what to undo when one fails.
struct EcsDeployer::Run {
  const std::vector<std::string>& steps;  // their names, for the messages
  const DeployProgress& progress;
  std::vector<std::pair<std::string, std::function<Result<void>()>>> undo;

  // Runs step `index`: `body` returns the line shown when it is done.
  template <class Body>
  Result<void> Step(size_t index, Body&& body) {
    if (progress) progress(index, StepState::kRunning, "");
    Result<std::string> done = body();
    if (!done) {
      Error error = done.error();
      error.message = fmt::format("step '{}' failed: {}", steps[index], error.message);
      const std::string undone = RollBack();
      if (!undone.empty()) error.message += "; " + undone;
      if (progress) progress(index, StepState::kFailed, error.message);
      return error;
    }
    if (progress) progress(index, StepState::kDone, *done);
    return Ok();
  }

  // Removes what this run created, newest first; says what it did.
  std::string RollBack() {
    if (undo.empty()) return "";
    std::vector<std::string> done;
    for (size_t i = undo.size(); i-- > 0;) {  // newest first
      const auto& [what, action] = undo[i];
      if (auto undone = action(); undone) {
        done.push_back(what);
      } else {
        done.push_back(fmt::format("could not undo ({}): {}", what, undone.error().message));
      }
    }
    undo.clear();
    return "rolled back: " + fmt::format("{}", fmt::join(done, ", "));
  }
};

void EcsDeployer::Wait(std::chrono::milliseconds how_long) const {
  if (options_.sleep) {
    options_.sleep(how_long);
  } else {
    std::this_thread::sleep_for(how_long);
  }
}

EcsDeployer::EcsDeployer(EcsDeployerOptions options)
    : options_(std::move(options)), client_([&] {
        aws::ClientOptions o;
        o.region = options_.settings.region;
        o.credentials = options_.credentials;
        o.endpoints = options_.endpoints;
        if (options_.fetch) o.fetch = options_.fetch;
        if (options_.sleep) o.sleep = options_.sleep;
        return o;
      }()) {}

Result<std::unique_ptr<EcsDeployer>> EcsDeployer::Create(EcsDeployerOptions options) {
  TEMPO_TRY(ValidateEcsSettings(options.settings));
  if (!options.credentials) {
    options.credentials = aws::MakeDefaultCredentialChain({});
  }
  return std::unique_ptr<EcsDeployer>(new EcsDeployer(std::move(options)));
}

std::vector<std::string> EcsDeployer::DeploySteps() const { return kDeploySteps; }
std::vector<std::string> EcsDeployer::UndeploySteps() const { return UndeploySteps(false); }

std::vector<std::string> EcsDeployer::UndeploySteps(bool purge) const {
  return {kUndeploySteps.begin(), kUndeploySteps.end() - (purge ? 0 : 1)};
}

Result<void> EcsDeployer::Deploy(const OrgId& /*org*/, const agent::AgentConfig& config,
                                 const DeployProgress& progress) {
  TEMPO_TRY(DeployAgent(config, progress));
  return Ok();
}

Result<EcsDeployment> EcsDeployer::DeployAgent(const agent::AgentConfig& config,
                                               const DeployProgress& progress) {
  const auto& settings = options_.settings;
  const AgentId& agent = config.agent_id;
  Run run{kDeploySteps, progress, {}};
  EcsDeployment out;
  out.agent_id = agent.str();
  out.bucket = options_.bucket_prefix + storage::AgentBucket(agent);
  out.voice_url = VoiceUrl(settings, agent);
  aws::S3 s3(client_);

  TEMPO_TRY(run.Step(kBucket, [&]() -> Result<std::string> {
    bool created = false;
    if (auto head = s3.HeadBucket(out.bucket); !head) {
      if (head.error().status == 403) {
        return Error(
            ErrorCode::kAlreadyExists,
            fmt::format(
                "the bucket name {} is taken by another AWS account (S3 bucket names are global): "
                "set a bucket prefix",
                out.bucket));
      }
      if (head.error().status != 404) return head.error().ToError("s3 HeadBucket");
      if (auto made = s3.CreateBucket(out.bucket); !made) {
        return made.error().ToError("s3 CreateBucket");
      }
      created = true;
      run.undo.emplace_back("deleted bucket " + out.bucket, [this, bucket = out.bucket] {
        return Checked(aws::S3(client_).DeleteBucket(bucket), "s3 DeleteBucket");
      });
    }
    const std::array<std::pair<std::string_view, std::string>, 5> documents = {{
        {"versioning", BucketVersioningXml()},
        {"lifecycle", BucketLifecycleXml()},
        {"publicAccessBlock", PublicAccessBlockXml()},
        {"encryption", BucketEncryptionXml()},
        {"tagging", BucketTaggingXml(agent)},
    }};
    for (const auto& [subresource, xml] : documents) {
      if (auto put = s3.PutBucketConfig(out.bucket, subresource, xml); !put) {
        return put.error().ToError(fmt::format("s3 PutBucket {}", subresource));
      }
    }
    return fmt::format(
        "{}{}: versioned, IA at 30 days, Glacier at 90, expiry at 365, public "
        "access blocked, encrypted",
        out.bucket, created ? " created" : "");
  }));

  TEMPO_TRY(run.Step(kImage, [&]() -> Result<std::string> {
    auto described =
        client_.CallJson(services::kEcr, "DescribeImages",
                         {{"repositoryName", settings.image_repository},
                          {"imageIds", json::array({{{"imageTag", settings.image_tag}}})}});
    if (!described) {
      const auto& e = described.error();
      if (e.code == "ImageNotFoundException" || e.code == "RepositoryNotFoundException") {
        return NotFound(fmt::format(
            "image tag {} is not in the ECR repository {}: push the release image first ({}: {})",
            settings.image_tag, settings.image_repository, e.code, e.message));
      }
      return e.ToError("ecr DescribeImages");
    }
    const json details = described->value("imageDetails", json::array());
    if (!details.is_array() || details.empty()) {
      return NotFound(fmt::format("image tag {} is not in the ECR repository {}",
                                  settings.image_tag, settings.image_repository));
    }
    const std::string digest = StringOf(details[0], "imageDigest");
    const std::string registry = StringOf(details[0], "registryId");
    if (!digest.starts_with("sha256:") || registry.empty()) {
      return Internal("ecr DescribeImages: an answer without the image's digest or registry");
    }
    out.image = fmt::format("{}.dkr.ecr.{}.amazonaws.com/{}@{}", registry, settings.region,
                            settings.image_repository, digest);
    return fmt::format("{}:{} is {}", settings.image_repository, settings.image_tag, digest);
  }));

  std::string secret_version;
  TEMPO_TRY(run.Step(kSecrets, [&]() -> Result<std::string> {
    const std::string name = TwilioSecretName(agent);
    const std::string value = TwilioSecretValue(config);
    auto described =
        client_.CallJson(services::kSecretsManager, "DescribeSecret", {{"SecretId", name}});
    if (!described) {
      if (described.error().code != "ResourceNotFoundException") {
        return described.error().ToError("secretsmanager DescribeSecret");
      }
      auto created = client_.CallJson(
          services::kSecretsManager, "CreateSecret",
          {{"Name", name},
           {"Description", fmt::format("Twilio credentials of the TempoVoice agent {}", agent)},
           {"SecretString", value},
           {"ClientRequestToken", NewClientToken()},
           {"Tags", json::array({{{"Key", kAgentTag}, {"Value", agent.str()}}})}});
      if (!created) return created.error().ToError("secretsmanager CreateSecret");
      out.secret_arn = StringOf(*created, "ARN");
      secret_version = StringOf(*created, "VersionId");
      run.undo.emplace_back("deleted secret " + name, [this, arn = out.secret_arn] {
        return Checked(client_.CallJson(services::kSecretsManager, "DeleteSecret",
                                        {{"SecretId", arn}, {"ForceDeleteWithoutRecovery", true}}),
                       "secretsmanager DeleteSecret");
      });
      return fmt::format("{} created", name);
    }
    out.secret_arn = StringOf(*described, "ARN");
    if (IsScheduledForDeletion(*described)) {
      // Undeployed within the recovery window: the name is still taken until restored.
      auto restored = client_.CallJson(services::kSecretsManager, "RestoreSecret",
                                       {{"SecretId", out.secret_arn}});
      if (!restored) return restored.error().ToError("secretsmanager RestoreSecret");
    }
    auto current = client_.CallJson(services::kSecretsManager, "GetSecretValue",
                                    {{"SecretId", out.secret_arn}});
    if (!current) return current.error().ToError("secretsmanager GetSecretValue");
    if (StringOf(*current, "SecretString") == value) {
      secret_version = StringOf(*current, "VersionId");
      return fmt::format("{} unchanged", name);
    }
    auto put = client_.CallJson(services::kSecretsManager, "PutSecretValue",
                                {{"SecretId", out.secret_arn},
                                 {"SecretString", value},
                                 {"ClientRequestToken", NewClientToken()}});
    if (!put) return put.error().ToError("secretsmanager PutSecretValue");
    secret_version = StringOf(*put, "VersionId");
    return fmt::format("{} updated", name);
  }));

  TEMPO_TRY(run.Step(kTaskDefinition, [&]() -> Result<std::string> {
    TaskPlan plan;
    plan.config = &config;
    plan.settings = &settings;
    plan.image = out.image;
    plan.bucket = out.bucket;
    plan.secret_arn = out.secret_arn;
    json input = TaskDefinitionInput(plan);
    const std::string digest = PlanDigest(input, secret_version);
    const std::string family = TaskFamily(agent);
    auto latest = client_.CallJson(services::kEcs, "DescribeTaskDefinition",
                                   {{"taskDefinition", family}, {"include", {"TAGS"}}});
    if (latest) {
      const json& td = (*latest)["taskDefinition"];
      if (StringOf(td, "status") == "ACTIVE" &&
          HasTag(latest->value("tags", json::array()), kPlanTag, digest)) {
        out.task_definition_arn = StringOf(td, "taskDefinitionArn");
        return fmt::format("{}:{} unchanged", family, td.value("revision", 0));
      }
    } else if (latest.error().code != "ClientException") {  // ClientException: no such family
      return latest.error().ToError("ecs DescribeTaskDefinition");
    }
    input["tags"] = json::array(
        {{{"key", kAgentTag}, {"value", agent.str()}}, {{"key", kPlanTag}, {"value", digest}}});
    auto registered = client_.CallJson(services::kEcs, "RegisterTaskDefinition", input);
    if (!registered) return registered.error().ToError("ecs RegisterTaskDefinition");
    const json& td = (*registered)["taskDefinition"];
    out.task_definition_arn = StringOf(td, "taskDefinitionArn");
    run.undo.emplace_back(
        "deregistered " + out.task_definition_arn, [this, arn = out.task_definition_arn] {
          return Checked(client_.CallJson(services::kEcs, "DeregisterTaskDefinition",
                                          {{"taskDefinition", arn}}),
                         "ecs DeregisterTaskDefinition");
        });
    return fmt::format("{}:{} registered", family, td.value("revision", 0));
  }));

  aws::Elbv2 elb(client_);
  std::string target_group_arn;
  TEMPO_TRY(run.Step(kTargetGroup, [&]() -> Result<std::string> {
    aws::TargetGroupSpec spec;
    spec.name = TargetGroupName(agent);
    spec.vpc_id = settings.vpc_id;
    spec.port = kContainerPort;
    spec.deregistration_delay_seconds = DeregistrationDelaySeconds(config);
    spec.tags = {{std::string(kAgentTag), agent.str()}};
    auto found = elb.FindTargetGroup(spec.name);
    if (!found) return found.error().ToError("elbv2 DescribeTargetGroups");
    bool created = false;
    if (found->has_value()) {
      if ((*found)->vpc_id != settings.vpc_id) {
        return Error(ErrorCode::kAlreadyExists,
                     fmt::format("a target group named {} exists in another VPC ({})", spec.name,
                                 (*found)->vpc_id));
      }
      target_group_arn = (*found)->arn;
    } else {
      auto made = elb.CreateTargetGroup(spec);
      if (!made) return made.error().ToError("elbv2 CreateTargetGroup");
      target_group_arn = made->arn;
      created = true;
      run.undo.emplace_back("deleted target group " + spec.name, [this, arn = target_group_arn] {
        return Checked(aws::Elbv2(client_).DeleteTargetGroup(arn), "elbv2 DeleteTargetGroup");
      });
    }
    if (auto converged = elb.ConvergeTargetGroup(target_group_arn, spec); !converged) {
      return converged.error().ToError("elbv2 ModifyTargetGroup");
    }
    return fmt::format("{}{}: ip targets on port {}, health check {}, {} s to drain", spec.name,
                       created ? " created" : "", kContainerPort, spec.health_check_path,
                       spec.deregistration_delay_seconds);
  }));

  TEMPO_TRY(run.Step(kService, [&]() -> Result<std::string> {
    const std::string name = ServiceName(agent);
    json wanted = ServiceSettings(config, settings, out.task_definition_arn, target_group_arn);
    const std::string plan = Sha256Hex(DumpJson(wanted));
    auto found = ActiveService(client_, settings, agent, /*with_tags=*/true);
    if (!found) return found.error().ToError("ecs DescribeServices");
    const std::optional<json>& current = *found;
    std::string verb = "unchanged";
    if (!current) {
      json input = wanted;
      input["serviceName"] = name;
      input["desiredCount"] = config.min_tasks;
      input["propagateTags"] = "SERVICE";
      input["enableECSManagedTags"] = true;
      input["tags"] = json::array(
          {{{"key", kAgentTag}, {"value", agent.str()}}, {{"key", kPlanTag}, {"value", plan}}});
      input["clientToken"] = NewClientToken();  // CreateService sent twice makes one service
      auto created = client_.CallJson(services::kEcs, "CreateService", input);
      if (!created) return created.error().ToError("ecs CreateService");
      out.service_arn = StringOf((*created)["service"], "serviceArn");
      verb = "created";
      run.undo.emplace_back("deleted service " + name, [this, name] {
        return Checked(
            client_.CallJson(
                services::kEcs, "DeleteService",
                {{"cluster", options_.settings.cluster}, {"service", name}, {"force", true}}),
            "ecs DeleteService");
      });
    } else {
      out.service_arn = StringOf(*current, "serviceArn");
      if (!HasTag(current->value("tags", json::array()), kPlanTag, plan)) {
        json input = wanted;
        input["service"] = name;
        // The desired count is the scaler's from here on; a deploy does not reset it.
        auto updated = client_.CallJson(services::kEcs, "UpdateService", input);
        if (!updated) return updated.error().ToError("ecs UpdateService");
        auto tagged =
            client_.CallJson(services::kEcs, "TagResource",
                             {{"resourceArn", out.service_arn},
                              {"tags", json::array({{{"key", kPlanTag}, {"value", plan}}})}});
        if (!tagged) return tagged.error().ToError("ecs TagResource");
        verb = "updated";
        run.undo.emplace_back("service " + name + " back to its previous task definition",
                              [this, name, previous = StringOf(*current, "taskDefinition")] {
                                return Checked(
                                    client_.CallJson(services::kEcs, "UpdateService",
                                                     {{"cluster", options_.settings.cluster},
                                                      {"service", name},
                                                      {"taskDefinition", previous}}),
                                    "ecs UpdateService");
                              });
      }
    }
    // Scaling on the calls the runtime reports: both calls set the whole state (idempotent).
    auto target = client_.CallJson(services::kAutoScaling, "RegisterScalableTarget",
                                   {{"ServiceNamespace", "ecs"},
                                    {"ResourceId", ScalingResourceId(settings, agent)},
                                    {"ScalableDimension", "ecs:service:DesiredCount"},
                                    {"MinCapacity", config.min_tasks},
                                    {"MaxCapacity", config.max_tasks}});
    if (!target) return target.error().ToError("application-autoscaling RegisterScalableTarget");
    auto policy = client_.CallJson(services::kAutoScaling, "PutScalingPolicy",
                                   ScalingPolicyInput(config, settings));
    if (!policy) return policy.error().ToError("application-autoscaling PutScalingPolicy");
    return fmt::format("{} {} on {}, {} to {} tasks at {} calls each", name, verb,
                       config.fargate_spot ? "Fargate Spot" : "Fargate", config.min_tasks,
                       config.max_tasks, config.calls_per_task);
  }));

  TEMPO_TRY(run.Step(kListenerRule, [&]() -> Result<std::string> {
    const std::string pattern = AgentPathPattern(agent);
    auto rules = elb.DescribeRules(settings.listener_arn);
    if (!rules) return rules.error().ToError("elbv2 DescribeRules");
    if (const aws::ListenerRule* rule = RuleFor(*rules, pattern)) {
      if (rule->target_group_arns == std::vector<std::string>{target_group_arn}) {
        return fmt::format("{} → {} (priority {}) unchanged", pattern, TargetGroupName(agent),
                           rule->priority);
      }
      if (auto modified = elb.ModifyRule(rule->arn, pattern, target_group_arn); !modified) {
        return modified.error().ToError("elbv2 ModifyRule");
      }
      return fmt::format("{} → {} (priority {}) updated", pattern, TargetGroupName(agent),
                         rule->priority);
    }
    // A free priority: the agent's preferred one, or the next free after it. Two deploys at
    // once may pick the same; the second gets PriorityInUse and takes the next.
    std::set<long> used;  // the priorities of the rules besides the default one
    auto note_used = [&](const std::vector<aws::ListenerRule>& seen) {
      used.clear();
      for (const auto& rule : seen) {
        if (!rule.IsDefault()) used.insert(std::strtol(rule.priority.c_str(), nullptr, 10));
      }
    };
    note_used(*rules);
    int priority = PreferredRulePriority(agent);
    for (int attempt = 0; attempt < 20; ++attempt) {
      if (used.size() >= kListenerRuleQuota) {
        return ResourceExhausted(fmt::format(
            "the listener already has {} rules, the quota of an Application Load Balancer "
            "listener: raise 'Rules per Application Load Balancer' in Service Quotas, or deploy "
            "to another listener",
            used.size()));
      }
      while (used.contains(priority)) priority = priority >= 50'000 ? 1 : priority + 1;
      auto made = elb.CreateRule(settings.listener_arn, priority, pattern, target_group_arn,
                                 {{std::string(kAgentTag), agent.str()}});
      if (made) {
        run.undo.emplace_back(
            fmt::format("deleted listener rule {}", pattern), [this, arn = made->arn] {
              return Checked(aws::Elbv2(client_).DeleteRule(arn), "elbv2 DeleteRule");
            });
        return fmt::format("{} → {} (priority {}) created", pattern, TargetGroupName(agent),
                           priority);
      }
      if (made.error().code == "TooManyRules") {
        return ResourceExhausted(
            fmt::format("the listener is at its rule quota ({}): raise 'Rules per Application Load "
                        "Balancer' in Service Quotas, or deploy to another listener",
                        made.error().message));
      }
      if (made.error().code != "PriorityInUse") {
        return made.error().ToError("elbv2 CreateRule");
      }
      auto again = elb.DescribeRules(settings.listener_arn);
      if (!again) return again.error().ToError("elbv2 DescribeRules");
      note_used(*again);
      used.insert(priority);  // taken, even if the rule that took it is not listed yet
    }
    return Unavailable("no free listener rule priority after 20 tries (many deploys at once?)");
  }));

  TEMPO_TRY(run.Step(kWait, [&]() -> Result<std::string> {
    // Steady: the primary deployment COMPLETED with its tasks running, and the load balancer
    // sees a healthy target. The circuit breaker's FAILED ends the wait at once.
    std::chrono::milliseconds waited{0};
    for (;;) {
      auto found = ActiveService(client_, settings, agent);
      if (!found) return found.error().ToError("ecs DescribeServices");
      if (!*found) return NotFound("the service is gone");
      const auto [rollout, reason, running, desired] = RolloutOf(**found);
      if (rollout == "FAILED") {
        return Error(ErrorCode::kFailedPrecondition,
                     fmt::format("the rollout failed: {} (the deployment circuit breaker rolls "
                                 "the service back; the task's logs are in {})",
                                 reason.empty() ? "tasks did not become healthy" : reason,
                                 settings.log_group));
      }
      size_t healthy = 0;
      std::string targets;
      if (rollout == "COMPLETED" && running >= std::max(desired, 1)) {
        auto health = elb.DescribeTargetHealth(target_group_arn);
        if (!health) return health.error().ToError("elbv2 DescribeTargetHealth");
        for (const auto& t : *health) {
          healthy += t.state == "healthy" ? 1 : 0;
          targets += (targets.empty() ? "" : ", ") + t.state;
        }
        if (healthy > 0) {
          return fmt::format("{} task(s) running, {} healthy target(s), after {} s", running,
                             healthy, waited.count() / 1000);
        }
      }
      const std::string state =
          fmt::format("rollout {}, {} of {} task(s) running{}", rollout, running, desired,
                      targets.empty() ? "" : ", targets: " + targets);
      if (waited >= options_.wait_timeout) {
        return Error(ErrorCode::kDeadlineExceeded,
                     fmt::format("not healthy within {} s: {}",
                                 options_.wait_timeout.count() / 1000, state));
      }
      if (progress) progress(kWait, StepState::kRunning, state);
      Wait(options_.wait_poll);
      waited += options_.wait_poll;
    }
  }));

  TEMPO_LOG(deploy, info, "[agent={}] deployed to ECS: {}", agent, out.task_definition_arn);
  return out;
}

Result<json> EcsDeployer::Status(const AgentId& agent) {
  const auto& settings = options_.settings;
  json out = {{"agentId", agent.str()}, {"deployer", "ecs"}};
  const std::string bucket = options_.bucket_prefix + storage::AgentBucket(agent);
  auto head = aws::S3(client_).HeadBucket(bucket);
  if (!head && head.error().status != 404) return head.error().ToError("s3 HeadBucket");
  out["bucket"] = head ? json(bucket) : json(nullptr);

  auto secret = client_.CallJson(services::kSecretsManager, "DescribeSecret",
                                 {{"SecretId", TwilioSecretName(agent)}});
  if (!secret && secret.error().code != "ResourceNotFoundException") {
    return secret.error().ToError("secretsmanager DescribeSecret");
  }
  out["secret"] =
      secret && !IsScheduledForDeletion(*secret) ? json(StringOf(*secret, "ARN")) : json(nullptr);

  auto td = client_.CallJson(services::kEcs, "DescribeTaskDefinition",
                             {{"taskDefinition", TaskFamily(agent)}});
  if (!td && td.error().code != "ClientException") {
    return td.error().ToError("ecs DescribeTaskDefinition");
  }
  out["taskDefinition"] = td && StringOf((*td)["taskDefinition"], "status") == "ACTIVE"
                              ? json(StringOf((*td)["taskDefinition"], "taskDefinitionArn"))
                              : json(nullptr);

  aws::Elbv2 elb(client_);
  auto group = elb.FindTargetGroup(TargetGroupName(agent));
  if (!group) return group.error().ToError("elbv2 DescribeTargetGroups");
  out["targetGroup"] = nullptr;
  if (group->has_value()) {
    auto health = elb.DescribeTargetHealth((*group)->arn);
    if (!health) return health.error().ToError("elbv2 DescribeTargetHealth");
    json targets = json::array();
    for (const auto& t : *health) targets.push_back({{"id", t.id}, {"state", t.state}});
    out["targetGroup"] = {{"arn", (*group)->arn}, {"targets", targets}};
  }

  auto service = ActiveService(client_, settings, agent);
  if (!service) return service.error().ToError("ecs DescribeServices");
  out["service"] = nullptr;
  if (*service) {
    const Rollout rollout = RolloutOf(**service);
    out["service"] = {{"arn", StringOf(**service, "serviceArn")},
                      {"taskDefinition", StringOf(**service, "taskDefinition")},
                      {"running", (*service)->value("runningCount", 0)},
                      {"desired", rollout.desired},
                      {"rollout", rollout.state}};
  }

  auto rules = elb.DescribeRules(settings.listener_arn);
  if (!rules) return rules.error().ToError("elbv2 DescribeRules");
  out["listenerRule"] = nullptr;
  const std::string pattern = AgentPathPattern(agent);
  if (const aws::ListenerRule* rule = RuleFor(*rules, pattern)) {
    out["listenerRule"] = {{"arn", rule->arn}, {"priority", rule->priority}, {"path", pattern}};
  }

  auto target = ScalableTarget(client_, settings, agent);
  if (!target) return target.error().ToError("application-autoscaling DescribeScalableTargets");
  out["scaling"] = nullptr;
  if (*target) {
    out["scaling"] = {{"min", (*target)->value("MinCapacity", 0)},
                      {"max", (*target)->value("MaxCapacity", 0)}};
  }
  out["voiceUrl"] = VoiceUrl(settings, agent);
  // Where to look in the AWS console.
  json console = {{"logs", ConsoleUrl(settings, "logs", settings.log_group)}};
  if (out["bucket"].is_string()) console["bucket"] = ConsoleUrl(settings, "bucket", bucket);
  if (out["secret"].is_string())
    console["secret"] = ConsoleUrl(settings, "secret", TwilioSecretName(agent));
  if (out["taskDefinition"].is_string()) {
    console["taskDefinition"] =
        ConsoleUrl(settings, "taskDefinition", out["taskDefinition"].get<std::string>());
  }
  if (!out["targetGroup"].is_null()) {
    console["targetGroup"] =
        ConsoleUrl(settings, "targetGroup", out["targetGroup"]["arn"].get<std::string>());
  }
  if (!out["service"].is_null())
    console["service"] = ConsoleUrl(settings, "service", ServiceName(agent));
  if (!out["listenerRule"].is_null()) {
    console["listenerRule"] =
        ConsoleUrl(settings, "listenerRule", out["listenerRule"]["arn"].get<std::string>());
  }
  out["console"] = std::move(console);
  return out;
}

Result<void> EcsDeployer::Undeploy(const OrgId& /*org*/, const AgentId& agent,
                                   const DeployProgress& progress) {
  return UndeployAgent(agent, progress, /*purge=*/false);
}

Result<void> EcsDeployer::UndeployAgent(const AgentId& agent, const DeployProgress& progress,
                                        bool purge) {
  // Nothing to roll back: each step only removes, and a re-run finishes the job.
  Run run{kUndeploySteps, progress, {}};

  aws::Elbv2 elb(client_);
  const auto& settings = options_.settings;
  TEMPO_TRY(run.Step(kRuleGone, [&]() -> Result<std::string> {
    const std::string pattern = AgentPathPattern(agent);
    auto rules = elb.DescribeRules(settings.listener_arn);
    if (!rules) return rules.error().ToError("elbv2 DescribeRules");
    const aws::ListenerRule* rule = RuleFor(*rules, pattern);
    if (rule == nullptr) return pattern + " was not there";
    TEMPO_TRY(Checked(elb.DeleteRule(rule->arn), "elbv2 DeleteRule"));
    return pattern + " deleted";
  }));

  TEMPO_TRY(run.Step(kServiceGone, [&]() -> Result<std::string> {
    const std::string name = ServiceName(agent);
    // Looked up first: a missing target is ObjectNotFoundException on AWS, and other words
    // elsewhere.
    auto target = ScalableTarget(client_, settings, agent);
    if (!target) return target.error().ToError("application-autoscaling DescribeScalableTargets");
    if (*target) {
      TEMPO_TRY(Checked(client_.CallJson(services::kAutoScaling, "DeregisterScalableTarget",
                                         {{"ServiceNamespace", "ecs"},
                                          {"ResourceId", ScalingResourceId(settings, agent)},
                                          {"ScalableDimension", "ecs:service:DesiredCount"}}),
                        "application-autoscaling DeregisterScalableTarget"));
    }
    auto service = ActiveService(client_, settings, agent);
    if (!service) return service.error().ToError("ecs DescribeServices");
    if (!*service) return name + " was not there";
    // force: stop the tasks too. Task protection keeps a task with calls running until they
    // end (or the protection expires).
    auto gone =
        client_.CallJson(services::kEcs, "DeleteService",
                         {{"cluster", settings.cluster}, {"service", name}, {"force", true}});
    if (!gone) return gone.error().ToError("ecs DeleteService");
    return name + " deleted";
  }));

  TEMPO_TRY(run.Step(kTargetGroupGone, [&]() -> Result<std::string> {
    const std::string name = TargetGroupName(agent);
    auto found = elb.FindTargetGroup(name);
    if (!found) return found.error().ToError("elbv2 DescribeTargetGroups");
    if (!found->has_value()) return name + " was not there";
    TEMPO_TRY(Checked(elb.DeleteTargetGroup((*found)->arn), "elbv2 DeleteTargetGroup"));
    return name + " deleted";
  }));

  TEMPO_TRY(run.Step(kTaskDefinitions, [&]() -> Result<std::string> {
    const std::string family = TaskFamily(agent);
    // familyPrefix matches "tempo-agent-a" in "tempo-agent-ab" too: keep this family only.
    const std::string marker = ":task-definition/" + family + ":";
    size_t removed = 0;
    std::string token;
    do {
      json input = {{"familyPrefix", family}, {"status", "ACTIVE"}};
      if (!token.empty()) input["nextToken"] = token;
      auto listed = client_.CallJson(services::kEcs, "ListTaskDefinitions", input);
      if (!listed) return listed.error().ToError("ecs ListTaskDefinitions");
      for (const auto& arn : listed->value("taskDefinitionArns", json::array())) {
        if (!arn.is_string() || arn.get<std::string>().find(marker) == std::string::npos) continue;
        TEMPO_TRY(Checked(
            client_.CallJson(services::kEcs, "DeregisterTaskDefinition", {{"taskDefinition", arn}}),
            "ecs DeregisterTaskDefinition"));
        ++removed;
      }
      token = StringOf(*listed, "nextToken");
    } while (!token.empty());
    return fmt::format("{} revision(s) of {} deregistered", removed, family);
  }));

  TEMPO_TRY(run.Step(kSecret, [&]() -> Result<std::string> {
    const std::string name = TwilioSecretName(agent);
    auto deleted = client_.CallJson(services::kSecretsManager, "DeleteSecret",
                                    {{"SecretId", name}, {"ForceDeleteWithoutRecovery", true}});
    if (!deleted) {
      if (deleted.error().code == "ResourceNotFoundException") return name + " was not there";
      return deleted.error().ToError("secretsmanager DeleteSecret");
    }
    return name + " deleted";
  }));
  if (purge) {
    TEMPO_TRY(run.Step(kBucketGone, [&]() -> Result<std::string> {
      const std::string bucket = options_.bucket_prefix + storage::AgentBucket(agent);
      aws::S3 s3(client_);
      if (auto head = s3.HeadBucket(bucket); !head) {
        if (head.error().status == 404) return bucket + " was not there";
        return head.error().ToError("s3 HeadBucket");
      }
      auto emptied = s3.EmptyBucket(bucket);
      if (!emptied) return emptied.error().ToError("s3 DeleteObjects");
      TEMPO_TRY(Checked(s3.DeleteBucket(bucket), "s3 DeleteBucket"));
      return fmt::format("{} deleted with its {} object version(s)", bucket, *emptied);
    }));
    TEMPO_LOG(deploy, info, "[agent={}] undeployed from ECS, its bucket purged", agent);
    return Ok();
  }
  TEMPO_LOG(deploy, info, "[agent={}] undeployed from ECS (its bucket is kept)", agent);
  return Ok();
}

}  // namespace tempo::deploy
