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
#include <random>
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

Error AwsFailure(std::string_view what, const aws::AwsError& error) { return error.ToError(what); }

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
  EcsDeployer& deployer;
  const DeployProgress& progress;
  std::vector<std::pair<std::string, std::function<Result<void>()>>> undo;

  // Runs step `index`: `body` returns the line shown when it is done.
  template <class Body>
  Result<void> Step(size_t index, Body&& body) {
    if (progress) progress(index, StepState::kRunning, "");
    Result<std::string> done = body();
    if (!done) {
      Error error = done.error();
      error.message = fmt::format("step '{}' failed: {}", kDeploySteps[index], error.message);
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
  Run run{*this, progress, {}};
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
      if (head.error().status != 404) return AwsFailure("s3 HeadBucket", head.error());
      if (auto made = s3.CreateBucket(out.bucket); !made) {
        return AwsFailure("s3 CreateBucket", made.error());
      }
      created = true;
      run.undo.emplace_back("deleted bucket " + out.bucket, [this, bucket = out.bucket] {
        auto deleted = aws::S3(client_).DeleteBucket(bucket);
        return deleted ? Ok() : Result<void>(AwsFailure("s3 DeleteBucket", deleted.error()));
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
        return AwsFailure(fmt::format("s3 PutBucket {}", subresource), put.error());
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
      return AwsFailure("ecr DescribeImages", e);
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
        return AwsFailure("secretsmanager DescribeSecret", described.error());
      }
      auto created = client_.CallJson(
          services::kSecretsManager, "CreateSecret",
          {{"Name", name},
           {"Description", fmt::format("Twilio credentials of the TempoVoice agent {}", agent)},
           {"SecretString", value},
           {"ClientRequestToken", NewClientToken()},
           {"Tags", json::array({{{"Key", kAgentTag}, {"Value", agent.str()}}})}});
      if (!created) return AwsFailure("secretsmanager CreateSecret", created.error());
      out.secret_arn = StringOf(*created, "ARN");
      secret_version = StringOf(*created, "VersionId");
      run.undo.emplace_back("deleted secret " + name, [this, arn = out.secret_arn] {
        auto deleted = client_.CallJson(services::kSecretsManager, "DeleteSecret",
                                        {{"SecretId", arn}, {"ForceDeleteWithoutRecovery", true}});
        return deleted ? Ok()
                       : Result<void>(AwsFailure("secretsmanager DeleteSecret", deleted.error()));
      });
      return fmt::format("{} created", name);
    }
    out.secret_arn = StringOf(*described, "ARN");
    if (IsScheduledForDeletion(*described)) {
      // Undeployed within the recovery window: the name is still taken until restored.
      auto restored = client_.CallJson(services::kSecretsManager, "RestoreSecret",
                                       {{"SecretId", out.secret_arn}});
      if (!restored) return AwsFailure("secretsmanager RestoreSecret", restored.error());
    }
    auto current = client_.CallJson(services::kSecretsManager, "GetSecretValue",
                                    {{"SecretId", out.secret_arn}});
    if (!current) return AwsFailure("secretsmanager GetSecretValue", current.error());
    if (StringOf(*current, "SecretString") == value) {
      secret_version = StringOf(*current, "VersionId");
      return fmt::format("{} unchanged", name);
    }
    auto put = client_.CallJson(services::kSecretsManager, "PutSecretValue",
                                {{"SecretId", out.secret_arn},
                                 {"SecretString", value},
                                 {"ClientRequestToken", NewClientToken()}});
    if (!put) return AwsFailure("secretsmanager PutSecretValue", put.error());
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
      return AwsFailure("ecs DescribeTaskDefinition", latest.error());
    }
    input["tags"] = json::array(
        {{{"key", kAgentTag}, {"value", agent.str()}}, {{"key", kPlanTag}, {"value", digest}}});
    auto registered = client_.CallJson(services::kEcs, "RegisterTaskDefinition", input);
    if (!registered) return AwsFailure("ecs RegisterTaskDefinition", registered.error());
    const json& td = (*registered)["taskDefinition"];
    out.task_definition_arn = StringOf(td, "taskDefinitionArn");
    run.undo.emplace_back(
        "deregistered " + out.task_definition_arn, [this, arn = out.task_definition_arn] {
          auto gone = client_.CallJson(services::kEcs, "DeregisterTaskDefinition",
                                       {{"taskDefinition", arn}});
          return gone ? Ok()
                      : Result<void>(AwsFailure("ecs DeregisterTaskDefinition", gone.error()));
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
    if (!found) return AwsFailure("elbv2 DescribeTargetGroups", found.error());
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
      if (!made) return AwsFailure("elbv2 CreateTargetGroup", made.error());
      target_group_arn = made->arn;
      created = true;
      run.undo.emplace_back("deleted target group " + spec.name, [this, arn = target_group_arn] {
        auto gone = aws::Elbv2(client_).DeleteTargetGroup(arn);
        return gone ? Ok() : Result<void>(AwsFailure("elbv2 DeleteTargetGroup", gone.error()));
      });
    }
    if (auto converged = elb.ConvergeTargetGroup(target_group_arn, spec); !converged) {
      return AwsFailure("elbv2 ModifyTargetGroup", converged.error());
    }
    return fmt::format("{}{}: ip targets on port {}, health check {}, {} s to drain", spec.name,
                       created ? " created" : "", kContainerPort, spec.health_check_path,
                       spec.deregistration_delay_seconds);
  }));

  TEMPO_TRY(run.Step(kService, [&]() -> Result<std::string> {
    const std::string name = ServiceName(agent);
    json wanted = ServiceSettings(config, settings, out.task_definition_arn, target_group_arn);
    const std::string plan = Sha256Hex(DumpJson(wanted));
    auto described = client_.CallJson(
        services::kEcs, "DescribeServices",
        {{"cluster", settings.cluster}, {"services", {name}}, {"include", {"TAGS"}}});
    if (!described) return AwsFailure("ecs DescribeServices", described.error());
    const json services = described->value("services", json::array());
    const json* current = nullptr;
    for (const auto& service : services) {
      if (StringOf(service, "serviceName") == name && StringOf(service, "status") == "ACTIVE") {
        current = &service;
      }
    }
    std::string verb = "unchanged";
    if (current == nullptr) {
      json input = wanted;
      input["serviceName"] = name;
      input["desiredCount"] = config.min_tasks;
      input["propagateTags"] = "SERVICE";
      input["enableECSManagedTags"] = true;
      input["tags"] = json::array(
          {{{"key", kAgentTag}, {"value", agent.str()}}, {{"key", kPlanTag}, {"value", plan}}});
      input["clientToken"] = NewClientToken();  // CreateService sent twice makes one service
      auto created = client_.CallJson(services::kEcs, "CreateService", input);
      if (!created) return AwsFailure("ecs CreateService", created.error());
      out.service_arn = StringOf((*created)["service"], "serviceArn");
      verb = "created";
      run.undo.emplace_back("deleted service " + name, [this, name] {
        auto gone = client_.CallJson(
            services::kEcs, "DeleteService",
            {{"cluster", options_.settings.cluster}, {"service", name}, {"force", true}});
        return gone ? Ok() : Result<void>(AwsFailure("ecs DeleteService", gone.error()));
      });
    } else {
      out.service_arn = StringOf(*current, "serviceArn");
      if (!HasTag(current->value("tags", json::array()), kPlanTag, plan)) {
        json input = wanted;
        input["service"] = name;
        // The desired count is the scaler's from here on; a deploy does not reset it.
        auto updated = client_.CallJson(services::kEcs, "UpdateService", input);
        if (!updated) return AwsFailure("ecs UpdateService", updated.error());
        auto tagged =
            client_.CallJson(services::kEcs, "TagResource",
                             {{"resourceArn", out.service_arn},
                              {"tags", json::array({{{"key", kPlanTag}, {"value", plan}}})}});
        if (!tagged) return AwsFailure("ecs TagResource", tagged.error());
        verb = "updated";
        run.undo.emplace_back(
            "service " + name + " back to its previous task definition",
            [this, name, previous = StringOf(*current, "taskDefinition")] {
              auto back = client_.CallJson(services::kEcs, "UpdateService",
                                           {{"cluster", options_.settings.cluster},
                                            {"service", name},
                                            {"taskDefinition", previous}});
              return back ? Ok() : Result<void>(AwsFailure("ecs UpdateService", back.error()));
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
    if (!target)
      return AwsFailure("application-autoscaling RegisterScalableTarget", target.error());
    auto policy = client_.CallJson(services::kAutoScaling, "PutScalingPolicy",
                                   ScalingPolicyInput(config, settings));
    if (!policy) return AwsFailure("application-autoscaling PutScalingPolicy", policy.error());
    return fmt::format("{} {} on {}, {} to {} tasks at {} calls each", name, verb,
                       config.fargate_spot ? "Fargate Spot" : "Fargate", config.min_tasks,
                       config.max_tasks, config.calls_per_task);
  }));

  TEMPO_TRY(run.Step(kListenerRule, [&]() -> Result<std::string> {
    const std::string pattern = AgentPathPattern(agent);
    auto rules = elb.DescribeRules(settings.listener_arn);
    if (!rules) return AwsFailure("elbv2 DescribeRules", rules.error());
    for (const auto& rule : *rules) {
      if (std::find(rule.path_patterns.begin(), rule.path_patterns.end(), pattern) ==
          rule.path_patterns.end()) {
        continue;
      }
      if (rule.target_group_arns == std::vector<std::string>{target_group_arn}) {
        return fmt::format("{} → {} (priority {}) unchanged", pattern, TargetGroupName(agent),
                           rule.priority);
      }
      if (auto modified = elb.ModifyRule(rule.arn, pattern, target_group_arn); !modified) {
        return AwsFailure("elbv2 ModifyRule", modified.error());
      }
      return fmt::format("{} → {} (priority {}) updated", pattern, TargetGroupName(agent),
                         rule.priority);
    }
    // A free priority: the agent's preferred one, or the next free after it. Two deploys at
    // once may pick the same; the second gets PriorityInUse and takes the next.
    std::vector<std::string> used;
    auto note_used = [&](const std::vector<aws::ListenerRule>& seen) {
      used.clear();
      for (const auto& rule : seen) used.push_back(rule.priority);
    };
    note_used(*rules);
    auto is_used = [&](int p) {
      return std::find(used.begin(), used.end(), std::to_string(p)) != used.end();
    };
    int priority = PreferredRulePriority(agent);
    for (int attempt = 0; attempt < 20; ++attempt) {
      size_t rules_now = 0;
      for (const auto& p : used) rules_now += p == "default" ? 0 : 1;
      if (rules_now >= kListenerRuleQuota) {
        return ResourceExhausted(fmt::format(
            "the listener already has {} rules, the quota of an Application Load Balancer "
            "listener: raise 'Rules per Application Load Balancer' in Service Quotas, or deploy "
            "to another listener",
            rules_now));
      }
      while (is_used(priority)) priority = priority >= 50'000 ? 1 : priority + 1;
      auto made = elb.CreateRule(settings.listener_arn, priority, pattern, target_group_arn,
                                 {{std::string(kAgentTag), agent.str()}});
      if (made) {
        run.undo.emplace_back(
            fmt::format("deleted listener rule {}", pattern), [this, arn = made->arn] {
              auto gone = aws::Elbv2(client_).DeleteRule(arn);
              return gone ? Ok() : Result<void>(AwsFailure("elbv2 DeleteRule", gone.error()));
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
        return AwsFailure("elbv2 CreateRule", made.error());
      }
      auto again = elb.DescribeRules(settings.listener_arn);
      if (!again) return AwsFailure("elbv2 DescribeRules", again.error());
      note_used(*again);
      if (!is_used(priority)) used.push_back(std::to_string(priority));
    }
    return Unavailable("no free listener rule priority after 20 tries (many deploys at once?)");
  }));

  TEMPO_TRY(run.Step(kWait, [&]() -> Result<std::string> {
    // Steady: the primary deployment COMPLETED with its tasks running, and the load balancer
    // sees a healthy target. The circuit breaker's FAILED ends the wait at once.
    std::chrono::milliseconds waited{0};
    for (;;) {
      auto described =
          client_.CallJson(services::kEcs, "DescribeServices",
                           {{"cluster", settings.cluster}, {"services", {ServiceName(agent)}}});
      if (!described) return AwsFailure("ecs DescribeServices", described.error());
      const json services = described->value("services", json::array());
      if (services.empty()) return NotFound("the service is gone");
      const json& service = services[0];
      std::string rollout = "?";
      std::string reason;
      int running = service.value("runningCount", 0);
      const int desired = service.value("desiredCount", 0);
      for (const auto& d : service.value("deployments", json::array())) {
        if (StringOf(d, "status") != "PRIMARY") continue;
        rollout = StringOf(d, "rolloutState");
        reason = StringOf(d, "rolloutStateReason");
        running = d.value("runningCount", running);
      }
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
        if (!health) return AwsFailure("elbv2 DescribeTargetHealth", health.error());
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
  if (!head && head.error().status != 404) return AwsFailure("s3 HeadBucket", head.error());
  out["bucket"] = head ? json(bucket) : json(nullptr);

  auto secret = client_.CallJson(services::kSecretsManager, "DescribeSecret",
                                 {{"SecretId", TwilioSecretName(agent)}});
  if (!secret && secret.error().code != "ResourceNotFoundException") {
    return AwsFailure("secretsmanager DescribeSecret", secret.error());
  }
  out["secret"] =
      secret && !IsScheduledForDeletion(*secret) ? json(StringOf(*secret, "ARN")) : json(nullptr);

  auto td = client_.CallJson(services::kEcs, "DescribeTaskDefinition",
                             {{"taskDefinition", TaskFamily(agent)}});
  if (!td && td.error().code != "ClientException") {
    return AwsFailure("ecs DescribeTaskDefinition", td.error());
  }
  out["taskDefinition"] = td && StringOf((*td)["taskDefinition"], "status") == "ACTIVE"
                              ? json(StringOf((*td)["taskDefinition"], "taskDefinitionArn"))
                              : json(nullptr);

  aws::Elbv2 elb(client_);
  auto group = elb.FindTargetGroup(TargetGroupName(agent));
  if (!group) return AwsFailure("elbv2 DescribeTargetGroups", group.error());
  out["targetGroup"] = nullptr;
  if (group->has_value()) {
    auto health = elb.DescribeTargetHealth((*group)->arn);
    if (!health) return AwsFailure("elbv2 DescribeTargetHealth", health.error());
    json targets = json::array();
    for (const auto& t : *health) targets.push_back({{"id", t.id}, {"state", t.state}});
    out["targetGroup"] = {{"arn", (*group)->arn}, {"targets", targets}};
  }

  auto services_found =
      client_.CallJson(services::kEcs, "DescribeServices",
                       {{"cluster", settings.cluster}, {"services", {ServiceName(agent)}}});
  if (!services_found) return AwsFailure("ecs DescribeServices", services_found.error());
  out["service"] = nullptr;
  for (const auto& service : services_found->value("services", json::array())) {
    if (StringOf(service, "status") != "ACTIVE") continue;
    std::string rollout;
    for (const auto& d : service.value("deployments", json::array())) {
      if (StringOf(d, "status") == "PRIMARY") rollout = StringOf(d, "rolloutState");
    }
    out["service"] = {{"arn", StringOf(service, "serviceArn")},
                      {"taskDefinition", StringOf(service, "taskDefinition")},
                      {"running", service.value("runningCount", 0)},
                      {"desired", service.value("desiredCount", 0)},
                      {"rollout", rollout}};
  }

  auto rules = elb.DescribeRules(settings.listener_arn);
  if (!rules) return AwsFailure("elbv2 DescribeRules", rules.error());
  out["listenerRule"] = nullptr;
  const std::string pattern = AgentPathPattern(agent);
  for (const auto& rule : *rules) {
    if (std::find(rule.path_patterns.begin(), rule.path_patterns.end(), pattern) !=
        rule.path_patterns.end()) {
      out["listenerRule"] = {{"arn", rule.arn}, {"priority", rule.priority}, {"path", pattern}};
    }
  }

  auto targets = client_.CallJson(
      services::kAutoScaling, "DescribeScalableTargets",
      {{"ServiceNamespace", "ecs"}, {"ResourceIds", {ScalingResourceId(settings, agent)}}});
  if (!targets)
    return AwsFailure("application-autoscaling DescribeScalableTargets", targets.error());
  out["scaling"] = nullptr;
  for (const auto& t : targets->value("ScalableTargets", json::array())) {
    out["scaling"] = {{"min", t.value("MinCapacity", 0)}, {"max", t.value("MaxCapacity", 0)}};
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
  auto step = [&](size_t index, const std::function<Result<std::string>()>& body) -> Result<void> {
    if (progress) progress(index, StepState::kRunning, "");
    auto done = body();
    if (!done) {
      Error error = done.error();
      error.message = fmt::format("step '{}' failed: {}", kUndeploySteps[index], error.message);
      if (progress) progress(index, StepState::kFailed, error.message);
      return error;
    }
    if (progress) progress(index, StepState::kDone, *done);
    return Ok();
  };

  aws::Elbv2 elb(client_);
  const auto& settings = options_.settings;
  TEMPO_TRY(step(kRuleGone, [&]() -> Result<std::string> {
    const std::string pattern = AgentPathPattern(agent);
    auto rules = elb.DescribeRules(settings.listener_arn);
    if (!rules) return AwsFailure("elbv2 DescribeRules", rules.error());
    for (const auto& rule : *rules) {
      if (rule.IsDefault() || std::find(rule.path_patterns.begin(), rule.path_patterns.end(),
                                        pattern) == rule.path_patterns.end()) {
        continue;
      }
      if (auto gone = elb.DeleteRule(rule.arn); !gone) {
        return AwsFailure("elbv2 DeleteRule", gone.error());
      }
      return pattern + " deleted";
    }
    return pattern + " was not there";
  }));

  TEMPO_TRY(step(kServiceGone, [&]() -> Result<std::string> {
    const std::string name = ServiceName(agent);
    // Looked up first: a missing target is ObjectNotFoundException on AWS, and other words
    // elsewhere.
    const std::string resource = ScalingResourceId(settings, agent);
    auto targets = client_.CallJson(services::kAutoScaling, "DescribeScalableTargets",
                                    {{"ServiceNamespace", "ecs"}, {"ResourceIds", {resource}}});
    if (!targets) {
      return AwsFailure("application-autoscaling DescribeScalableTargets", targets.error());
    }
    if (!targets->value("ScalableTargets", json::array()).empty()) {
      auto scaling = client_.CallJson(services::kAutoScaling, "DeregisterScalableTarget",
                                      {{"ServiceNamespace", "ecs"},
                                       {"ResourceId", resource},
                                       {"ScalableDimension", "ecs:service:DesiredCount"}});
      if (!scaling) {
        return AwsFailure("application-autoscaling DeregisterScalableTarget", scaling.error());
      }
    }
    auto described = client_.CallJson(services::kEcs, "DescribeServices",
                                      {{"cluster", settings.cluster}, {"services", {name}}});
    if (!described) return AwsFailure("ecs DescribeServices", described.error());
    bool active = false;
    for (const auto& service : described->value("services", json::array())) {
      active = active || StringOf(service, "status") == "ACTIVE";
    }
    if (!active) return name + " was not there";
    // force: stop the tasks too. Task protection keeps a task with calls running until they
    // end (or the protection expires).
    auto gone =
        client_.CallJson(services::kEcs, "DeleteService",
                         {{"cluster", settings.cluster}, {"service", name}, {"force", true}});
    if (!gone) return AwsFailure("ecs DeleteService", gone.error());
    return name + " deleted";
  }));

  TEMPO_TRY(step(kTargetGroupGone, [&]() -> Result<std::string> {
    const std::string name = TargetGroupName(agent);
    auto found = elb.FindTargetGroup(name);
    if (!found) return AwsFailure("elbv2 DescribeTargetGroups", found.error());
    if (!found->has_value()) return name + " was not there";
    if (auto gone = elb.DeleteTargetGroup((*found)->arn); !gone) {
      return AwsFailure("elbv2 DeleteTargetGroup", gone.error());
    }
    return name + " deleted";
  }));

  TEMPO_TRY(step(kTaskDefinitions, [&]() -> Result<std::string> {
    const std::string family = TaskFamily(agent);
    // familyPrefix matches "tempo-agent-a" in "tempo-agent-ab" too: keep this family only.
    const std::string marker = ":task-definition/" + family + ":";
    size_t removed = 0;
    std::string token;
    do {
      json input = {{"familyPrefix", family}, {"status", "ACTIVE"}};
      if (!token.empty()) input["nextToken"] = token;
      auto listed = client_.CallJson(services::kEcs, "ListTaskDefinitions", input);
      if (!listed) return AwsFailure("ecs ListTaskDefinitions", listed.error());
      for (const auto& arn : listed->value("taskDefinitionArns", json::array())) {
        if (!arn.is_string() || arn.get<std::string>().find(marker) == std::string::npos) continue;
        auto gone =
            client_.CallJson(services::kEcs, "DeregisterTaskDefinition", {{"taskDefinition", arn}});
        if (!gone) return AwsFailure("ecs DeregisterTaskDefinition", gone.error());
        ++removed;
      }
      token = StringOf(*listed, "nextToken");
    } while (!token.empty());
    return fmt::format("{} revision(s) of {} deregistered", removed, family);
  }));

  TEMPO_TRY(step(kSecret, [&]() -> Result<std::string> {
    const std::string name = TwilioSecretName(agent);
    auto deleted = client_.CallJson(services::kSecretsManager, "DeleteSecret",
                                    {{"SecretId", name}, {"ForceDeleteWithoutRecovery", true}});
    if (!deleted) {
      if (deleted.error().code == "ResourceNotFoundException") return name + " was not there";
      return AwsFailure("secretsmanager DeleteSecret", deleted.error());
    }
    return name + " deleted";
  }));
  if (purge) {
    TEMPO_TRY(step(kBucketGone, [&]() -> Result<std::string> {
      const std::string bucket = options_.bucket_prefix + storage::AgentBucket(agent);
      aws::S3 s3(client_);
      if (auto head = s3.HeadBucket(bucket); !head) {
        if (head.error().status == 404) return bucket + " was not there";
        return AwsFailure("s3 HeadBucket", head.error());
      }
      auto emptied = s3.EmptyBucket(bucket);
      if (!emptied) return AwsFailure("s3 DeleteObjects", emptied.error());
      if (auto gone = s3.DeleteBucket(bucket); !gone) {
        return AwsFailure("s3 DeleteBucket", gone.error());
      }
      return fmt::format("{} deleted with its {} object version(s)", bucket, *emptied);
    }));
    TEMPO_LOG(deploy, info, "[agent={}] undeployed from ECS, its bucket purged", agent);
    return Ok();
  }
  TEMPO_LOG(deploy, info, "[agent={}] undeployed from ECS (its bucket is kept)", agent);
  return Ok();
}

}  // namespace tempo::deploy
