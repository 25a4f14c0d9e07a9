#include "local_call_harness.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tempo::engine::local {
namespace {

using harness::Call;
using harness::CallerSpeech;
using harness::DentalAgent;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

std::filesystem::path CacheDir() {
  return std::filesystem::temp_directory_path() / "tempo-local-engine-test";
}

std::unique_ptr<LocalEngine> MakeEngine(LocalEngineOptions options = {}) {
  options.cache_dir = CacheDir();
  auto engine = LocalEngine::Create(std::move(options));
  EXPECT_TRUE(engine.has_value());
  return engine ? std::move(*engine) : nullptr;
}

class LocalSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = MakeEngine();
    ASSERT_TRUE(engine_);
    ASSERT_TRUE(engine_->Prepare(agent_));
  }

  harness::ReplyListener& Listener() {
    if (!listener_) {
      listener_ = harness::ReplyListener::Create(harness::PossibleReplies(agent_), CacheDir());
    }
    return *listener_;
  }

  /// The caller's line, and what the agent was heard to answer.
  harness::ReplyListener::Heard Ask(Call& call, const std::string& line,
                                    std::string_view voice = "kal16") {
    const std::size_t turn = call.Say(CallerSpeech(line, voice));
    if (call.events().turns.size() <= turn) return {};
    const auto& reply = call.events().turns[turn];
    return Listener().Listen(reply.pcm, call.output_rate());
  }

  agent::AgentConfig agent_ = DentalAgent();
  std::unique_ptr<LocalEngine> engine_;
  std::optional<harness::ReplyListener> listener_;
};

TEST_F(LocalSessionTest, GreetsFirstAndAnswersAKnowledgeQuestion) {
  Call call(*engine_, agent_);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call.session().input_sample_rate(), 8000);
  EXPECT_EQ(call.session().output_sample_rate(), 16000);
  call.Start();
  call.WaitForAgent();
  ASSERT_EQ(call.events().turns.size(), 1u);
  const auto greeting = Listener().Listen(call.events().turns[0].pcm, call.output_rate());
  EXPECT_EQ(greeting.reply, Listener().IndexOf(agent_.first_message)) << greeting.text;

  const auto heard = Ask(call, "How much does a cleaning cost?");
  EXPECT_EQ(heard.reply, Listener().IndexOf(agent_.knowledge_base[2].answer)) << heard.text;
  // The caller's words are in the transcript, with timing.
  bool caller_seen = false;
  for (const auto& t : call.events().transcripts) {
    if (t.role != Role::kCaller) continue;
    caller_seen = true;
    EXPECT_THAT(t.text, HasSubstr("cleaning"));
    EXPECT_GT(t.end, t.start);
  }
  EXPECT_TRUE(caller_seen);
  EXPECT_TRUE(call.events().tools.empty());
  EXPECT_TRUE(call.events().errors.empty());
}

TEST_F(LocalSessionTest, SecondVoiceAsksAboutOpeningHours) {
  Call call(*engine_, agent_);
  call.Start();
  call.WaitForAgent();
  const auto heard = Ask(call, "What are your opening hours?", "rms");
  EXPECT_EQ(heard.reply, Listener().IndexOf(agent_.knowledge_base[0].answer)) << heard.text;
}

TEST_F(LocalSessionTest, GoodbyeSaysTheClosingLineThenEndsTheCall) {
  Call call(*engine_, agent_);
  call.Start();
  call.WaitForAgent();
  const auto heard = Ask(call, "That's all, thank you. Goodbye.");
  EXPECT_EQ(heard.reply, Listener().IndexOf(agent_.ClosingLine())) << heard.text;
  ASSERT_EQ(call.events().tools.size(), 1u);
  EXPECT_EQ(call.events().tools[0].name, "end_call");
}

TEST_F(LocalSessionTest, AskingForAHumanTransfers) {
  Call call(*engine_, agent_);
  call.Start();
  call.WaitForAgent();
  const auto heard = Ask(call, "Can I speak to a real person please?");
  EXPECT_EQ(heard.reply, Listener().IndexOf("Let me transfer you to a member of our team."))
      << heard.text;
  ASSERT_EQ(call.events().tools.size(), 1u);
  EXPECT_EQ(call.events().tools[0].name, "transfer_call");
}

TEST_F(LocalSessionTest, CallbackRequestSchedulesWithItsTime) {
  Call call(*engine_, agent_, "+15550142");
  call.Start();
  call.WaitForAgent();
  const auto heard = Ask(call, "Can you call me back tomorrow at 3 pm?");
  ASSERT_EQ(call.events().tools.size(), 1u);
  EXPECT_EQ(call.events().tools[0].name, "schedule_callback");
  const auto args = nlohmann::json::parse(call.events().tools[0].arguments_json);
  EXPECT_EQ(args["time"], "tomorrow at 3 pm");
  EXPECT_EQ(args["phone"], "+15550142");
  EXPECT_THAT(heard.text, HasSubstr("call you back tomorrow at three p m"));
}

TEST_F(LocalSessionTest, CallbackWithoutATimeAsksWhenThenSchedules) {
  std::vector<TurnTiming> turns;
  LocalEngineOptions options;
  options.on_turn = [&](const TurnTiming& t) { turns.push_back(t); };
  auto engine = MakeEngine(options);
  ASSERT_TRUE(engine);
  Call call(*engine, agent_, "+15550142");
  call.Start();
  call.WaitForAgent();
  const auto ask = Ask(call, "Can you call me back?");
  EXPECT_EQ(ask.reply, Listener().IndexOf("When would be a good time to call you back?"))
      << ask.text;
  EXPECT_TRUE(call.events().tools.empty());
  (void)Ask(call, "Tomorrow at three p m.");
  ASSERT_EQ(call.events().tools.size(), 1u);
  const auto args = nlohmann::json::parse(call.events().tools[0].arguments_json);
  EXPECT_EQ(args["time"], "tomorrow at 3 pm");
  // The answer to "when?" was also decoded with the time grammar.
  ASSERT_EQ(turns.size(), 2u);
  EXPECT_TRUE(turns[0].closed_text.empty()) << "an open question has no grammar pass";
  EXPECT_EQ(turns[1].closed_text, "tomorrow at three p m");
}

TEST_F(LocalSessionTest, WithheldCallerIsAskedForTheNumberSpokenOrKeyed) {
  {
    Call call(*engine_, agent_, "anonymous");
    call.Start();
    call.WaitForAgent();
    const auto ask = Ask(call, "Please call me back tomorrow morning.");
    EXPECT_THAT(ask.text, HasSubstr("what number should we call you back on"));
    (void)Ask(call, "Five five five, oh one two three.");
    ASSERT_EQ(call.events().tools.size(), 1u);
    const auto args = nlohmann::json::parse(call.events().tools[0].arguments_json);
    EXPECT_EQ(args["phone"], "5550123");
    EXPECT_EQ(args["time"], "tomorrow morning");
  }
  {
    Call call(*engine_, agent_, "anonymous");
    call.Start();
    call.WaitForAgent();
    (void)Ask(call, "Please call me back tomorrow morning.");
    // Keys pressed while the agent still asks cut it short; '#' ends the number.
    for (char c : std::string("4155550199#")) call.session().SendDtmf(c);
    call.Settle();
    call.WaitForAgent();
    ASSERT_EQ(call.events().tools.size(), 1u);
    const auto args = nlohmann::json::parse(call.events().tools[0].arguments_json);
    EXPECT_EQ(args["phone"], "4155550199");
    EXPECT_EQ(args["time"], "tomorrow morning");
  }
}

TEST_F(LocalSessionTest, KeypadZeroTransfers) {
  Call call(*engine_, agent_);
  call.Start();
  call.session().SendDtmf('7');  // ignored: the greeting goes on
  call.Settle();
  EXPECT_TRUE(call.events().interruptions.empty());
  call.session().SendDtmf('0');
  call.Settle();
  EXPECT_EQ(call.events().interruptions.size(), 1u) << "the key cut the greeting short";
  call.WaitForAgent();
  ASSERT_EQ(call.events().tools.size(), 1u);
  EXPECT_EQ(call.events().tools[0].name, "transfer_call");
}

TEST_F(LocalSessionTest, GuardrailRuleIsEnforcedOnSpokenQuestions) {
  Call call(*engine_, agent_);
  call.Start();
  call.WaitForAgent();
  const auto heard = Ask(call, "Can you give me some medical advice?");
  EXPECT_EQ(heard.reply, Listener().IndexOf("I'm sorry, I can't help with that. Instead, I can "
                                            "suggest an appointment."))
      << heard.text;
  EXPECT_TRUE(call.events().tools.empty());
}

TEST_F(LocalSessionTest, CallerSpeakingOverTheAgentInterruptsWithin300Ms) {
  Call call(*engine_, agent_);
  call.Start();
  ASSERT_TRUE(call.events().Playing());
  // 1 s into the greeting the caller starts talking.
  call.Feed(harness::LineNoise(1000, 10.0, 3));
  const auto speech = CallerSpeech("I want to speak to a person.", "kal16");
  std::size_t onset = 0;
  while (onset < speech.size() && std::abs(speech[onset]) < 300) ++onset;
  const auto speech_start = call.clock().Now() + milliseconds(onset / 8);
  call.Feed(speech);
  ASSERT_GE(call.events().interruptions.size(), 1u);
  const auto latency = call.events().interruptions[0] - speech_start;
  EXPECT_GE(latency, milliseconds(0));
  EXPECT_LE(latency, milliseconds(300));
  // The greeting turn was cut; the interrupted speech still gets its answer.
  call.WaitForAgent(milliseconds(1500));
  ASSERT_FALSE(call.events().tools.empty());
  EXPECT_EQ(call.events().tools.back().name, "transfer_call");
}

TEST(LocalSessionBadInputTest, MinutesOfSilenceRepromptThenEnd) {
  LocalEngineOptions options;
  options.silence_timeout = milliseconds(3000);
  auto engine = MakeEngine(options);
  const auto agent = DentalAgent();
  Call call(*engine, agent);
  call.Start();
  call.Feed(harness::LineNoise(60'000, 10.0, 11));
  std::vector<std::string> agent_lines;
  for (const auto& t : call.events().turns) agent_lines.push_back(t.text);
  ASSERT_EQ(agent_lines.size(), 3u);
  EXPECT_EQ(agent_lines[1], "Are you still there?");
  EXPECT_THAT(agent_lines[2], HasSubstr(agent.ClosingLine()));
  ASSERT_EQ(call.events().tools.size(), 1u);
  EXPECT_EQ(call.events().tools[0].name, "end_call");
}

TEST(LocalSessionBadInputTest, ConstantNoiseMakesNoEndlessTurns) {
  LocalEngineOptions options;
  options.silence_timeout = milliseconds(5000);
  auto engine = MakeEngine(options);
  const auto agent = DentalAgent();
  Call call(*engine, agent);
  call.Start();
  call.WaitForAgent();
  // Loud steady hiss (about -30 dBFS) for a minute.
  call.Feed(harness::LineNoise(60'000, 1000.0, 21));
  int caller_turns = 0;
  for (const auto& t : call.events().transcripts) caller_turns += t.role == Role::kCaller;
  EXPECT_LE(caller_turns, 1);
  // Noise is not a caller, so the silence handling ends the call.
  ASSERT_FALSE(call.events().tools.empty());
  EXPECT_EQ(call.events().tools.back().name, "end_call");
}

TEST(LocalSessionBadInputTest, ClippedSpeechStillGetsAnAnswer) {
  auto engine = MakeEngine();
  const auto agent = DentalAgent();
  Call call(*engine, agent);
  call.Start();
  call.WaitForAgent();
  auto speech = CallerSpeech("Goodbye.", "kal16");
  for (auto& s : speech) s = static_cast<int16_t>(std::clamp(int(s) * 12, -32768, 32767));
  call.Say(speech);
  EXPECT_TRUE(call.events().errors.empty());
  EXPECT_GE(call.events().turns.size(), 2u) << "the agent answered the clipped line";
}

TEST(LocalSessionBadInputTest, EmptyKnowledgeBaseFallsBack) {
  auto engine = MakeEngine();
  auto agent = DentalAgent();
  agent.knowledge_base.clear();
  agent.first_message.clear();
  ASSERT_TRUE(engine->Prepare(agent));
  Call call(*engine, agent);
  call.Start();
  call.WaitForAgent();
  ASSERT_EQ(call.events().turns.size(), 1u);
  EXPECT_EQ(call.events().turns[0].text,
            "Hello, thank you for calling Bright Smile Dental. How can I help you?");
  call.Say(CallerSpeech("What are your opening hours?", "kal16"));
  ASSERT_GE(call.events().turns.size(), 2u);
  EXPECT_EQ(call.events().turns[1].text,
            "I'm not sure about that. Would you like me to transfer you to a member of our "
            "team?");
}

TEST(LocalEnginePrepareTest, EnormousKnowledgeBaseIsRefusedClearly) {
  auto engine = MakeEngine();
  auto agent = DentalAgent();
  agent.knowledge_base.clear();
  for (std::size_t i = 0; i < kMaxKnowledgeEntries + 1; ++i) {
    agent.knowledge_base.push_back({fmt::format("Question number {}?", i), "An answer."});
  }
  auto r = engine->Prepare(agent);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
  EXPECT_THAT(r.error().message, HasSubstr("limit"));

  agent.knowledge_base.resize(1);
  agent.knowledge_base[0].answer = std::string(kMaxKnowledgeBytes, 'a');
  EXPECT_EQ(engine->Prepare(agent).error().code, ErrorCode::kResourceExhausted);

  // A large knowledge base within the limits builds.
  agent.knowledge_base.clear();
  for (std::size_t i = 0; i < 1500; ++i) {
    agent.knowledge_base.push_back({fmt::format("What about item {}?", i),
                                    fmt::format("Item {} costs {} dollars.", i, i * 3)});
  }
  EXPECT_TRUE(engine->Prepare(agent));
}

TEST(LocalEnginePrepareTest, MissingModelAndBadParams) {
  LocalEngineOptions options;
  options.model_dir = "/nonexistent/model";
  auto missing = LocalEngine::Create(options);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("pocketsphinx-en-us"));

  auto engine = MakeEngine();
  EXPECT_EQ(engine->name(), "local");
  harness::Recorder rec(SystemClock::Instance(), 16000);
  SessionParams params;  // no agent, executor or clock
  EXPECT_EQ(engine->Open(params, rec).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace tempo::engine::local
