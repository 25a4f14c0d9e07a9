#include "tempo/deploy/ecs_plan.hpp"

#include "seed_environment.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

namespace tempo::deploy {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

agent::AgentConfig Agent() {
  return *agent::FromJson({{"agentId", "bright-smile"},
                           {"agentName", "Bright Smile Dental"},
                           {"prompt", "You are the receptionist."},
                           {"guardrails", {"Never give medical advice"}},
                           {"callPhoneNumber", "+14155550100"},
                           {"twilioAccountSid", "AC0123456789abcdef0123456789abcdef"},
                           {"twilioAuthToken", "auth-t0ken-secret"},
                           {"twilioApiSecret", "api-s3cret-value"},
                           {"awsRegion", "eu-west-1"}});
}

EcsSettings Settings() {
  EcsSettings s;
  s.region = "eu-west-1";
  s.execution_role_arn = "arn:aws:iam::123456789012:role/exec";
  s.task_role_arn = "arn:aws:iam::123456789012:role/task";
  s.public_url = "https://voice.example.com/";
  return s;
}

TaskPlan Plan(const agent::AgentConfig& config, const EcsSettings& settings) {
  TaskPlan plan;
  plan.config = &config;
  plan.settings = &settings;
  plan.image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tempo-voice-agents@sha256:abc";
  plan.bucket = "tempo-agent-transcripts-bright-smile";
  plan.secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tempo/agents/x-AbCdEf";
  return plan;
}

TEST(EcsPlan, TaskDefinitionCarriesTheSeedEnvironmentAndSecretsByReference) {
  const auto config = Agent();
  const auto settings = Settings();
  const json td = TaskDefinitionInput(Plan(config, settings));
  EXPECT_EQ(td["family"], "tempo-agent-bright-smile");
  EXPECT_EQ(td["networkMode"], "awsvpc");
  EXPECT_EQ(td["requiresCompatibilities"], json::array({"FARGATE"}));
  EXPECT_EQ(td["cpu"], "256");
  EXPECT_EQ(td["memory"], "512");
  ASSERT_EQ(td["containerDefinitions"].size(), 1U);
  const json& c = td["containerDefinitions"][0];
  EXPECT_THAT(c["image"].get<std::string>(), HasSubstr("@sha256:")) << "pinned by digest";
  EXPECT_EQ(c["portMappings"][0]["containerPort"], 3000);
  EXPECT_EQ(c["stopTimeout"], 120);
  EXPECT_EQ(c["logConfiguration"]["logDriver"], "awslogs");
  EXPECT_EQ(c["logConfiguration"]["options"]["awslogs-group"], "/ecs/tempo-agents");
  EXPECT_THAT(c["healthCheck"]["command"].dump(), HasSubstr("/health/live"));

  std::map<std::string, std::string> env;
  for (const auto& e : c["environment"]) env[e["name"]] = e["value"];
  for (const auto& name : test::SeedEnvironment()) EXPECT_TRUE(env.contains(name)) << name;
  EXPECT_EQ(env["AGENT_ID"], "bright-smile");
  EXPECT_EQ(env["AGENT_GUARDRAILS"], R"(["Never give medical advice"])");
  EXPECT_EQ(env["S3_BUCKET_NAME"], "tempo-agent-transcripts-bright-smile");
  EXPECT_EQ(env["TEMPO_PUBLIC_URL"], "https://voice.example.com/");
  EXPECT_FALSE(env.contains("TWILIO_AUTH_TOKEN"));
  EXPECT_FALSE(env.contains("TWILIO_API_SECRET"));
  std::map<std::string, std::string> secrets;
  for (const auto& s : c["secrets"]) secrets[s["name"]] = s["valueFrom"];
  EXPECT_THAT(secrets["TWILIO_AUTH_TOKEN"], ::testing::EndsWith("-AbCdEf:authToken::"));
  EXPECT_THAT(secrets["TWILIO_API_SECRET"], ::testing::EndsWith("-AbCdEf:apiSecret::"));
  const std::string text = td.dump();
  EXPECT_EQ(text.find("auth-t0ken-secret"), std::string::npos);
  EXPECT_EQ(text.find("api-s3cret-value"), std::string::npos);

  EXPECT_EQ(TwilioSecretValue(config),
            R"({"apiSecret":"api-s3cret-value","authToken":"auth-t0ken-secret"})");
  EXPECT_EQ(VoiceUrl(settings, config.agent_id),
            "https://voice.example.com/agent/bright-smile/incoming-call");
}

TEST(EcsPlan, TheDigestFollowsThePlanAndTheSecretVersion) {
  const auto config = Agent();
  const auto settings = Settings();
  const json td = TaskDefinitionInput(Plan(config, settings));
  const auto digest = PlanDigest(td, "v1");
  EXPECT_EQ(digest, PlanDigest(TaskDefinitionInput(Plan(config, settings)), "v1")) << "stable";
  EXPECT_NE(digest, PlanDigest(td, "v2")) << "a new token rolls the tasks";
  auto renamed = config;
  renamed.agent_name = "Bright Smile Dental Care";
  EXPECT_NE(digest, PlanDigest(TaskDefinitionInput(Plan(renamed, settings)), "v1"));
  EXPECT_EQ(digest.size(), 64U) << "fits a tag value";
  auto bigger = config;
  bigger.fargate_cpu = 1024;
  bigger.fargate_memory = 3072;
  const json sized = TaskDefinitionInput(Plan(bigger, settings));
  EXPECT_EQ(sized["cpu"], "1024") << "the agent's size";
  EXPECT_EQ(sized["memory"], "3072");
  EXPECT_NE(digest, PlanDigest(sized, "v1"));
}

TEST(EcsPlan, NamesAndConsoleLinks) {
  EcsSettings s = Settings();
  s.cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/tempo-voice-cluster";
  s.log_group = "/ecs/tempo-agents";
  const AgentId long_id("a-very-long-agent-id-for-the-front-desk-1");
  EXPECT_EQ(TargetGroupName(AgentId("bright-smile")), "tempo-bright-smile");
  EXPECT_LE(TargetGroupName(long_id).size(), 32U);
  EXPECT_NE(TargetGroupName(long_id),
            TargetGroupName(AgentId("a-very-long-agent-id-for-the-front-desk-2")));
  EXPECT_EQ(ClusterName(s), "tempo-voice-cluster");
  EXPECT_EQ(ScalingResourceId(s, AgentId("bright-smile")),
            "service/tempo-voice-cluster/tempo-agent-bright-smile");
  EXPECT_EQ(ConsoleUrl(s, "taskDefinition",
                       "arn:aws:ecs:eu-west-1:123456789012:task-definition/tempo-agent-x:7"),
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/task-definitions/tempo-agent-x/7"
            "?region=eu-west-1");
  EXPECT_EQ(ConsoleUrl(s, "logs", s.log_group),
            "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:"
            "log-groups/log-group/$252Fecs$252Ftempo-agents");
  EXPECT_EQ(
      ConsoleUrl(s, "secret", "tempo/agents/x/twilio"),
      "https://eu-west-1.console.aws.amazon.com/secretsmanager/secret?name=tempo%2Fagents%2Fx%2F"
      "twilio&region=eu-west-1");
  const int p = PreferredRulePriority(AgentId("bright-smile"));
  EXPECT_GE(p, 1000);
  EXPECT_LT(p, 41'000);
  auto config = Agent();
  config.max_session_duration = 7200;
  EXPECT_EQ(DeregistrationDelaySeconds(config), 3600) << "ALB's limit";
}

TEST(EcsPlan, BucketDocumentsSayWhatTheIssueAsks) {
  const auto lifecycle = BucketLifecycleXml();
  for (const char* part :
       {"<Days>30</Days><StorageClass>STANDARD_IA", "<Days>90</Days><StorageClass>GLACIER",
        "<Expiration><Days>365</Days>", "<NoncurrentDays>30</NoncurrentDays>",
        "<NoncurrentVersionExpiration><NoncurrentDays>365"}) {
    EXPECT_THAT(lifecycle, HasSubstr(part));
  }
  EXPECT_THAT(BucketVersioningXml(), HasSubstr("<Status>Enabled</Status>"));
  EXPECT_THAT(PublicAccessBlockXml(), HasSubstr("<RestrictPublicBuckets>true"));
  EXPECT_THAT(BucketEncryptionXml(), HasSubstr("<SSEAlgorithm>AES256</SSEAlgorithm>"));
  EXPECT_THAT(BucketTaggingXml(AgentId("a1b")), HasSubstr("<Value>a1b</Value>"));
}

}  // namespace
}  // namespace tempo::deploy
