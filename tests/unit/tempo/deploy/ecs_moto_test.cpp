// The ECS deployer against moto_server with signature checking on. What it made is read back
// with boto3, AWS's own SDK, not with our client.

#include "tempo/deploy/ecs_deployer.hpp"

#include "seed_environment.hpp"
#include "support/moto.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <thread>

namespace tempo::deploy {
namespace {

using nlohmann::json;
using test_support::Boto3;
using ::testing::HasSubstr;

// The shared infrastructure deploy/terraform makes, made with boto3 by
// tests/support/ecs_infrastructure.py.
json MakeInfrastructure(const test_support::Moto& moto, const std::string& key,
                        const std::string& secret) {
  const auto script =
      test_support::TestVectors().parent_path() / "support" / "ecs_infrastructure.py";
  return test_support::RunPython("import runpy, sys\nsys.argv = ['x', '" + moto.url() + "', '" +
                                 key + "', '" + secret + "']\nrunpy.run_path('" + script.string() +
                                 "')\n");
}

agent::AgentConfig Agent(const std::string& id, const std::string& name = "Bright Smile Dental") {
  auto config = agent::FromJson({{"agentId", id},
                                 {"agentName", name},
                                 {"prompt", "You are the receptionist."},
                                 {"callPhoneNumber", "+14155550100"},
                                 {"twilioAccountSid", "AC0123456789abcdef0123456789abcdef"},
                                 {"twilioAuthToken", "auth-t0ken-secret"},
                                 {"twilioApiSecret", "api-s3cret-value"},
                                 {"awsRegion", "eu-west-1"}});
  EXPECT_TRUE(config) << config.error().message;
  return *config;
}

class EcsMotoTest : public test_support::MotoTest {
 protected:
  void SetUp() override {
    MotoTest::SetUp();
    proxy = std::make_unique<test_support::AwsProxy>(moto);
    ASSERT_TRUE(proxy->up()) << "the AWS proxy (node) did not start";
    infrastructure = MakeInfrastructure(moto, key, secret);
    ASSERT_TRUE(infrastructure.is_object()) << infrastructure;
    auto parsed = ParseEcsSettings(infrastructure.dump());
    ASSERT_TRUE(parsed) << parsed.error().message;
    settings = *parsed;
  }

  // A deployer with these settings; `fail` (when set) makes the requests it matches fail on
  // the network, every time.
  std::unique_ptr<EcsDeployer> Deployer(std::function<bool(const net::ClientRequest&)> fail = {}) {
    EcsDeployerOptions options;
    options.settings = settings;
    aws::Credentials credentials;
    credentials.access_key_id = key;
    credentials.secret_access_key = AwsSecretKey(secret);
    options.credentials = aws::MakeStaticCredentials(credentials);
    options.endpoints = aws::EveryServiceAt(proxy->url());
    options.sleep = [](std::chrono::milliseconds) {};
    options.wait_poll = std::chrono::milliseconds(1000);
    options.wait_timeout = std::chrono::milliseconds(20'000);
    if (fail) {
      options.fetch = [fail, real = aws::BlockingFetch()](net::ClientRequest request) {
        if (fail(request)) return Result<net::Response>(Unavailable("injected: connection reset"));
        return real(std::move(request));
      };
    }
    auto deployer = EcsDeployer::Create(std::move(options));
    EXPECT_TRUE(deployer) << deployer.error().message;
    return deployer ? std::move(*deployer) : nullptr;
  }

  // What boto3 sees of an agent's resources.
  json Seen(const std::string& agent) {
    return Boto3(moto, key, secret, R"(
agent = ')" + agent + R"('
bucket = 'tempo-agent-transcripts-' + agent
s3 = client('s3')
out = {'bucket': bucket in [b['Name'] for b in s3.list_buckets()['Buckets']]}
if out['bucket']:
    out['versioning'] = s3.get_bucket_versioning(Bucket=bucket).get('Status')
    out['lifecycle'] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)['Rules']
    out['public'] = s3.get_public_access_block(Bucket=bucket)['PublicAccessBlockConfiguration']
    out['encryption'] = s3.get_bucket_encryption(Bucket=bucket)['ServerSideEncryptionConfiguration']['Rules']
    out['tags'] = {t['Key']: t['Value'] for t in s3.get_bucket_tagging(Bucket=bucket)['TagSet']}
sm = client('secretsmanager')
out['secrets'] = [s['Name'] for s in sm.list_secrets()['SecretList'] if agent in s['Name']]
if out['secrets']:
    out['secret_value'] = json.loads(sm.get_secret_value(SecretId=out['secrets'][0])['SecretString'])
ecs = client('ecs')
arns = ecs.list_task_definitions(familyPrefix='tempo-agent-' + agent, status='ACTIVE')['taskDefinitionArns']
out['task_definitions'] = arns
if arns:
    td = ecs.describe_task_definition(taskDefinition=arns[-1], include=['TAGS'])
    out['task_definition'] = td['taskDefinition']
    out['task_definition_tags'] = {t['key']: t['value'] for t in td.get('tags', [])}
elb = client('elbv2')
tgs = [t for t in elb.describe_target_groups()['TargetGroups'] if t['TargetGroupName'] == 'tempo-' + agent]
out['target_group'] = tgs[0] if tgs else None
if tgs:
    attrs = elb.describe_target_group_attributes(TargetGroupArn=tgs[0]['TargetGroupArn'])['Attributes']
    out['deregistration_delay'] = {a['Key']: a['Value'] for a in attrs}.get('deregistration_delay.timeout_seconds')
listener = ')" + settings.listener_arn + R"('
out['rules'] = [{'priority': r['Priority'], 'paths': [v for c in r['Conditions'] for v in c.get('PathPatternConfig', {}).get('Values', c.get('Values', []))],
                 'target': r['Actions'][0].get('TargetGroupArn')}
                for r in elb.describe_rules(ListenerArn=listener)['Rules'] if not r['IsDefault']]
out['rule'] = next((r for r in out['rules'] if r['paths'] == ['/agent/' + agent + '/*']), None)
services = [s for s in ecs.describe_services(cluster='tempo-voice-cluster', services=['tempo-agent-' + agent])['services'] if s['status'] == 'ACTIVE']
out['service'] = services[0] if services else None
aas = client('application-autoscaling')
resource = 'service/tempo-voice-cluster/tempo-agent-' + agent
targets = aas.describe_scalable_targets(ServiceNamespace='ecs', ResourceIds=[resource])['ScalableTargets']
out['scaling'] = targets[0] if targets else None
policies = aas.describe_scaling_policies(ServiceNamespace='ecs', ResourceId=resource)['ScalingPolicies']
out['policy'] = policies[0] if policies else None
print(json.dumps(out, default=str))
)");
  }

  // The operations the deployer sent, in order, since `from` (an index into the proxy's log).
  std::vector<std::string> Operations(size_t from = 0) {
    std::vector<std::string> out;
    const json log = proxy->Requests();
    for (size_t i = from; i < log.size(); ++i) out.push_back(log[i]["operation"]);
    return out;
  }

  // The last body of `operation` the proxy forwarded, checked against AWS's own model of the
  // operation's input by botocore (moto keeps neither a service's capacity provider strategy
  // nor its deployment configuration, so this is where they are checked).
  json ValidatedBody(const std::string& operation) {
    json body;
    for (const auto& r : proxy->Requests()) {
      if (r["operation"] == operation) body = json::parse(r["body"].get<std::string>());
    }
    EXPECT_TRUE(body.is_object()) << operation << " was not sent";
    const json verdict = test_support::RunPython(R"(
import botocore.session, botocore.validate, json
model = botocore.session.get_session().get_service_model('ecs')
report = botocore.validate.ParamValidator().validate(json.loads(')" +
                                                 body.dump() + R"('), model.operation_model(')" +
                                                 operation + R"(').input_shape)
print(json.dumps(report.generate_report()))
)");
    EXPECT_EQ(verdict, "") << operation << ": " << verdict;
    return body;
  }

  std::unique_ptr<test_support::AwsProxy> proxy;
  json infrastructure;
  EcsSettings settings;
};

TEST_F(EcsMotoTest, DeploysTheBucketImageSecretsAndTaskDefinitionAsBoto3SeesThem) {
  auto deployer = Deployer();
  ASSERT_TRUE(deployer);
  std::vector<std::string> lines;
  auto deployed = deployer->DeployAgent(
      Agent("bright-smile"), [&](size_t step, StepState state, const std::string& message) {
        lines.push_back(
            fmt::format("{} {} {}", deployer->DeploySteps()[step], ToString(state), message));
      });
  ASSERT_TRUE(deployed) << deployed.error().message;
  std::vector<std::string> done;
  for (const auto& line : lines) {
    if (line.find(" done ") != std::string::npos) done.push_back(line);
  }
  ASSERT_EQ(done.size(), 8U) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "bucket running ");
  EXPECT_THAT(done[3], HasSubstr("task definition done tempo-agent-bright-smile:1 registered"));
  EXPECT_THAT(done[7], HasSubstr("healthy done 1 task(s) running, 1 healthy target(s)"));
  EXPECT_THAT(::testing::PrintToString(lines), HasSubstr("healthy running rollout IN_PROGRESS"))
      << "the wait shows the rollout as it goes";

  const json seen = Seen("bright-smile");
  ASSERT_TRUE(seen.is_object()) << seen;
  // The bucket: versioned, the exact lifecycle, no public access, encrypted, tagged.
  EXPECT_EQ(seen["versioning"], "Enabled");
  ASSERT_EQ(seen["lifecycle"].size(), 1U) << seen["lifecycle"];
  const json& rule = seen["lifecycle"][0];
  EXPECT_EQ(rule["Status"], "Enabled");
  EXPECT_EQ(rule["Transitions"], json::parse(R"([{"Days": 30, "StorageClass": "STANDARD_IA"},
                                                 {"Days": 90, "StorageClass": "GLACIER"}])"));
  EXPECT_EQ(rule["Expiration"]["Days"], 365);
  EXPECT_EQ(rule["NoncurrentVersionTransitions"],
            json::parse(R"([{"NoncurrentDays": 30, "StorageClass": "STANDARD_IA"},
                            {"NoncurrentDays": 90, "StorageClass": "GLACIER"}])"));
  EXPECT_EQ(rule["NoncurrentVersionExpiration"]["NoncurrentDays"], 365);
  EXPECT_EQ(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], 7);
  EXPECT_EQ(seen["public"], json::parse(R"({"BlockPublicAcls": true, "IgnorePublicAcls": true,
                                            "BlockPublicPolicy": true, "RestrictPublicBuckets": true})"));
  EXPECT_EQ(seen["encryption"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256");
  EXPECT_EQ(seen["tags"]["tempo:agent"], "bright-smile");

  // The secret holds the Twilio credentials; the task definition only points at it.
  EXPECT_EQ(seen["secrets"], json::array({"tempo/agents/bright-smile/twilio"}));
  EXPECT_EQ(seen["secret_value"], json::parse(R"({"authToken": "auth-t0ken-secret",
                                                  "apiSecret": "api-s3cret-value"})"));
  const json& td = seen["task_definition"];
  EXPECT_EQ(td["family"], "tempo-agent-bright-smile");
  EXPECT_EQ(td["requiresCompatibilities"], json::array({"FARGATE"}));
  EXPECT_EQ(td["networkMode"], "awsvpc");
  EXPECT_EQ(td["cpu"], "256");
  EXPECT_EQ(td["memory"], "512");
  EXPECT_EQ(td["executionRoleArn"], settings.execution_role_arn);
  EXPECT_EQ(td["taskRoleArn"], settings.task_role_arn);
  const json& container = td["containerDefinitions"][0];
  EXPECT_EQ(container["image"], "123456789012.dkr.ecr.eu-west-1.amazonaws.com/tempo-voice-agents@" +
                                    infrastructure["digest"].get<std::string>())
      << "the release's image by digest, not a tag";
  std::map<std::string, std::string> env;
  for (const auto& e : container["environment"]) env[e["name"]] = e["value"];
  for (const auto& name : test::SeedEnvironment()) {
    EXPECT_TRUE(env.contains(name)) << name << " (a seed variable)";
  }
  EXPECT_EQ(env["AGENT_NAME"], "Bright Smile Dental");
  EXPECT_EQ(env["S3_BUCKET_NAME"], "tempo-agent-transcripts-bright-smile");
  EXPECT_FALSE(env.contains("TWILIO_AUTH_TOKEN"));
  EXPECT_FALSE(env.contains("TWILIO_API_SECRET"));
  EXPECT_EQ(td.dump().find("s3cret"), std::string::npos) << "no secret in the task definition";
  std::map<std::string, std::string> secrets;
  for (const auto& s : container["secrets"]) secrets[s["name"]] = s["valueFrom"];
  EXPECT_EQ(secrets["TWILIO_AUTH_TOKEN"], deployed->secret_arn + ":authToken::");
  EXPECT_EQ(secrets["TWILIO_API_SECRET"], deployed->secret_arn + ":apiSecret::");
  EXPECT_EQ(container["logConfiguration"]["options"]["awslogs-group"], "/ecs/tempo-agents");
  EXPECT_EQ(container["stopTimeout"], 120);
  EXPECT_EQ(container["portMappings"][0]["containerPort"], 3000);

  // The target group: ip targets on port 3000 in the VPC, checked on /health, draining
  // as long as the agent's longest call.
  const json& tg = seen["target_group"];
  ASSERT_TRUE(tg.is_object()) << seen;
  EXPECT_EQ(tg["HealthCheckPath"], "/health");
  EXPECT_EQ(tg["TargetType"], "ip");
  EXPECT_EQ(tg["Port"], 3000);
  EXPECT_EQ(tg["VpcId"], settings.vpc_id);
  EXPECT_EQ(seen["deregistration_delay"], "1830");
  // The rule sends the agent's paths to that agent's group.
  ASSERT_TRUE(seen["rule"].is_object()) << seen["rules"];
  EXPECT_EQ(seen["rule"]["target"], tg["TargetGroupArn"]);
  // The service runs the revision behind that group, in the private subnets.
  const json& service = seen["service"];
  ASSERT_TRUE(service.is_object()) << seen;
  EXPECT_EQ(service["taskDefinition"], td["taskDefinitionArn"]);
  EXPECT_EQ(service["loadBalancers"][0]["targetGroupArn"], tg["TargetGroupArn"]);
  EXPECT_EQ(service["loadBalancers"][0]["containerPort"], 3000);
  EXPECT_EQ(service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"], "DISABLED");
  EXPECT_EQ(service["networkConfiguration"]["awsvpcConfiguration"]["subnets"],
            json(settings.private_subnets));
  EXPECT_EQ(service["desiredCount"], 1);
  // What moto does not keep, checked in what was sent, against botocore's model.
  const json create = ValidatedBody("CreateService");
  EXPECT_EQ(create["capacityProviderStrategy"][0]["capacityProvider"], "FARGATE");
  EXPECT_EQ(create["deploymentConfiguration"]["minimumHealthyPercent"], 100);
  EXPECT_EQ(create["deploymentConfiguration"]["deploymentCircuitBreaker"],
            json::parse(R"({"enable": true, "rollback": true})"));
  // Scaling: the agent's task counts, on active calls per task.
  EXPECT_EQ(seen["scaling"]["MinCapacity"], 1);
  EXPECT_EQ(seen["scaling"]["MaxCapacity"], 2);
  const json& tracking = seen["policy"]["TargetTrackingScalingPolicyConfiguration"];
  EXPECT_EQ(tracking["TargetValue"], 20.0);
  EXPECT_EQ(tracking["CustomizedMetricSpecification"]["MetricName"], "ActiveCalls");
  EXPECT_EQ(tracking["CustomizedMetricSpecification"]["Namespace"], "TempoVoice");

  const json result = deployed->ToJson();
  EXPECT_EQ(result["success"], true);
  EXPECT_EQ(result["s3BucketName"], "tempo-agent-transcripts-bright-smile");
  EXPECT_EQ(result["taskDefinitionArn"], td["taskDefinitionArn"]);
  EXPECT_EQ(result["voiceUrl"], "https://voice.example.com/agent/bright-smile/incoming-call");
  EXPECT_EQ(result["serviceArn"], service["serviceArn"]);
}

TEST_F(EcsMotoTest, FargateSpotWhenTheAgentAsksAndItsOwnScaling) {
  auto deployer = Deployer();
  auto config = Agent("night-line");
  config.fargate_spot = true;
  config.fargate_cpu = 512;
  config.fargate_memory = 2048;
  config.min_tasks = 2;
  config.max_tasks = 5;
  config.calls_per_task = 35;
  auto deployed = deployer->DeployAgent(config, {});
  ASSERT_TRUE(deployed) << deployed.error().message;
  EXPECT_EQ(ValidatedBody("CreateService")["capacityProviderStrategy"],
            json::parse(R"([{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])"));
  const json seen = Seen("night-line");
  EXPECT_EQ(seen["task_definition"]["cpu"], "512");
  EXPECT_EQ(seen["task_definition"]["memory"], "2048");
  EXPECT_EQ(seen["service"]["desiredCount"], 2);
  EXPECT_EQ(seen["scaling"]["MinCapacity"], 2);
  EXPECT_EQ(seen["scaling"]["MaxCapacity"], 5);
  EXPECT_EQ(seen["policy"]["TargetTrackingScalingPolicyConfiguration"]["TargetValue"], 35.0);
}

TEST_F(EcsMotoTest, ThrottlingAnd5xxAreRetriedAndTheDeploySucceeds) {
  proxy->Inject("RegisterTaskDefinition", 429, 2);  // throttled: never processed
  proxy->Inject("CreateService", 503, 1);           // has a client token: safe to repeat
  proxy->Inject("DescribeServices", 503, 2);
  proxy->Inject("DescribeImages", 0, 1);  // the connection reset: a read, safe to repeat
  auto deployer = Deployer();
  auto deployed = deployer->DeployAgent(Agent("busy-day"), {});
  ASSERT_TRUE(deployed) << deployed.error().message;
  // Five by the AWS client; the reset of a kept connection before any answer is sent again
  // by the connection pool itself.
  EXPECT_GE(deployer->stats().retries, 5U);
  EXPECT_THAT(Operations(), ::testing::Contains("DescribeImages"));
  const json seen = Seen("busy-day");
  EXPECT_EQ(seen["task_definitions"].size(), 1U) << "one revision despite the throttling";
  EXPECT_TRUE(seen["service"].is_object());
}

TEST_F(EcsMotoTest, ARolloutTheCircuitBreakerFailsIsReportedAndRolledBack) {
  proxy->Rollout("fail");
  auto deployer = Deployer();
  auto deployed = deployer->DeployAgent(Agent("broken-image"), {});
  ASSERT_FALSE(deployed);
  EXPECT_THAT(deployed.error().message, HasSubstr("step 'healthy' failed: the rollout failed: "
                                                  "ECS deployment circuit breaker"));
  EXPECT_THAT(deployed.error().message, HasSubstr("rolled back: deleted listener rule"));
  const json seen = Seen("broken-image");
  EXPECT_EQ(seen["service"], nullptr);
  EXPECT_EQ(seen["target_group"], nullptr);
  EXPECT_EQ(seen["rule"], nullptr);
  EXPECT_EQ(seen["task_definitions"], json::array());
  EXPECT_EQ(seen["bucket"], false);

  // A deadline: a rollout that never completes.
  proxy->Rollout("healthy", 1000);
  auto slow = Deployer()->DeployAgent(Agent("slow-start"), {});
  ASSERT_FALSE(slow);
  EXPECT_THAT(
      slow.error().message,
      HasSubstr("step 'healthy' failed: not healthy within 20 s: rollout IN_PROGRESS, 0 of 1"));
}

TEST_F(EcsMotoTest, AListenerAtItsRuleQuotaIsNamedAndNothingIsLeftBehind) {
  ASSERT_TRUE(Boto3(moto, key, secret,
                    R"(
elb = client('elbv2')
for i in range(100):
    elb.create_rule(ListenerArn=')" +
                        settings.listener_arn + R"(', Priority=i + 1,
        Conditions=[{'Field': 'path-pattern', 'Values': ['/other/%d/*' % i]}],
        Actions=[{'Type': 'fixed-response', 'FixedResponseConfig': {'StatusCode': '404'}}])
print('true')
)"));
  auto deployed = Deployer()->DeployAgent(Agent("one-too-many"), {});
  ASSERT_FALSE(deployed);
  EXPECT_THAT(deployed.error().message,
              HasSubstr("step 'listener rule' failed: the listener already has 100 rules, the "
                        "quota of an Application Load Balancer listener"));
  const json seen = Seen("one-too-many");
  EXPECT_EQ(seen["service"], nullptr) << "rolled back";
  EXPECT_EQ(seen["target_group"], nullptr);
}

// Two ids whose preferred rule priorities are the same: deployed at once, both ask for it.
std::pair<std::string, std::string> CollidingAgents() {
  std::map<int, std::string> seen;
  for (int i = 0;; ++i) {
    std::string id = fmt::format("race-{}", i);
    const int priority = PreferredRulePriority(AgentId(id));
    if (auto it = seen.find(priority); it != seen.end()) return {it->second, id};
    seen[priority] = id;
  }
}

TEST_F(EcsMotoTest, TwoAgentsDeployedAtOnceGetTheirOwnPriorityAndGroup) {
  const auto [first, second] = CollidingAgents();
  ASSERT_EQ(PreferredRulePriority(AgentId(first)), PreferredRulePriority(AgentId(second)));
  auto a = Deployer();
  auto b = Deployer();
  Result<EcsDeployment> deployed_a = Internal("not run");
  Result<EcsDeployment> deployed_b = Internal("not run");
  std::thread ta([&] { deployed_a = a->DeployAgent(Agent(first), {}); });
  std::thread tb([&] { deployed_b = b->DeployAgent(Agent(second), {}); });
  ta.join();
  tb.join();
  ASSERT_TRUE(deployed_a) << deployed_a.error().message;
  ASSERT_TRUE(deployed_b) << deployed_b.error().message;
  const json seen_a = Seen(first);
  const json seen_b = Seen(second);
  ASSERT_TRUE(seen_a["rule"].is_object() && seen_b["rule"].is_object()) << seen_a["rules"];
  EXPECT_NE(seen_a["rule"]["priority"], seen_b["rule"]["priority"]);
  EXPECT_EQ(seen_a["rule"]["target"], seen_a["target_group"]["TargetGroupArn"]);
  EXPECT_EQ(seen_b["rule"]["target"], seen_b["target_group"]["TargetGroupArn"]);
  EXPECT_NE(seen_a["target_group"]["TargetGroupArn"], seen_b["target_group"]["TargetGroupArn"]);
}

TEST_F(EcsMotoTest, ASecondDeployChangesNothingAndAChangeRegistersTheNextRevision) {
  auto deployer = Deployer();
  ASSERT_TRUE(deployer);
  auto first = deployer->DeployAgent(Agent("steady"), {});
  ASSERT_TRUE(first) << first.error().message;
  const json before = Seen("steady");
  const uint64_t requests = deployer->stats().requests;

  const size_t log_before = proxy->Requests().size();
  auto second = deployer->DeployAgent(Agent("steady"), {});
  ASSERT_TRUE(second) << second.error().message;
  for (const auto& operation : Operations(log_before)) {
    EXPECT_FALSE(operation.starts_with("Create") ||
                 operation.starts_with("Register"
                                       "TaskDef") ||
                 operation == "UpdateService" || operation == "ModifyRule" ||
                 operation == "PutSecretValue" || operation == "RestoreSecret")
        << operation << " in a deploy that should change nothing";
  }
  EXPECT_EQ(second->service_arn, first->service_arn);
  EXPECT_EQ(second->task_definition_arn, first->task_definition_arn);
  EXPECT_EQ(second->secret_arn, first->secret_arn);
  const json after = Seen("steady");
  EXPECT_EQ(after["task_definitions"], before["task_definitions"]) << "no new revision";
  EXPECT_EQ(after["secrets"], before["secrets"]);
  const json versions = Boto3(moto, key, secret, R"(
print(json.dumps(len(client('secretsmanager').list_secret_version_ids(SecretId='tempo/agents/steady/twilio')['Versions'])))
)");
  EXPECT_EQ(versions, 1) << "the secret was not written again";
  EXPECT_GT(deployer->stats().requests, requests);

  auto renamed = deployer->DeployAgent(Agent("steady", "Steady Plumbing"), {});
  ASSERT_TRUE(renamed) << renamed.error().message;
  EXPECT_THAT(renamed->task_definition_arn, ::testing::EndsWith("tempo-agent-steady:2"));
  auto token = Agent("steady", "Steady Plumbing");
  token.twilio_auth_token = TwilioAuthToken("a-rotated-token");
  auto rotated = deployer->DeployAgent(token, {});
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_THAT(rotated->task_definition_arn, ::testing::EndsWith("tempo-agent-steady:3"))
      << "a new secret version rolls the tasks";
  EXPECT_EQ(Seen("steady")["secret_value"]["authToken"], "a-rotated-token");
}

TEST_F(EcsMotoTest, AFailureAtEachStepRollsBackWhatTheRunMadeAndNamesTheStep) {
  struct Case {
    std::string step;
    std::function<bool(const net::ClientRequest&)> fail;
  };
  auto target = [](std::string_view operation) {
    return [operation](const net::ClientRequest& r) {
      return r.headers.Find("X-Amz-Target").value_or("").ends_with(operation);
    };
  };
  auto action = [](std::string_view name) {
    return [name](const net::ClientRequest& r) {
      return r.body.find("Action=" + std::string(name) + "&") != std::string::npos;
    };
  };
  const std::vector<Case> cases = {
      {"bucket", [](const net::ClientRequest& r) { return r.url.ends_with("?lifecycle"); }},
      {"image", target(".DescribeImages")},
      {"secrets", target(".CreateSecret")},
      {"task definition", target(".RegisterTaskDefinition")},
      {"target group", action("CreateTargetGroup")},
      {"service", target(".CreateService")},
      {"listener rule", action("CreateRule")},
      {"healthy", action("DescribeTargetHealth")},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string agent = fmt::format("rollback-{}", ++n);
    auto deployer = Deployer(c.fail);
    ASSERT_TRUE(deployer);
    std::string failed_line;
    auto deployed = deployer->DeployAgent(
        Agent(agent), [&](size_t step, StepState state, const std::string& message) {
          if (state == StepState::kFailed)
            failed_line = deployer->DeploySteps()[step] + ": " + message;
        });
    ASSERT_FALSE(deployed) << c.step;
    EXPECT_THAT(deployed.error().message, HasSubstr("step '" + c.step + "' failed"));
    EXPECT_THAT(deployed.error().message, HasSubstr("injected"));
    EXPECT_THAT(failed_line, ::testing::StartsWith(c.step + ": step '" + c.step + "' failed"));
    const json seen = Seen(agent);
    EXPECT_EQ(seen["bucket"], false) << c.step << ": the bucket this run created is gone";
    EXPECT_EQ(seen["secrets"], json::array()) << c.step;
    EXPECT_EQ(seen["task_definitions"], json::array()) << c.step;
    EXPECT_EQ(seen["target_group"], nullptr) << c.step;
    EXPECT_EQ(seen["service"], nullptr) << c.step;
    EXPECT_EQ(seen["rule"], nullptr) << c.step;
    if (c.step != "bucket") {
      EXPECT_THAT(deployed.error().message, HasSubstr("deleted bucket"));
    }
  }
}

TEST_F(EcsMotoTest, AMissingImageTagIsNamedAndUndeployKeepsOnlyTheBucket) {
  settings.image_tag = "v9.9.9";
  auto missing = Deployer();
  ASSERT_TRUE(missing);
  auto failed = missing->DeployAgent(Agent("leaving"), {});
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().message,
              HasSubstr("image tag v9.9.9 is not in the ECR repository tempo-voice-agents"));

  settings.image_tag = "v1.0.0";
  auto deployer = Deployer();
  ASSERT_TRUE(deployer->DeployAgent(Agent("leaving"), {}));
  ASSERT_TRUE(deployer->DeployAgent(Agent("leaving", "Leaving Soon"), {}));
  ASSERT_TRUE(deployer->DeployAgent(Agent("leaving-too"), {})) << "a family with the same prefix";
  ASSERT_TRUE(Boto3(moto, key, secret, R"(
client('s3').put_object(Bucket='tempo-agent-transcripts-leaving', Key='calls/CA1/transcript.json', Body=b'{}')
print('true')
)"));
  auto undeployed = deployer->Undeploy(OrgId("org"), AgentId("leaving"), {});
  ASSERT_TRUE(undeployed) << undeployed.error().message;
  const json seen = Seen("leaving");
  EXPECT_EQ(seen["bucket"], true) << "the calls are the customer's data";
  EXPECT_EQ(seen["task_definitions"], json::array());
  EXPECT_EQ(seen["service"], nullptr);
  EXPECT_EQ(seen["target_group"], nullptr);
  EXPECT_EQ(seen["rule"], nullptr);
  EXPECT_EQ(seen["scaling"], nullptr);
  EXPECT_EQ(seen["secrets"], json::array({"tempo/agents/leaving-too/twilio"}))
      << "only the other agent's secret is left";
  const json other = Seen("leaving-too");
  EXPECT_EQ(other["task_definitions"].size(), 1U);
  EXPECT_TRUE(other["service"].is_object()) << "the other agent keeps its service";
  EXPECT_TRUE(other["rule"].is_object());
  // Asked to purge: the bucket goes too, with every version and delete marker in it.
  ASSERT_TRUE(Boto3(moto, key, secret, R"(
s3 = client('s3')
for _ in range(2):
    s3.put_object(Bucket='tempo-agent-transcripts-leaving-too', Key='calls/CA1/metadata.json', Body=b'{}')
s3.put_object(Bucket='tempo-agent-transcripts-leaving-too', Key='calls/CA2/transcript.json', Body=b'{}')
s3.delete_object(Bucket='tempo-agent-transcripts-leaving-too', Key='calls/CA1/metadata.json')
print('true')
)"));
  std::vector<std::string> purge_steps;
  auto purged = deployer->UndeployAgent(
      AgentId("leaving-too"),
      [&](size_t step, StepState state, const std::string& message) {
        if (state == StepState::kDone)
          purge_steps.push_back(deployer->UndeploySteps(true)[step] + ": " + message);
      },
      /*purge=*/true);
  ASSERT_TRUE(purged) << purged.error().message;
  ASSERT_EQ(purge_steps.size(), 6U);
  EXPECT_EQ(purge_steps[5],
            "bucket: tempo-agent-transcripts-leaving-too deleted with its 4 object version(s)");
  EXPECT_EQ(Seen("leaving-too")["bucket"], false);

  auto again = deployer->Undeploy(OrgId("org"), AgentId("leaving"), {});
  EXPECT_TRUE(again) << "again: nothing to do: " << again.error().message;
}

}  // namespace
}  // namespace tempo::deploy
