#include "tempo/engine/echo_engine.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tempo::engine {
namespace {

struct Recorder : SessionObserver {
  std::vector<int16_t> audio;
  std::vector<Transcript> transcripts;
  std::vector<ToolCall> tools;
  int interruptions = 0;
  int turn_ends = 0;
  void OnAudio(std::span<const int16_t> pcm) override {
    audio.insert(audio.end(), pcm.begin(), pcm.end());
  }
  void OnTranscript(const Transcript& t) override { transcripts.push_back(t); }
  void OnToolCall(const ToolCall& c) override { tools.push_back(c); }
  void OnInterrupted() override { ++interruptions; }
  void OnAgentTurnEnd() override { ++turn_ends; }
  void OnError(const Error&) override { ADD_FAILURE() << "unexpected error"; }
};

class EchoTest : public ::testing::Test {
 protected:
  EchoTest() {
    agent_.agent_id = AgentId("echo-test");
    params_.agent = &agent_;
    params_.clock = &clock_;
    session_ = std::move(*MakeEchoEngine()->Open(params_, recorder_));
  }
  // Feeds `ms` of a tone (speech) or silence in 20 ms frames, advancing the clock.
  void Feed(int ms, bool speech) {
    for (int t = 0; t < ms; t += 20) {
      std::vector<int16_t> frame(160);
      for (size_t i = 0; i < frame.size(); ++i) {
        frame[i] = speech ? int16_t(8000 * std::sin(2 * M_PI * 300 * double(sample_++) / 8000)) : 0;
      }
      session_->SendAudio(frame);
      clock_.Advance(std::chrono::milliseconds(20));
    }
  }
  agent::AgentConfig agent_;
  FakeClock clock_;
  SessionParams params_;
  Recorder recorder_;
  std::unique_ptr<SpeechSession> session_;
  size_t sample_ = 0;
};

TEST_F(EchoTest, GreetsWithATone) {
  session_->Start();
  EXPECT_EQ(recorder_.audio.size(), 8000u * 300 / 1000);
  EXPECT_EQ(recorder_.turn_ends, 1);
}

TEST_F(EchoTest, RepeatsTheUtteranceAfterThePause) {
  Feed(1000, false);
  Feed(800, true);
  Feed(400, false);
  EXPECT_TRUE(recorder_.audio.empty()) << "no echo before the pause has passed";
  Feed(300, false);
  // 800 ms of speech comes back, without the trailing silence.
  EXPECT_EQ(recorder_.audio.size(), 8000u * 800 / 1000);
  ASSERT_EQ(recorder_.transcripts.size(), 2u);
  EXPECT_EQ(recorder_.transcripts[0].role, Role::kCaller);
  EXPECT_EQ(recorder_.transcripts[0].start.count(), 1000);
  EXPECT_EQ(recorder_.transcripts[1].text, "[echo 0.80 s]");
  EXPECT_NE(recorder_.audio[100], 0);
}

TEST_F(EchoTest, SpeakingOverTheEchoInterrupts) {
  Feed(1000, true);
  Feed(600, false);  // echo of 1 s starts now and plays until t+1 s
  ASSERT_EQ(recorder_.turn_ends, 1);
  Feed(200, false);
  Feed(100, true);  // caller talks while the echo plays
  EXPECT_EQ(recorder_.interruptions, 1);
  Feed(2000, false);
  Feed(100, true);  // after the echo finished: not an interruption
  EXPECT_EQ(recorder_.interruptions, 1);
}

TEST_F(EchoTest, DtmfMapsToTools) {
  session_->SendDtmf('5');
  session_->SendDtmf('#');
  session_->SendDtmf('0');
  session_->SendDtmf('*');
  ASSERT_EQ(recorder_.tools.size(), 3u);
  EXPECT_EQ(recorder_.tools[0].name, "end_call");
  EXPECT_EQ(recorder_.tools[1].name, "transfer_call");
  EXPECT_EQ(recorder_.tools[2].name, "voicemail");
  EXPECT_EQ(recorder_.transcripts.front().text, "[dtmf 5]");
}

TEST_F(EchoTest, OddSizedChunksAreReframed) {
  std::vector<int16_t> chunk(77, 0);
  for (int i = 0; i < 100; ++i) session_->SendAudio(chunk);
  EXPECT_TRUE(recorder_.audio.empty());
}

}  // namespace
}  // namespace tempo::engine
