#include "tempo/engine/echo_engine.hpp"
#include "tempo/runtime/runtime.hpp"
#include "tempo/twilio/signature.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tempo::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class WebhookTest : public ::testing::Test {
 protected:
  WebhookTest() {
    store_ = std::move(*storage::OpenFsStore(std::filesystem::temp_directory_path() /
                                             fmt::format("tempo-webhook-{}", getpid())));
    agent::AgentConfig a;
    a.agent_id = AgentId("a1");
    a.agent_name = "A1";
    a.engine = "echo";
    a.twilio_auth_token = TwilioAuthToken("12345");
    agents_.Put(a);
    a.agent_id = AgentId("off");
    a.enabled = false;
    agents_.Put(a);
    RuntimeOptions options;
    options.public_url = "https://agent.example.com";
    runtime_ = std::make_unique<Runtime>(options, agents_, engines_, *store_, clock_,
                                         [](std::function<void()> fn) { fn(); });
    runtime_->AddRoutes(router_);
  }

  net::Response Post(const std::string& target, const twilio::FormParams& params,
                     std::optional<std::string> signature) {
    net::Request r;
    r.method = net::Method::kPost;
    r.target = target;
    r.path = target.substr(0, target.find('?'));
    if (target.find('?') != std::string::npos) r.query = target.substr(target.find('?') + 1);
    r.body = twilio::FormEncode(params);
    if (signature) r.headers.Add("X-Twilio-Signature", *signature);
    auto match = router_.Find(net::Method::kPost, r.path, false);
    EXPECT_EQ(match.kind, net::Router::Match::Kind::kHandler);
    r.path_params = match.params;
    return (*match.sync)(r);
  }
  std::string Sign(const std::string& target, const twilio::FormParams& params) {
    return twilio::ComputeSignature(TwilioAuthToken("12345"), "https://agent.example.com" + target,
                                    params);
  }

  FakeClock clock_;
  std::unique_ptr<storage::ObjectStore> store_;
  MemoryAgentDirectory agents_;
  engine::EngineRegistry engines_;
  std::unique_ptr<Runtime> runtime_;
  net::Router router_;
  const twilio::FormParams params_ = {{"AccountSid", "AC1"},     {"CallSid", "CA1"},
                                      {"From", "+14155550100"},  {"To", "+14155550199"},
                                      {"CallStatus", "ringing"}, {"Direction", "inbound"}};
};

TEST_F(WebhookTest, SignedIncomingCallConnectsTheMediaStream) {
  const std::string target = "/agent/a1/incoming-call";
  const auto r = Post(target, params_, Sign(target, params_));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Find("Content-Type").value_or(""), "text/xml; charset=utf-8");
  EXPECT_THAT(r.body,
              HasSubstr(R"(<Connect action="https://agent.example.com/agent/a1/call-ended">)"));
  EXPECT_THAT(r.body, HasSubstr(R"(<Stream url="wss://agent.example.com/agent/a1/media-stream">)"));
  EXPECT_THAT(r.body, HasSubstr(R"(<Parameter name="callSid" value="CA1"/>)"));
  EXPECT_THAT(r.body, HasSubstr(R"(<Parameter name="from" value="+14155550100"/>)"));
  // The stream may now start for this call, once.
  EXPECT_TRUE(runtime_->ClaimCall(AgentId("a1"), CallSid("CA1")));
  EXPECT_FALSE(runtime_->ClaimCall(AgentId("a1"), CallSid("CA1")));
}

TEST_F(WebhookTest, ForgedOrMissingSignaturesAreRefused) {
  const std::string target = "/agent/a1/incoming-call";
  EXPECT_EQ(Post(target, params_, std::nullopt).status, 403);
  EXPECT_EQ(Post(target, params_, "RSOYDt4T1cUTdK1PDd93/VVr8B8=").status, 403);
  auto tampered = params_;
  tampered[2].second = "+19995550000";
  EXPECT_EQ(Post(target, tampered, Sign(target, params_)).status, 403);
  EXPECT_FALSE(runtime_->ClaimCall(AgentId("a1"), CallSid("CA1")));
}

TEST_F(WebhookTest, UnknownAndDisabledAgentsGetAPoliteGoodbye) {
  auto r = Post("/agent/nobody/incoming-call", params_, "x");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body,
              HasSubstr("<Say>Sorry, this number is not in service. Goodbye.</Say><Hangup/>"));
  r = Post("/agent/off/incoming-call", params_, Sign("/agent/off/incoming-call", params_));
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr("<Hangup/>"));
  EXPECT_THAT(r.body, Not(HasSubstr("<Connect")));
}

TEST_F(WebhookTest, CallEndedAnswersTheNextStep) {
  const std::string target = "/agent/a1/call-ended";
  auto r = Post(target, params_, Sign(target, params_));
  EXPECT_THAT(r.body, HasSubstr("<Hangup/>"));

  runtime_->SetNextStep(CallSid("CA1"), {NextStep::Kind::kDial, "Connecting you.", "+14155550101"});
  r = Post(target, params_, Sign(target, params_));
  EXPECT_THAT(r.body, HasSubstr("<Say>Connecting you.</Say><Dial"));
  EXPECT_THAT(r.body, HasSubstr("<Number>+14155550101</Number>"));
  EXPECT_THAT(r.body, HasSubstr("call-ended?step=dial-done"));

  // A transfer nobody answered falls back to voicemail.
  auto failed = params_;
  failed.emplace_back("DialCallStatus", "no-answer");
  const std::string dial_done = target + "?step=dial-done";
  r = Post(dial_done, failed, Sign(dial_done, failed));
  EXPECT_THAT(r.body, HasSubstr("<Record"));
  EXPECT_EQ(Post(target, params_, "forged").status, 403);
}

}  // namespace
}  // namespace tempo::runtime
