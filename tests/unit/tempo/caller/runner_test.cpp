#include "tempo/caller/runner.hpp"

#include "tempo/net/router.hpp"
#include "tempo/net/server.hpp"
#include "tempo/twilio/ids.hpp"
#include "tempo/twilio/media_stream.hpp"
#include "tempo/twilio/signature.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace tempo::caller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const TwilioAuthToken kToken("test-token");

/// What the fake agent does on its media stream.
enum class AgentBehaviour {
  kGreetThenEndCall,  ///< 200 ms of audio + a mark; closes the socket once the mark comes back
  kListen,            ///< says nothing; waits for the caller to hang up
  kEcho,              ///< sends every caller frame back (a load-test agent)
};

/// The server side of a call, as the runtime plays it: signed webhook -> <Connect><Stream>,
/// signed upgrade, media/mark, close, then the <Connect action>.
class FakeAgent {
 public:
  explicit FakeAgent(AgentBehaviour behaviour) : behaviour_(behaviour) {
    router_.Add(net::Method::kPost, "/agent/a1/incoming-call", [this](const net::Request& req) {
      if (!Verify(req, "/agent/a1/incoming-call")) return net::Response::Text(403, "forbidden");
      ++webhooks;
      std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect action=\"" +
                        Base("http") + "/agent/a1/call-ended\"><Stream url=\"" + Base("ws") +
                        "/agent/a1/media-stream\"><Parameter name=\"agentId\" value=\"a1\"/>"
                        "</Stream></Connect></Response>";
      net::Response res = net::Response::Text(200, xml);
      res.headers.Set("Content-Type", "text/xml");
      return res;
    });
    router_.Add(net::Method::kPost, "/agent/a1/call-ended", [this](const net::Request& req) {
      if (!Verify(req, "/agent/a1/call-ended")) return net::Response::Text(403, "forbidden");
      auto form = twilio::ParseForm(req.body);
      for (const auto& [k, v] : *form) {
        if (k == "CallStatus") call_status_at_action = v;
      }
      return net::Response::Text(
          200,
          "<Response><Say>Transferring you</Say><Dial><Number>+15550199</Number></Dial>"
          "</Response>");
    });
    router_.AddWebSocket("/agent/a1/media-stream", [this](const net::Request& req,
                                                          std::shared_ptr<net::WebSocket> socket) {
      const auto sig = req.headers.Find("X-Twilio-Signature");
      if (!sig ||
          !twilio::ValidateRequest(kToken, Base("ws") + "/agent/a1/media-stream", {}, *sig)) {
        return net::UpgradeDecision(net::Response::Text(403, "bad signature"));
      }
      return net::UpgradeDecision(std::make_shared<StreamListener>(*this, socket));
    });
    net::ServerOptions options;
    options.port = 0;
    options.threads = 1;
    options.handle_signals = false;
    server_ = std::make_unique<net::Server>(options, router_);
    EXPECT_TRUE(server_->Listen().has_value());
    thread_ = std::thread([this] { (void)server_->Run(); });
  }

  ~FakeAgent() {
    server_->Stop();
    thread_.join();
  }

  std::string Base(std::string_view scheme) const {
    return fmt::format("{}://127.0.0.1:{}", scheme, server_->port());
  }

  std::atomic<int> webhooks{0};
  std::atomic<int> streams{0};
  std::atomic<int> stops{0};
  std::atomic<int> caller_frames{0};
  std::mutex mutex;
  std::string call_status_at_action;
  std::map<std::string, std::string> custom_parameters;
  std::vector<std::string> errors;

 private:
  bool Verify(const net::Request& req, std::string_view path) {
    auto form = twilio::ParseForm(req.body);
    const auto sig = req.headers.Find("X-Twilio-Signature");
    return form && sig &&
           twilio::ValidateRequest(kToken, Base("http") + std::string(path), *form, *sig);
  }

  class StreamListener : public net::WebSocketListener {
   public:
    StreamListener(FakeAgent& agent, std::shared_ptr<net::WebSocket> socket)
        : agent_(agent), socket_(std::move(socket)) {
      ++agent_.streams;
    }
    void OnText(std::string_view text) override {
      auto event = twilio::ParseInbound(text);
      if (!event) {
        std::lock_guard lock(agent_.mutex);
        agent_.errors.push_back(event.error().message);
        return;
      }
      if (auto* start = std::get_if<twilio::StartMessage>(&*event)) {
        sid_ = start->stream_sid;
        {
          std::lock_guard lock(agent_.mutex);
          agent_.custom_parameters = start->custom_parameters;
        }
        if (agent_.behaviour_ == AgentBehaviour::kGreetThenEndCall) {
          for (int i = 0; i < 10; ++i) {
            socket_->SendText(
                twilio::Serialize(twilio::OutboundMedia{sid_, std::vector<uint8_t>(160, 0x11)}));
          }
          socket_->SendText(twilio::Serialize(twilio::OutboundMark{sid_, "greeting"}));
        }
      } else if (auto* media = std::get_if<twilio::MediaMessage>(&*event)) {
        ++agent_.caller_frames;
        if (agent_.behaviour_ == AgentBehaviour::kEcho) {
          socket_->SendText(twilio::Serialize(twilio::OutboundMedia{sid_, media->payload}));
        }
      } else if (auto* mark = std::get_if<twilio::MarkMessage>(&*event)) {
        if (mark->name == "greeting") socket_->Close(1000, "end_call");
      } else if (std::holds_alternative<twilio::StopMessage>(*event)) {
        ++agent_.stops;
      }
    }
    void OnBinary(std::string_view) override {}
    void OnClose(const net::CloseInfo&) override { socket_.reset(); }

   private:
    FakeAgent& agent_;
    std::shared_ptr<net::WebSocket> socket_;
    StreamSid sid_;
  };

  AgentBehaviour behaviour_;
  net::Router router_;
  std::unique_ptr<net::Server> server_;
  std::thread thread_;
};

CallConfig Config(const FakeAgent& agent) {
  CallConfig config;
  config.webhook_url = agent.Base("http") + "/agent/a1/incoming-call";
  config.auth_token = kToken;
  config.identity.account_sid = AccountSid("AC0123456789abcdef0123456789abcdef");
  config.identity.from = "+15550100";
  config.identity.to = "+15550111";
  config.session.greeting_timeout = std::chrono::milliseconds(100);
  config.session.reply_timeout = std::chrono::milliseconds(500);
  config.session.reply_quiet = std::chrono::milliseconds(100);
  config.session.max_duration = std::chrono::seconds(20);
  return config;
}

TEST(RunCallTest, FollowsTheServerCloseToTheConnectActionAndTheTransfer) {
  FakeAgent agent(AgentBehaviour::kGreetThenEndCall);
  auto config = Config(agent);
  config.session.reply_quiet = std::chrono::seconds(5);  // the agent ends the call first
  CallReport report = RunCall(config);
  EXPECT_EQ(report.outcome, CallOutcome::kTransferred) << report.error;
  EXPECT_EQ(report.transfer_target, "+15550199");
  ASSERT_EQ(report.verbs.size(), 3U);
  EXPECT_THAT(report.verbs[0], StartsWith("Connect Stream ws://"));
  EXPECT_EQ(report.verbs[1], "Say \"Transferring you\"");
  EXPECT_EQ(report.verbs[2], "Dial number:+15550199");
  EXPECT_TRUE(report.stream_opened);
  EXPECT_TRUE(report.stream_closed_by_server);
  EXPECT_EQ(report.close_code, 1000);
  EXPECT_EQ(report.stats.media_received, 10U);
  EXPECT_EQ(report.stats.marks_received, 1U);
  EXPECT_EQ(report.stats.marks_echoed, 1U);
  EXPECT_DOUBLE_EQ(report.agent_audio_s, 0.2);
  EXPECT_TRUE(report.violations.empty());
  EXPECT_TRUE(twilio::IsSid(report.call_sid, twilio::SidKind::kCall));
  EXPECT_TRUE(twilio::IsSid(report.stream_sid, twilio::SidKind::kStream));
  std::lock_guard lock(agent.mutex);
  EXPECT_EQ(agent.call_status_at_action, "in-progress");
  EXPECT_EQ(agent.custom_parameters["agentId"], "a1");
  EXPECT_TRUE(agent.errors.empty()) << agent.errors.front();
}

TEST(RunCallTest, CallerHangsUpWithStopAndRecords) {
  FakeAgent agent(AgentBehaviour::kEcho);
  auto config = Config(agent);
  config.session.hangup_after = std::chrono::milliseconds(300);
  config.session.greeting_timeout = std::chrono::seconds(10);
  const auto path = std::filesystem::temp_directory_path() /
                    ("caller_test_" + std::to_string(::getpid()) + ".wav");
  config.record_stereo = path;
  CallReport report = RunCall(config);
  EXPECT_EQ(report.outcome, CallOutcome::kCallerHungUp) << report.error;
  EXPECT_EQ(report.hangup_reason, "hangup_after");
  EXPECT_FALSE(report.stream_closed_by_server);
  EXPECT_GT(report.stats.frames_sent, 0U);
  EXPECT_EQ(agent.stops.load(), 1);
  EXPECT_EQ(agent.caller_frames.load(), static_cast<int>(report.stats.frames_sent));
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_GT(std::filesystem::file_size(path), 44U);
  std::filesystem::remove(path);
}

// The stream opened but the agent never said a word before the caller gave up: the caller
// heard nothing, so the call failed (issue #26: an honest load generator).
TEST(RunCallTest, ACallThatNeverHeardTheAgentFails) {
  FakeAgent agent(AgentBehaviour::kListen);
  auto config = Config(agent);
  config.session.hangup_after = std::chrono::milliseconds(300);
  config.session.greeting_timeout = std::chrono::seconds(10);
  CallReport report = RunCall(config);
  EXPECT_TRUE(report.stream_opened);
  EXPECT_EQ(report.outcome, CallOutcome::kFailed);
  EXPECT_EQ(report.error, "media stream: no agent audio before the call ended");
  EXPECT_EQ(agent.stops.load(), 1);  // it still hung up properly
}

TEST(RunCallTest, AForgedSignatureIsRefused) {
  FakeAgent agent(AgentBehaviour::kListen);
  auto config = Config(agent);
  config.auth_token = TwilioAuthToken("wrong-token");
  CallReport report = RunCall(config);
  EXPECT_EQ(report.outcome, CallOutcome::kFailed);
  EXPECT_THAT(report.error, HasSubstr("HTTP 403"));
  EXPECT_EQ(agent.webhooks.load(), 0);
}

TEST(RunCallTest, UnreachableServerFails) {
  CallConfig config;
  config.webhook_url = "http://127.0.0.1:1/agent/a1/incoming-call";
  config.auth_token = kToken;
  CallReport report = RunCall(config);
  EXPECT_EQ(report.outcome, CallOutcome::kFailed);
  EXPECT_THAT(report.error, HasSubstr("failed"));
}

TEST(RunLoadTest, RunsConcurrentCallsAndMeasuresTheAgentsFrames) {
  FakeAgent agent(AgentBehaviour::kEcho);
  LoadConfig load;
  load.call = Config(agent);
  load.call.session.script.repeat = CallerScript::Repeat::kLoop;
  load.call.session.script.turns = {
      CallerTurn(std::make_shared<const std::vector<uint8_t>>(1600, uint8_t{0x20}))};
  load.calls = 8;
  load.duration = std::chrono::milliseconds(800);
  load.ramp = std::chrono::milliseconds(200);
  load.threads = 1;
  LoadReport report = RunLoad(load);
  EXPECT_EQ(report.calls_started, 8U);
  EXPECT_EQ(report.calls_streamed, 8U);
  EXPECT_EQ(report.calls_completed, 8U);
  EXPECT_EQ(report.calls_failed, 0U) << (report.errors.empty() ? "" : report.errors.begin()->first);
  EXPECT_EQ(agent.webhooks.load(), 8);
  EXPECT_EQ(agent.stops.load(), 8);
  EXPECT_GT(report.frames_received, 0U);
  EXPECT_EQ(report.latency.frames, report.frames_received);
  EXPECT_EQ(report.violations, 0U);
  EXPECT_EQ(report.outcomes["caller_hung_up"], 8U);
}

}  // namespace
}  // namespace tempo::caller
