// The nova_sonic engine holds a call with the Bedrock emulator (tests/fakes/bedrock): it greets
// first, hears the caller's speech, calls a tool and speaks its answer, with transcripts of
// both roles and 24 kHz audio. The session runs on a real executor, as in a call.
#include "tempo/engine/nova_sonic/nova_engine.hpp"
#include "tempo/net/client.hpp"

#include "support/bedrock.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tempo::engine::nova {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class Recorder final : public SessionObserver {
 public:
  void OnAudio(std::span<const int16_t> pcm) override {
    Note([&] { samples += pcm.size(); });
  }
  void OnTranscript(const Transcript& t) override {
    Note([&] {
      if (t.is_final)
        finals.push_back(std::string(t.role == Role::kCaller ? "caller" : "agent") + ": " + t.text);
    });
  }
  void OnToolCall(const ToolCall& call) override {
    Note([&] { tools.push_back(call); });
  }
  void OnInterrupted() override {
    Note([&] { ++interruptions; });
  }
  void OnAgentTurnEnd() override {
    Note([&] { ++turn_ends; });
  }
  void OnError(const Error& error) override {
    Note([&] { errors.push_back(error.message); });
  }

  template <class Pred>
  bool WaitFor(Pred done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 15s, [&] { return done() || !errors.empty(); }) && errors.empty();
  }
  bool HasFinal(const std::string& line) {
    return std::find(finals.begin(), finals.end(), line) != finals.end();
  }

  std::mutex mutex;
  std::condition_variable changed;
  size_t samples = 0;
  std::vector<std::string> finals;
  std::vector<ToolCall> tools;
  int interruptions = 0;
  int turn_ends = 0;
  std::vector<std::string> errors;

 private:
  template <class F>
  void Note(F f) {
    std::lock_guard lock(mutex);
    f();
    changed.notify_all();
  }
};

// 20 ms of 16 kHz caller audio: a voiced tone or silence.
std::vector<int16_t> Frame(bool voiced, int n) {
  std::vector<int16_t> pcm(320);
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = voiced
                 ? static_cast<int16_t>(8000 * std::sin(2 * M_PI * 300 * (n * 320.0 + i) / 16000))
                 : 0;
  }
  return pcm;
}

NovaOptions At(const test_support::Emulator& emulator, aws::Credentials credentials) {
  NovaOptions options;
  options.target = {
      .host = "127.0.0.1", .port = static_cast<uint16_t>(emulator.port()), .tls = false};
  options.credentials = [credentials] { return Result<aws::Credentials>(credentials); };
  return options;
}

// A call's side of the session: a real executor (as a WebSocket's strand) and the observer.
struct Call {
  Call(SpeechEngine& engine, const agent::AgentConfig& agent, std::string_view sid)
      : executor(context.MakeExecutor()) {
    params.agent = &agent;
    params.call_sid = CallSid(std::string(sid));
    params.executor = executor.get();
    params.clock = &SystemClock::Instance();
    On([&] {
      auto opened = engine.Open(params, recorder);
      ASSERT_TRUE(opened);
      session = std::move(*opened);
    });
  }
  ~Call() {
    On([&] { session.reset(); });
    context.Stop();
    io.join();
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Runs `fn` on the call's executor and waits for it.
  template <class F>
  void On(F fn) {
    std::promise<void> done;
    executor->Post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  net::ClientContext context{1};
  std::thread io{[this] { context.Run(); }};
  std::unique_ptr<Executor> executor;
  Recorder recorder;
  SessionParams params;
  std::unique_ptr<SpeechSession> session;
};

TEST(NovaSessionTest, ACallWithTheEmulatorGreetsHearsCallsAToolAndAnswers) {
  test_support::Emulator emulator(json::array({
      {{"user", "(connected)"}, {"reply", "Thanks for calling Bright Smile, how can I help?"}},
      {{"user", "I would like to talk to a person."},
       {"tool", {{"name", "transfer_call"}, {"input", {{"reason", "asked for a person"}}}}},
       {"reply", "Connecting you now."}},
  }));
  ASSERT_TRUE(test_support::Accepting(emulator.port()));

  auto engine = MakeNovaSonicEngine(At(emulator, test_support::Emulated()));
  agent::AgentConfig agent;
  agent.agent_name = "Bright Smile Dental";
  agent.prompt = "You answer the phone for a dental clinic.";
  agent.first_message = "Thanks for calling Bright Smile, how can I help?";
  agent.voice_id = "tiffany";
  ASSERT_TRUE(engine->Prepare(agent));

  Call c(*engine, agent, "CA00000000000000000000000000000042");
  auto& recorder = c.recorder;
  auto& session = c.session;
  const auto on_call = [&c](auto fn) { c.On(fn); };
  on_call([&] {
    EXPECT_EQ(session->input_sample_rate(), 16000);
    EXPECT_EQ(session->output_sample_rate(), 24000);
    session->Start();
  });

  // Speaks first.
  ASSERT_TRUE(recorder.WaitFor([&] {
    return recorder.HasFinal("agent: Thanks for calling Bright Smile, how can I help?") &&
           recorder.turn_ends >= 1;
  })) << (recorder.errors.empty() ? "no greeting" : recorder.errors.front());
  EXPECT_GT(recorder.samples, 24000u / 2);  // at least half a second of 24 kHz speech

  // The caller speaks, then is silent: a turn.
  for (int n = 0; n < 50; ++n) on_call([&] { session->SendAudio(Frame(true, n)); });
  for (int n = 0; n < 40; ++n) on_call([&] { session->SendAudio(Frame(false, n)); });
  ASSERT_TRUE(recorder.WaitFor([&] { return !recorder.tools.empty(); }))
      << (recorder.errors.empty() ? "no tool call" : recorder.errors.front());
  ToolCall call;
  {
    std::lock_guard lock(recorder.mutex);
    call = recorder.tools.front();
    EXPECT_TRUE(recorder.HasFinal("caller: I would like to talk to a person."));
  }
  EXPECT_EQ(call.name, "transfer_call");
  EXPECT_EQ(json::parse(call.arguments_json)["reason"], "asked for a person");
  on_call([&] { session->SendToolResult({call.id, call.name, R"({"status":"ok"})"}); });
  ASSERT_TRUE(recorder.WaitFor([&] { return recorder.HasFinal("agent: Connecting you now."); }))
      << (recorder.errors.empty() ? "no answer after the tool" : recorder.errors.front());

  on_call([&] { session->Close(); });
  std::this_thread::sleep_for(200ms);  // the closing frames go out
  std::lock_guard lock(recorder.mutex);
  EXPECT_TRUE(recorder.errors.empty()) << recorder.errors.front();
}

TEST(NovaSessionTest, ABedrockExceptionEndsTheSessionWithItsReason) {
  // Wrong credentials: the emulator refuses the request (403).
  test_support::Emulator emulator(json::array());
  ASSERT_TRUE(test_support::Accepting(emulator.port()));
  auto engine = MakeNovaSonicEngine(At(emulator, test_support::Emulated("wrong")));
  agent::AgentConfig agent;
  agent.agent_name = "Line";
  Call c(*engine, agent, "CA00000000000000000000000000000043");
  c.On([&] { c.session->Start(); });
  std::unique_lock lock(c.recorder.mutex);
  ASSERT_TRUE(c.recorder.changed.wait_for(lock, 10s, [&] { return !c.recorder.errors.empty(); }));
  EXPECT_NE(c.recorder.errors.front().find("403"), std::string::npos) << c.recorder.errors.front();
}

}  // namespace
}  // namespace tempo::engine::nova
