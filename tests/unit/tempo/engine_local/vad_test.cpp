#include "tempo/engine/local/vad.hpp"

#include "tempo/engine/local/tts.hpp"

#include "speech_test_util.hpp"
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace tempo::engine::local {
namespace {

using testing::Noise;
using testing::PadForTurn;
using testing::PhoneChannel;

struct Events {
  std::vector<int64_t> starts;  // segment_start_frame at kSpeechStart
  std::vector<int64_t> ends;    // segment_end_frame at kSpeechEnd
  int false_starts = 0;
  int speech_frames = 0;
};

Events Detect(std::span<const int16_t> audio, VadMode mode, EndpointerConfig config = {}) {
  auto vad = Vad::Create(mode);
  EXPECT_TRUE(vad.has_value());
  auto ep = Endpointer::Create(config);
  EXPECT_TRUE(ep.has_value());
  Events ev;
  for (std::size_t off = 0; off + kVadFrameSamples <= audio.size(); off += kVadFrameSamples) {
    auto cls = vad->Classify(audio.subspan(off, kVadFrameSamples));
    EXPECT_TRUE(cls.has_value());
    if (*cls == FrameClass::kSpeech) ++ev.speech_frames;
    switch (ep->Push(*cls)) {
      case EndpointEvent::kSpeechStart:
        ev.starts.push_back(ep->segment_start_frame());
        break;
      case EndpointEvent::kSpeechEnd:
        ev.ends.push_back(ep->segment_end_frame());
        break;
      case EndpointEvent::kFalseStart:
        ++ev.false_starts;
        break;
      case EndpointEvent::kNone:
        break;
    }
  }
  return ev;
}

std::vector<int16_t> CallerSpeech8k(std::string_view text) {
  auto tts = Synthesizer::Create("kal16");
  EXPECT_TRUE(tts.has_value());
  auto pcm = tts->SynthesizeAll(text);
  EXPECT_TRUE(pcm.has_value());
  return PhoneChannel(*pcm, tts->sample_rate_hz());
}

TEST(VadTest, RejectsWrongFrameSize) {
  auto vad = Vad::Create();
  ASSERT_TRUE(vad.has_value());
  EXPECT_EQ(vad->mode(), VadMode::kAggressive);
  std::vector<int16_t> frame(80);
  auto r = vad->Classify(frame);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(VadTest, DigitalSilenceIsNeverSpeech) {
  std::vector<int16_t> silence(8000 * 3, 0);
  for (VadMode mode : {VadMode::kQuality, VadMode::kAggressive, VadMode::kVeryAggressive}) {
    Events ev = Detect(silence, mode);
    EXPECT_EQ(ev.speech_frames, 0);
    EXPECT_TRUE(ev.starts.empty());
  }
}

TEST(VadTest, LowLevelWhiteNoiseDoesNotOpenATurn) {
  // About -50 dBFS: a quiet line's hiss. WebRTC's noise model adapts during the first frames,
  // which may flag a few of them; the endpointer reports those as false starts, never a turn.
  std::vector<int16_t> noise = Noise(8000 * 3, 100.0, 7);
  for (auto& s : noise) s = testing::MulawDecode(testing::MulawEncode(s));
  Events ev = Detect(noise, VadMode::kAggressive);
  EXPECT_TRUE(ev.ends.empty());
  EXPECT_EQ(ev.starts.size(), static_cast<std::size_t>(ev.false_starts));
  EXPECT_LT(ev.speech_frames, 10) << "of 150 frames";
}

// Index of the first 8 kHz frame of `speech` (placed after `lead` samples) with audible signal.
int64_t OnsetFrame(std::span<const int16_t> speech, std::size_t lead) {
  std::size_t i = 0;
  while (i < speech.size() && std::abs(speech[i]) < 300) ++i;
  return static_cast<int64_t>((lead + i) / kVadFrameSamples);
}

int64_t OffsetFrame(std::span<const int16_t> speech, std::size_t lead) {
  std::size_t i = speech.size();
  while (i > 0 && std::abs(speech[i - 1]) < 300) --i;
  return static_cast<int64_t>((lead + i) / kVadFrameSamples);
}

TEST(VadTest, SynthesizedUtteranceIsOneTurnAtTheRightPlace) {
  const std::vector<int16_t> speech = CallerSpeech8k("I would like to book an appointment.");
  const std::vector<int16_t> call = PadForTurn(speech, 600, 1000);
  Events ev = Detect(call, VadMode::kAggressive);
  // The VAD may flag a frame or two of line hiss while it adapts; those end as false starts.
  ASSERT_EQ(ev.ends.size(), 1u);
  ASSERT_EQ(ev.starts.size(), 1u + static_cast<std::size_t>(ev.false_starts));
  ev.starts.erase(ev.starts.begin(), ev.starts.end() - 1);
  const int64_t onset = OnsetFrame(speech, 4800);
  const int64_t offset = OffsetFrame(speech, 4800);
  EXPECT_GE(ev.starts[0], onset - 1);
  EXPECT_LE(ev.starts[0], onset + 3);
  EXPECT_GE(ev.ends[0], offset - 3);
  EXPECT_LE(ev.ends[0], offset + 8);  // WebRTC's own hangover may add a few frames
}

TEST(VadTest, UtteranceInModerateNoiseIsStillOneTurn) {
  const std::vector<int16_t> speech = CallerSpeech8k("Can you call me back tomorrow?");
  std::vector<int16_t> call = PadForTurn(speech, 600, 1000);
  // ~ -45 dBFS white noise over the whole call, then the mu-law line.
  const std::vector<int16_t> noise = Noise(call.size(), 180.0, 11);
  for (std::size_t i = 0; i < call.size(); ++i) {
    const int mixed = call[i] + noise[i];
    call[i] = testing::MulawDecode(
        testing::MulawEncode(static_cast<int16_t>(std::clamp(mixed, -32768, 32767))));
  }
  Events ev = Detect(call, VadMode::kAggressive);
  ASSERT_EQ(ev.ends.size(), 1u);
  EXPECT_EQ(ev.starts.size(), 1u + static_cast<std::size_t>(ev.false_starts));
  EXPECT_GE(ev.starts.back(), OnsetFrame(speech, 4800) - 2);
}

TEST(VadTest, ShortBurstIsAFalseStart) {
  // 100 ms cut from the middle of a vowel: speech-like enough to open a segment, too short to be
  // an utterance.
  const std::vector<int16_t> speech = CallerSpeech8k("Oh.");
  const std::size_t mid = speech.size() / 2;
  std::vector<int16_t> call(16000, 0);
  std::copy_n(speech.begin() + static_cast<std::ptrdiff_t>(mid - 400), 800, call.begin() + 4000);
  Events ev = Detect(call, VadMode::kAggressive, {.min_utterance_ms = 200});
  EXPECT_EQ(ev.starts.size(), 1u);
  EXPECT_EQ(ev.false_starts, 1);
  EXPECT_TRUE(ev.ends.empty());
}

}  // namespace
}  // namespace tempo::engine::local
