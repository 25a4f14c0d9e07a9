// The ECS deployer against moto_server with signature checking on. What it made is read back
// with boto3, AWS's own SDK, not with our client.

#include "tempo/deploy/ecs_deployer.hpp"

#include "seed_environment.hpp"
#include "support/moto.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

namespace tempo::deploy {
namespace {

using nlohmann::json;
using test_support::Boto3;
using ::testing::HasSubstr;

// The shared infrastructure deploy/terraform makes, made here with boto3; printed the way
// `terraform output -json` prints it.
constexpr const char* kInfrastructure = R"(
ec2 = client('ec2')
vpc = ec2.create_vpc(CidrBlock='10.0.0.0/16')['Vpc']['VpcId']
subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f'10.0.{i}.0/24', AvailabilityZone=f'eu-west-1{z}')['Subnet']['SubnetId']
           for i, z in [(1, 'a'), (2, 'b')]]
alb_sg = ec2.create_security_group(GroupName='alb', Description='alb', VpcId=vpc)['GroupId']
task_sg = ec2.create_security_group(GroupName='tasks', Description='tasks', VpcId=vpc)['GroupId']
elb = client('elbv2')
lb = elb.create_load_balancer(Name='tempo', Subnets=subnets, SecurityGroups=[alb_sg], Scheme='internet-facing', Type='application')['LoadBalancers'][0]
listener = elb.create_listener(LoadBalancerArn=lb['LoadBalancerArn'], Protocol='HTTP', Port=80,
    DefaultActions=[{'Type': 'fixed-response', 'FixedResponseConfig': {'StatusCode': '404'}}])['Listeners'][0]['ListenerArn']
iam = client('iam')
trust = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Principal': {'Service': 'ecs-tasks.amazonaws.com'}, 'Action': 'sts:AssumeRole'}]})
roles = [iam.create_role(RoleName=n, AssumeRolePolicyDocument=trust)['Role']['Arn'] for n in ['ecsTaskExecutionRole', 'ecsTaskRole']]
client('ecs').create_cluster(clusterName='tempo-voice-cluster')
client('logs').create_log_group(logGroupName='/ecs/tempo-agents')
ecr = client('ecr')
ecr.create_repository(repositoryName='tempo-voice-agents')
manifest = json.dumps({'schemaVersion': 2, 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',
    'config': {'mediaType': 'application/vnd.docker.container.image.v1+json', 'size': 7023, 'digest': 'sha256:' + '1' * 64},
    'layers': [{'mediaType': 'application/vnd.docker.image.rootfs.diff.tar.gzip', 'size': 32654, 'digest': 'sha256:' + '2' * 64}]})
digest = ecr.put_image(repositoryName='tempo-voice-agents', imageManifest=manifest, imageTag='v1.0.0')['image']['imageId']['imageDigest']
out = lambda v: {'sensitive': False, 'type': 'string', 'value': v}
print(json.dumps({'region': out('eu-west-1'), 'cluster_name': out('tempo-voice-cluster'), 'listener_arn': out(listener),
  'vpc_id': out(vpc), 'private_subnet_ids': out(subnets), 'task_security_group_ids': out([task_sg]),
  'execution_role_arn': out(roles[0]), 'task_role_arn': out(roles[1]), 'ecr_repository_name': out('tempo-voice-agents'),
  'image_tag': out('v1.0.0'), 'public_url': out('https://voice.example.com'), 'digest': digest}))
)";

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
    infrastructure = Boto3(moto, key, secret, kInfrastructure);
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
    for (const char* service : {"s3", "ecs", "ecr", "secretsmanager", "elasticloadbalancing",
                                "application-autoscaling", "logs", "iam", "sts"}) {
      options.endpoints[service] = moto.url();
    }
    options.sleep = [](std::chrono::milliseconds) {};
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
print(json.dumps(out, default=str))
)");
  }

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
  ASSERT_EQ(lines.size(), 8U) << "running, then done, for each of four steps";
  EXPECT_EQ(lines[0], "bucket running ");
  EXPECT_THAT(lines[7], HasSubstr("task definition done tempo-agent-bright-smile:1 registered"));

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

  const json result = deployed->ToJson();
  EXPECT_EQ(result["success"], true);
  EXPECT_EQ(result["s3BucketName"], "tempo-agent-transcripts-bright-smile");
  EXPECT_EQ(result["taskDefinitionArn"], td["taskDefinitionArn"]);
  EXPECT_EQ(result["voiceUrl"], "https://voice.example.com/agent/bright-smile/incoming-call");
}

TEST_F(EcsMotoTest, ASecondDeployChangesNothingAndAChangeRegistersTheNextRevision) {
  auto deployer = Deployer();
  ASSERT_TRUE(deployer);
  auto first = deployer->DeployAgent(Agent("steady"), {});
  ASSERT_TRUE(first) << first.error().message;
  const json before = Seen("steady");
  const uint64_t requests = deployer->stats().requests;

  auto second = deployer->DeployAgent(Agent("steady"), {});
  ASSERT_TRUE(second) << second.error().message;
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
  const std::vector<Case> cases = {
      {"bucket", [](const net::ClientRequest& r) { return r.url.ends_with("?lifecycle"); }},
      {"image", target(".DescribeImages")},
      {"secrets", target(".CreateSecret")},
      {"task definition", target(".RegisterTaskDefinition")},
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
  EXPECT_EQ(seen["secrets"], json::array({"tempo/agents/leaving-too/twilio"}))
      << "only the other agent's secret is left";
  EXPECT_EQ(Seen("leaving-too")["task_definitions"].size(), 1U);
  EXPECT_TRUE(deployer->Undeploy(OrgId("org"), AgentId("leaving"), {})) << "again: nothing to do";
}

}  // namespace
}  // namespace tempo::deploy
