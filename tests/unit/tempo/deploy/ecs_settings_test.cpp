#include "tempo/deploy/ecs_settings.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tempo::deploy {
namespace {

using ::testing::HasSubstr;

// What `terraform output -json` prints for deploy/terraform (values wrapped, types beside).
constexpr std::string_view kTerraformOutput = R"({
  "region": {"sensitive": false, "type": "string", "value": "eu-west-1"},
  "cluster_name": {"sensitive": false, "type": "string", "value": "tempo-voice-cluster"},
  "listener_arn": {"sensitive": false, "type": "string",
    "value": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/tempo/50dc6c495c0c9188/f2f7dc8efc522ab2"},
  "vpc_id": {"sensitive": false, "type": "string", "value": "vpc-0a1b2c3d4e5f60718"},
  "private_subnet_ids": {"sensitive": false, "type": ["tuple", ["string", "string"]],
    "value": ["subnet-0123456789abcdef0", "subnet-89abcdef"]},
  "task_security_group_ids": {"sensitive": false, "type": ["list", "string"], "value": ["sg-0123abcd"]},
  "execution_role_arn": {"sensitive": false, "type": "string", "value": "arn:aws:iam::123456789012:role/ecsTaskExecutionRole"},
  "task_role_arn": {"sensitive": false, "type": "string", "value": "arn:aws:iam::123456789012:role/ecsTaskRole"},
  "ecr_repository_name": {"sensitive": false, "type": "string", "value": "tempo-voice-agents"},
  "image_tag": {"sensitive": false, "type": "string", "value": "v1.4.0"},
  "alb_dns_name": {"sensitive": false, "type": "string", "value": "tempo-123.eu-west-1.elb.amazonaws.com"}
})";

TEST(EcsSettings, ReadsTerraformOutputAndValidates) {
  auto settings = ParseEcsSettings(kTerraformOutput);
  ASSERT_TRUE(settings) << settings.error().message;
  EXPECT_EQ(settings->region, "eu-west-1");
  EXPECT_EQ(settings->cluster, "tempo-voice-cluster");
  EXPECT_EQ(settings->private_subnets,
            (std::vector<std::string>{"subnet-0123456789abcdef0", "subnet-89abcdef"}));
  EXPECT_EQ(settings->security_groups, std::vector<std::string>{"sg-0123abcd"});
  EXPECT_EQ(settings->image_repository, "tempo-voice-agents");
  EXPECT_EQ(settings->log_group, "/ecs/tempo-agents") << "the default stays";
  EXPECT_TRUE(ValidateEcsSettings(*settings)) << ValidateEcsSettings(*settings).error().message;
}

TEST(EcsSettings, PlainObjectsAndFlagsToo) {
  auto settings = ParseEcsSettings(R"({"region": "us-east-1", "image_tag": "2026.12.1"})");
  ASSERT_TRUE(settings);
  EXPECT_EQ(settings->region, "us-east-1");
  ASSERT_TRUE(SetEcsSetting(*settings, "private_subnet_ids", "subnet-11111111, subnet-22222222,"));
  EXPECT_EQ(settings->private_subnets,
            (std::vector<std::string>{"subnet-11111111", "subnet-22222222"}));
  ASSERT_TRUE(SetEcsSetting(*settings, "cluster_name", "c1"));
  EXPECT_EQ(settings->cluster, "c1");
  auto unknown = SetEcsSetting(*settings, "clustr", "c1");
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown ECS setting 'clustr'"));
}

TEST(EcsSettings, MissingSettingsAreNamedTogether) {
  auto settings = ParseEcsSettings(R"({"region": {"value": "eu-west-1"}})");
  ASSERT_TRUE(settings);
  auto checked = ValidateEcsSettings(*settings);
  ASSERT_FALSE(checked);
  EXPECT_THAT(checked.error().message,
              HasSubstr("missing: cluster_name, listener_arn, vpc_id, private_subnet_ids, "
                        "task_security_group_ids, execution_role_arn, task_role_arn, "
                        "ecr_repository_name, image_tag"));
}

TEST(EcsSettings, EachMalformedSettingIsNamed) {
  const auto good = *ParseEcsSettings(kTerraformOutput);
  struct Case {
    std::string name;
    std::string value;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"region", "europe", "is not an AWS region"},
      {"cluster_name", "tempo cluster", "is not an ECS cluster name or ARN"},
      {"listener_arn", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/1",
       "is not the ARN of an application load balancer's listener"},
      {"listener_arn", "arn:aws:iam::123456789012:role/x", "listener"},
      {"vpc_id", "vpc-xyz", "is not a VPC id"},
      {"private_subnet_ids", "subnet-0123456789abcdef0,sg-01234567", "is not a subnet id"},
      {"task_security_group_ids", "sg-0123", "is not a security group id"},
      {"execution_role_arn", "ecsTaskExecutionRole", "is not an IAM role ARN"},
      {"task_role_arn", "arn:aws:iam::1234:role/x", "is not an IAM role ARN"},
      {"ecr_repository_name", "Tempo_Agents", "is not an ECR repository name"},
      {"image_tag", "latest", "agents are pinned to one image"},
      {"image_tag", "-v1", "is not an image tag"},
      {"log_group_name", "logs with spaces", "is not a log group name"},
      {"public_url", "voice.example.com", "is not an http(s) URL"},
  };
  for (const auto& c : cases) {
    auto settings = good;
    ASSERT_TRUE(SetEcsSetting(settings, c.name, c.value));
    auto checked = ValidateEcsSettings(settings);
    ASSERT_FALSE(checked) << c.name << "=" << c.value;
    EXPECT_THAT(checked.error().message, HasSubstr("ECS setting " + c.name)) << c.value;
    EXPECT_THAT(checked.error().message, HasSubstr(c.expected)) << c.name << "=" << c.value;
  }
}

TEST(EcsSettings, NotJsonOrWrongTypesAreClearErrors) {
  EXPECT_THAT(ParseEcsSettings("{").error().message, HasSubstr("not a JSON object"));
  EXPECT_THAT(ParseEcsSettings(R"({"private_subnet_ids": "subnet-11111111"})").error().message,
              HasSubstr("private_subnet_ids: expected a list of strings"));
  EXPECT_THAT(ParseEcsSettings(R"({"region": {"value": 3}})").error().message,
              HasSubstr("region: expected a string"));
}

}  // namespace
}  // namespace tempo::deploy
