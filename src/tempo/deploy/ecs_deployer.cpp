#include "tempo/deploy/ecs_deployer.hpp"

#include "tempo/aws/s3.hpp"
#include "tempo/base/log.hpp"
#include "tempo/storage/call_layout.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <random>
#include <ranges>
#include <utility>

namespace tempo::deploy {
namespace {

using nlohmann::json;
namespace services = aws::services;

enum Step : size_t { kBucket, kImage, kSecrets, kTaskDefinition };
const std::vector<std::string> kDeploySteps = {"bucket", "image", "secrets", "task definition"};
enum UndoStep : size_t { kTaskDefinitions, kSecret };
const std::vector<std::string> kUndeploySteps = {"task definitions", "secret"};

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
    for (const auto& [what, action] : std::views::reverse(undo)) {
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
std::vector<std::string> EcsDeployer::UndeploySteps() const { return kUndeploySteps; }

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
    if (described->contains("DeletedDate")) {
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

  TEMPO_LOG(deploy, info, "[agent={}] deployed to ECS: {}", agent, out.task_definition_arn);
  return out;
}

Result<void> EcsDeployer::Undeploy(const OrgId& /*org*/, const AgentId& agent,
                                   const DeployProgress& progress) {
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
  TEMPO_LOG(deploy, info, "[agent={}] undeployed from ECS (its bucket is kept)", agent);
  return Ok();
}

}  // namespace tempo::deploy
