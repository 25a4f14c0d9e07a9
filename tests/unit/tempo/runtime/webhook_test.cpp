#include "tempo/base/metrics.hpp"
#include "tempo/engine/echo_engine.hpp"
#include "tempo/runtime/runtime.hpp"
#include "tempo/twilio/signature.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>

namespace tempo::runtime {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kSid = "CA00000000000000000000000000000001";

/// Agents of organisations: the directory the control plane gives the runtime, in memory.
class OrgDirectory final : public AgentDirectory {
 public:
  MemoryAgentDirectory agents;
  std::map<AgentId, OrgId> orgs;
  [[nodiscard]] std::shared_ptr<const agent::AgentConfig> Find(const AgentId& id) const override {
    return agents.Find(id);
  }
  [[nodiscard]] std::vector<std::shared_ptr<const agent::AgentConfig>> List() const override {
    return agents.List();
  }
  [[nodiscard]] std::optional<OrgId> OrgOf(const AgentId& id) const override {
    const auto it = orgs.find(id);
    return it == orgs.end() ? std::nullopt : std::optional<OrgId>(it->second);
  }
};

std::string Sid(int n) { return fmt::format("CA{:032x}", n); }

class WebhookTest : public ::testing::Test {
 protected:
  explicit WebhookTest(RuntimeOptions options = {}) {
    store_ = std::move(*storage::OpenFsStore(std::filesystem::temp_directory_path() /
                                             fmt::format("tempo-webhook-{}", getpid())));
    agent::AgentConfig a;
    a.agent_id = AgentId("a1");
    a.agent_name = "A1";
    a.engine = "echo";
    a.twilio_auth_token = TwilioAuthToken("12345");
    agents_.agents.Put(a);
    a.agent_id = AgentId("b1");
    agents_.agents.Put(a);
    agents_.orgs[AgentId("a1")] = OrgId("org-a");
    agents_.orgs[AgentId("b1")] = OrgId("org-b");
    a.agent_id = AgentId("off");
    a.enabled = false;
    agents_.agents.Put(a);
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
  /// A signed incoming call for `agent` with call sid `sid`.
  net::Response Incoming(const std::string& agent, const std::string& sid) {
    auto params = params_;
    params[1].second = sid;
    const std::string target = "/agent/" + agent + "/incoming-call";
    return Post(target, params, Sign(target, params));
  }
  std::string Sign(const std::string& target, const twilio::FormParams& params) {
    return twilio::ComputeSignature(TwilioAuthToken("12345"), "https://agent.example.com" + target,
                                    params);
  }

  FakeClock clock_;
  std::unique_ptr<storage::ObjectStore> store_;
  OrgDirectory agents_;
  engine::EngineRegistry engines_;
  std::unique_ptr<Runtime> runtime_;
  net::Router router_;
  const twilio::FormParams params_ = {{"AccountSid", "AC00000000000000000000000000000001"},
                                      {"CallSid", kSid},
                                      {"From", "+14155550100"},
                                      {"To", "+14155550199"},
                                      {"CallStatus", "ringing"},
                                      {"Direction", "inbound"}};
};

TEST_F(WebhookTest, SignedIncomingCallConnectsTheMediaStream) {
  const std::string target = "/agent/a1/incoming-call";
  const auto r = Post(target, params_, Sign(target, params_));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Find("Content-Type").value_or(""), "text/xml; charset=utf-8");
  EXPECT_THAT(r.body,
              HasSubstr(R"(<Connect action="https://agent.example.com/agent/a1/call-ended">)"));
  EXPECT_THAT(r.body, HasSubstr(R"(<Stream url="wss://agent.example.com/agent/a1/media-stream">)"));
  EXPECT_THAT(
      r.body,
      HasSubstr(R"(<Parameter name="callSid" value="CA00000000000000000000000000000001"/>)"));
  EXPECT_THAT(r.body, HasSubstr(R"(<Parameter name="from" value="+14155550100"/>)"));
  // The stream may now start for this call, once.
  EXPECT_TRUE(runtime_->ClaimCall(AgentId("a1"), CallSid(kSid)));
  EXPECT_FALSE(runtime_->ClaimCall(AgentId("a1"), CallSid(kSid)));
}

TEST_F(WebhookTest, ForgedOrMissingSignaturesAreRefused) {
  const std::string target = "/agent/a1/incoming-call";
  EXPECT_EQ(Post(target, params_, std::nullopt).status, 403);
  EXPECT_EQ(Post(target, params_, "RSOYDt4T1cUTdK1PDd93/VVr8B8=").status, 403);
  auto tampered = params_;
  tampered[2].second = "+19995550000";
  EXPECT_EQ(Post(target, tampered, Sign(target, params_)).status, 403);
  EXPECT_FALSE(runtime_->ClaimCall(AgentId("a1"), CallSid(kSid)));
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

  runtime_->SetNextStep(CallSid(kSid), {NextStep::Kind::kDial, "Connecting you.", "+14155550101"});
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

TEST_F(WebhookTest, ACallSidThatIsNotTwiliosIsRefusedBeforeAnythingIsNamedAfterIt) {
  for (const std::string bad :
       {"../../../../../../tmp/x", "CA1", "CAforged", "", "CA0000000000000000000000000000000g",
        "CA00000000000000000000000000000001/..", "CA%2e%2e"}) {
    const auto r = Incoming("a1", bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_THAT(r.body, Not(HasSubstr("<Connect"))) << bad;
    EXPECT_FALSE(runtime_->ClaimCall(AgentId("a1"), CallSid(bad))) << bad;
  }
  // The action callback checks it as well.
  auto params = params_;
  params[1].second = "../x";
  const std::string target = "/agent/a1/call-ended";
  EXPECT_EQ(Post(target, params, Sign(target, params)).status, 400);
  // And so is a malformed AccountSid.
  params = params_;
  params[0].second = "AC../";
  EXPECT_EQ(Incoming("a1", kSid).status, 200);
  const std::string incoming = "/agent/a1/incoming-call";
  EXPECT_EQ(Post(incoming, params, Sign(incoming, params)).status, 400);
}

class LimitedWebhookTest : public WebhookTest {
 protected:
  static RuntimeOptions Limits() {
    RuntimeOptions o;
    o.max_calls_per_org = 2;
    o.max_pending_calls = 5;
    return o;
  }
  LimitedWebhookTest() : WebhookTest(Limits()) {}
};

TEST_F(LimitedWebhookTest, AnOrganisationOverItsLimitHearsBusyAndOthersStillConnect) {
  EXPECT_THAT(Incoming("a1", Sid(1)).body, HasSubstr("<Connect"));
  EXPECT_THAT(Incoming("a1", Sid(2)).body, HasSubstr("<Connect"));
  // A retried webhook for a call already answered is the same call, not a third one.
  EXPECT_THAT(Incoming("a1", Sid(2)).body, HasSubstr("<Connect"));
  const auto busy = Incoming("a1", Sid(3));
  EXPECT_EQ(busy.status, 200);
  EXPECT_THAT(busy.body, HasSubstr("all of our lines are busy"));
  EXPECT_THAT(busy.body, HasSubstr("<Hangup/>"));
  EXPECT_THAT(busy.body, Not(HasSubstr("<Connect")));
  EXPECT_FALSE(runtime_->ClaimCall(AgentId("a1"), CallSid(Sid(3))));
  // Another organisation is not affected.
  EXPECT_THAT(Incoming("b1", Sid(4)).body, HasSubstr("<Connect"));
  // A call that was answered but never streamed stops counting once it expires.
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_THAT(Incoming("a1", Sid(5)).body, HasSubstr("<Connect"));
  EXPECT_FALSE(runtime_->ClaimCall(AgentId("a1"), CallSid(Sid(1))));  // expired
  EXPECT_TRUE(runtime_->ClaimCall(AgentId("a1"), CallSid(Sid(5))));
}

TEST_F(LimitedWebhookTest, AnsweredCallsWaitingForTheirStreamAreBoundedServerWide) {
  // Five waiting calls across organisations fill the server's table; the sixth hears busy.
  EXPECT_THAT(Incoming("a1", Sid(1)).body, HasSubstr("<Connect"));
  EXPECT_THAT(Incoming("b1", Sid(2)).body, HasSubstr("<Connect"));
  EXPECT_THAT(Incoming("b1", Sid(3)).body, HasSubstr("<Connect"));
  EXPECT_EQ(runtime_->ExpectCall(AgentId("nobody"), CallSid(Sid(4)), "", ""), Admission::kAdmitted);
  EXPECT_EQ(runtime_->ExpectCall(AgentId("nobody"), CallSid(Sid(5)), "", ""), Admission::kAdmitted);
  EXPECT_EQ(runtime_->ExpectCall(AgentId("nobody"), CallSid(Sid(6)), "", ""),
            Admission::kServerAtLimit);
  EXPECT_THAT(Incoming("a1", Sid(7)).body, HasSubstr(R"(<Reject reason="busy"/>)"));
  // Claiming a call frees its place in the table.
  EXPECT_TRUE(runtime_->ClaimCall(AgentId("b1"), CallSid(Sid(2))));
  EXPECT_THAT(Incoming("a1", Sid(8)).body, HasSubstr("<Connect"));
}

class CapacityWebhookTest : public WebhookTest {
 protected:
  static RuntimeOptions Limits() {
    RuntimeOptions o;
    o.max_calls = 3;  // what the descriptors leave room for
    return o;
  }
  CapacityWebhookTest() : WebhookTest(Limits()) {}
};

TEST_F(CapacityWebhookTest, PastTheServersCapacityEveryNewCallHearsBusyAtOnce) {
  EXPECT_THAT(Incoming("a1", Sid(1)).body, HasSubstr("<Connect"));
  EXPECT_THAT(Incoming("b1", Sid(2)).body, HasSubstr("<Connect"));
  EXPECT_THAT(metrics::Registry::Global().RenderPrometheus(),
              HasSubstr("tempo_calls_headroom 1\n"));
  EXPECT_EQ(runtime_->ExpectCall(AgentId("nobody"), CallSid(Sid(3)), "", ""), Admission::kAdmitted);
  EXPECT_THAT(metrics::Registry::Global().RenderPrometheus(),
              HasSubstr("tempo_calls_headroom 0\n"));
  // Full, whichever organisation (or none) calls: busy, never a call that then runs short.
  EXPECT_EQ(runtime_->ExpectCall(AgentId("nobody"), CallSid(Sid(4)), "", ""),
            Admission::kServerAtLimit);
  const auto busy = Incoming("b1", Sid(5));
  EXPECT_EQ(busy.status, 200);
  EXPECT_THAT(busy.body, HasSubstr(R"(<Reject reason="busy"/>)")) << "a busy signal, not answered";
  EXPECT_THAT(busy.body, Not(HasSubstr("<Connect")));
  // A retried webhook of an admitted call is still that call.
  EXPECT_THAT(Incoming("a1", Sid(1)).body, HasSubstr("<Connect"));
  // Answered calls whose stream never came stop counting once they expire.
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_THAT(Incoming("b1", Sid(6)).body, HasSubstr("<Connect"));
}

class MemoryWebhookTest : public WebhookTest {
 protected:
  static RuntimeOptions Limits(std::shared_ptr<std::atomic<bool>> low) {
    RuntimeOptions o;
    o.memory_low = [low] { return low->load(); };
    return o;
  }
  MemoryWebhookTest() : WebhookTest(Limits(low_)) {}
  // Constructed before the base (a base class's argument): a static keeps it simple.
  static inline std::shared_ptr<std::atomic<bool>> low_ = std::make_shared<std::atomic<bool>>();
};

TEST_F(MemoryWebhookTest, UnderTheMemoryFloorNewCallsHearBusyAndRetriesKeepTheirCall) {
  low_->store(false);
  EXPECT_THAT(Incoming("a1", Sid(1)).body, HasSubstr("<Connect"));
  low_->store(true);
  const auto busy = Incoming("b1", Sid(2));
  EXPECT_THAT(busy.body, HasSubstr(R"(<Reject reason="busy"/>)"));
  EXPECT_THAT(busy.body, Not(HasSubstr("<Connect")));
  EXPECT_THAT(Incoming("a1", Sid(1)).body, HasSubstr("<Connect"));  // already answered
  EXPECT_THAT(metrics::Registry::Global().RenderPrometheus(),
              HasSubstr(R"(tempo_calls_refused_total{reason="memory_low"})"));
  low_->store(false);
  EXPECT_THAT(Incoming("b1", Sid(3)).body, HasSubstr("<Connect"));
}

}  // namespace
}  // namespace tempo::runtime
