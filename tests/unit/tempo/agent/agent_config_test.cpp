#include "tempo/agent/agent_config.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

namespace tempo::agent {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;

nlohmann::json ValidJson() {
  return {
      {"agentId", "bright-smile-dental"},
      {"agentName", "Bright Smile Dental"},
      {"prompt", "You are the receptionist."},
      {"knowledgeBase",
       {{{"question", "When are you open?"}, {"answer", "Nine to five, Monday to Friday."}}}},
      {"callPhoneNumber", "+14155550100"},
      {"transferPhoneNumber", "+14155550101"},
      {"twilioAccountSid", "AC0123456789abcdef0123456789abcdef"},
      {"twilioAuthToken", "s3cr3t-t0ken"},
      {"maxSessionDuration", 600},
      {"enableRecording", "true"},
  };
}

std::vector<FieldError> ErrorsOf(const nlohmann::json& j) {
  std::vector<FieldError> errors;
  EXPECT_FALSE(FromJson(j, Unknown::kReject, &errors));
  return errors;
}

TEST(AgentConfig, ReadsTheSeedFields) {
  auto c = FromJson(ValidJson());
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->agent_id.str(), "bright-smile-dental");
  EXPECT_EQ(c->knowledge_base.size(), 1u);
  EXPECT_EQ(c->knowledge_base[0].answer, "Nine to five, Monday to Friday.");
  EXPECT_EQ(c->max_session_duration, 600);
  EXPECT_TRUE(c->enable_recording);
  EXPECT_EQ(c->twilio_auth_token.Reveal(), "s3cr3t-t0ken");
  EXPECT_EQ(c->ClosingLine(), "Thank you for calling Bright Smile Dental. Have a great day!");
}

TEST(AgentConfig, ReportsEveryBadFieldByName) {
  auto j = ValidJson();
  j["agentId"] = "Bad_ID";
  j["callPhoneNumber"] = "555-0100";
  j["webhookEndpoint"] = "ftp://example.com";
  j["maxSessionDuration"] = 5;
  j["twilioAccountSid"] = "AC123";
  j["sipEndpoint"] = "example.com";
  j["awsRegion"] = "mars";
  const auto errors = ErrorsOf(j);
  for (const char* field : {"agentId", "callPhoneNumber", "webhookEndpoint", "maxSessionDuration",
                            "twilioAccountSid", "sipEndpoint", "awsRegion"}) {
    EXPECT_THAT(errors, Contains(Field(&FieldError::field, field))) << field;
  }
  EXPECT_EQ(errors.size(), 7u);
}

TEST(AgentConfig, TypeErrorsAndUnknownFields) {
  auto j = ValidJson();
  j["agentName"] = 42;
  j["maxConversationLength"] = "many";
  j["favouriteColour"] = "blue";
  const auto errors = ErrorsOf(j);
  EXPECT_THAT(errors, Contains(FieldError{"agentName", "must be a string"}));
  EXPECT_THAT(errors, Contains(FieldError{"maxConversationLength", "must be a whole number"}));
  EXPECT_THAT(errors, Contains(FieldError{"favouriteColour", "is not a known field"}));
  EXPECT_TRUE(FromJson(j.erase("favouriteColour"), Unknown::kIgnore).has_error());
}

TEST(AgentConfig, AgentIdMustMakeAValidBucketName) {
  EXPECT_TRUE(IsValidAgentId("abc"));
  EXPECT_TRUE(IsValidAgentId("agent-123"));
  EXPECT_FALSE(IsValidAgentId("ab"));
  EXPECT_FALSE(IsValidAgentId("-abc"));
  EXPECT_FALSE(IsValidAgentId("abc-"));
  EXPECT_FALSE(IsValidAgentId("a--b"));
  EXPECT_FALSE(IsValidAgentId("ABC"));
  EXPECT_FALSE(IsValidAgentId("a.b.c"));
  EXPECT_FALSE(IsValidAgentId(std::string(40, 'a')));  // 24 + 40 > 63
  EXPECT_TRUE(IsValidAgentId(std::string(39, 'a')));
}

TEST(AgentConfig, E164) {
  EXPECT_TRUE(IsE164("+14155550100"));
  EXPECT_FALSE(IsE164("14155550100"));
  EXPECT_FALSE(IsE164("+0415555"));
  EXPECT_FALSE(IsE164("+1415555010a"));
  EXPECT_FALSE(IsE164("+1234567890123456"));
}

TEST(AgentConfig, JsonRoundTripKeepsSecretsOnlyWhenAsked) {
  auto c = FromJson(ValidJson());
  ASSERT_TRUE(c);
  const auto public_json = ToJson(*c);
  EXPECT_FALSE(public_json.contains("twilioAuthToken"));
  EXPECT_TRUE(public_json["twilioAuthTokenSet"].get<bool>());
  EXPECT_EQ(public_json.dump().find("s3cr3t-t0ken"), std::string::npos);
  auto back = FromJson(ToJson(*c, Secrets::kInclude));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, *c);
}

TEST(AgentConfig, KnowledgeBaseAsFreeText) {
  auto j = ValidJson();
  j["knowledgeBase"] = "We are at 12 Main Street.\n\nParking is free.\n";
  auto c = FromJson(j);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->knowledge_base.size(), 2u);
  EXPECT_EQ(c->knowledge_base[1].answer, "Parking is free.");
}

TEST(AgentConfig, FromTheSeedEnvironment) {
  std::map<std::string, std::string, std::less<>> env = {
      {"AGENT_ID", "agent-123"},
      {"AGENT_NAME", "Acme"},
      {"AGENT_GUARDRAILS", R"(["Never give medical advice"])"},
      {"AGENT_KNOWLEDGE_BASE", R"([{"question":"Hours?","answer":"9-5"}])"},
      {"ENABLE_RECORDING", "false"},
      {"MAX_CONVERSATION_LENGTH", "20"},
      {"MAKE_ENDPOINT", ""},
  };
  auto getenv = [&](std::string_view k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto c = FromEnvironment(getenv);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->guardrails, std::vector<std::string>{"Never give medical advice"});
  EXPECT_EQ(c->knowledge_base[0].question, "Hours?");
  EXPECT_FALSE(c->enable_recording);
  EXPECT_EQ(c->max_conversation_length, 20);

  env["MAX_SESSION_DURATION"] = "forever";
  auto bad = FromEnvironment(getenv);
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("MAX_SESSION_DURATION must be a whole number"));
}

// What a deployer puts in a container's environment reads back as the same agent, once the
// secrets the environment leaves out come from the secret store.
TEST(AgentConfig, ToEnvironmentReadsBackAsTheSameAgentWithoutItsSecrets) {
  auto j = ValidJson();
  j["guardrails"] = {"Never give medical advice", "Say \"sorry\" once"};
  j["enableTranscription"] = false;
  j["makeEndpoint"] = "https://hook.eu1.make.com/abc";
  j["twilioApiSecret"] = "api-s3cret";
  auto config = FromJson(j);
  ASSERT_TRUE(config) << config.error().message;
  const auto env = ToEnvironment(*config);
  std::map<std::string, std::string, std::less<>> vars(env.begin(), env.end());
  EXPECT_EQ(vars.size(), env.size()) << "each variable once";
  for (const auto& f : EnvironmentFields()) {
    EXPECT_EQ(vars.contains(f.env), !IsSecretEnvironment(f.env)) << f.env;
  }
  EXPECT_EQ(env.front().first, "AGENT_ID") << "the seed's order";
  EXPECT_EQ(vars["ENABLE_TRANSCRIPTION"], "false");
  EXPECT_EQ(vars["MAX_SESSION_DURATION"], "600");
  EXPECT_EQ(vars["TRANSFER_PHONE_NUMBER"], "+14155550101");
  EXPECT_EQ(vars["SUMMARY_PHONE_NUMBER"], "");
  for (const auto& [name, value] : env) {
    EXPECT_EQ(value.find("s3cr3t"), std::string::npos) << name;
  }

  vars["TWILIO_AUTH_TOKEN"] = "s3cr3t-t0ken";
  vars["TWILIO_API_SECRET"] = "api-s3cret";
  auto back = FromEnvironment([&](std::string_view k) -> std::optional<std::string> {
    auto it = vars.find(k);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, *config);
}

nlohmann::json ValidJsonWith(const nlohmann::json& changes) {
  auto j = ValidJson();
  j.update(changes);
  return j;
}

TEST(AgentConfig, FargateSizesAndTaskCountsAreChecked) {
  auto c = FromJson(ValidJson());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->fargate_cpu, 256);
  EXPECT_EQ(c->fargate_memory, 512);
  EXPECT_FALSE(c->fargate_spot);
  EXPECT_EQ(c->min_tasks, 1);
  auto j = ValidJson();
  j["fargateCpu"] = 1024;
  j["fargateMemory"] = 4096;
  j["fargateSpot"] = true;
  j["minTasks"] = 2;
  j["maxTasks"] = 6;
  j["callsPerTask"] = 40;
  auto sized = FromJson(j);
  ASSERT_TRUE(sized) << sized.error().message;
  EXPECT_TRUE(sized->fargate_spot);
  EXPECT_EQ(ToJson(*sized)["maxTasks"], 6);
  EXPECT_EQ(*FromJson(ToJson(*sized, Secrets::kInclude)), *sized) << "round trip";

  EXPECT_THAT(ErrorsOf(ValidJsonWith({{"fargateCpu", 300}})),
              Contains(Field(&FieldError::field, "fargateCpu")));
  EXPECT_THAT(ErrorsOf(ValidJsonWith({{"fargateMemory", 4096}})),
              Contains(Field(&FieldError::field, "fargateMemory")))
      << "256 CPU units go up to 2 GiB";
  EXPECT_THAT(ErrorsOf(ValidJsonWith({{"fargateCpu", 512}, {"fargateMemory", 1536}})),
              Contains(Field(&FieldError::field, "fargateMemory")))
      << "whole GiB";
  EXPECT_THAT(ErrorsOf(ValidJsonWith({{"minTasks", 3}, {"maxTasks", 2}})),
              Contains(Field(&FieldError::field, "maxTasks")));
  EXPECT_THAT(ErrorsOf(ValidJsonWith({{"minTasks", 0}})),
              Contains(Field(&FieldError::field, "minTasks")));
  EXPECT_TRUE(IsFargateSize(4096, 30720));
  EXPECT_FALSE(IsFargateSize(4096, 31744));
}

TEST(AgentConfig, NotJsonIsAClearError) {
  std::vector<FieldError> errors;
  EXPECT_FALSE(FromJsonText("{not json", Unknown::kReject, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0].message, HasSubstr("not valid JSON"));
}

}  // namespace
}  // namespace tempo::agent
