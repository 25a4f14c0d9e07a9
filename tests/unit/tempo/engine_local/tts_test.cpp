#include "tempo/engine/local/tts.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

namespace tempo::engine::local {
namespace {

double Rms(std::span<const int16_t> pcm) {
  double sum = 0;
  for (int16_t s : pcm) sum += static_cast<double>(s) * s;
  return pcm.empty() ? 0 : std::sqrt(sum / static_cast<double>(pcm.size()));
}

TEST(TtsTest, VoiceMapping) {
  EXPECT_EQ(LookupVoice("kal16"), FliteVoice::kKal16);
  EXPECT_EQ(LookupVoice("SLT"), FliteVoice::kSlt);
  EXPECT_EQ(LookupVoice("rms"), FliteVoice::kRms);
  EXPECT_EQ(LookupVoice("awb"), FliteVoice::kAwb);
  EXPECT_EQ(LookupVoice("kal"), FliteVoice::kKal);
  EXPECT_EQ(LookupVoice("matthew"), FliteVoice::kRms);
  EXPECT_EQ(LookupVoice("Tiffany"), FliteVoice::kSlt);
  EXPECT_EQ(LookupVoice("amy"), FliteVoice::kSlt);
  EXPECT_EQ(LookupVoice("nonexistent"), std::nullopt);
  EXPECT_EQ(LookupVoice(""), std::nullopt);
}

TEST(TtsTest, UnknownVoiceFallsBackToDefault) {
  auto tts = Synthesizer::Create("no-such-voice");
  ASSERT_TRUE(tts.has_value());
  EXPECT_EQ(tts->voice(), kDefaultVoice);
  EXPECT_EQ(tts->sample_rate_hz(), 16000);
}

TEST(TtsTest, SplitIntoChunks) {
  EXPECT_TRUE(SplitIntoChunks("").empty());
  EXPECT_TRUE(SplitIntoChunks("   ").empty());
  EXPECT_EQ(SplitIntoChunks("Hello there. How are you? Fine!"),
            (std::vector<std::string>{"Hello there.", "How are you?", "Fine!"}));
  // Decimal points and abbreviations without a following space do not split.
  EXPECT_EQ(SplitIntoChunks("It costs 3.50 dollars"),
            (std::vector<std::string>{"It costs 3.50 dollars"}));
  // A long sentence is split at clause punctuation too.
  const std::string long_sentence =
      "We are open from nine to five on weekdays, from nine to one on Saturdays, and we are "
      "closed on Sundays and public holidays.";
  auto chunks = SplitIntoChunks(long_sentence);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], "We are open from nine to five on weekdays,");
}

TEST(TtsTest, StreamsOneChunkPerSentenceAtTheVoiceRate) {
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());
  std::vector<std::size_t> sizes;
  auto r = tts->Synthesize("Hello. We are open today. Goodbye.",
                           [&](std::span<const int16_t> pcm, int rate) {
                             EXPECT_EQ(rate, 16000);
                             EXPECT_GT(Rms(pcm), 300.0);
                             sizes.push_back(pcm.size());
                           });
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(sizes.size(), 3u);
  // "We are open today." is longer than "Hello.".
  EXPECT_GT(sizes[1], sizes[0]);
  // Each chunk lasts a plausible time: 0.2 s .. 3 s.
  for (std::size_t n : sizes) {
    EXPECT_GT(n, 16000u / 5);
    EXPECT_LT(n, 16000u * 3);
  }
}

TEST(TtsTest, EmptyTextProducesNoAudio) {
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());
  int calls = 0;
  ASSERT_TRUE(tts->Synthesize("", [&](std::span<const int16_t>, int) { ++calls; }).has_value());
  EXPECT_EQ(calls, 0);
}

TEST(TtsTest, OversizedTextIsRejected) {
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());
  const std::string text(kMaxSynthesisTextBytes + 1, 'a');
  auto r = tts->SynthesizeAll(text);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kResourceExhausted);
}

TEST(TtsTest, OutputIsDeterministic) {
  for (const char* voice : {"kal16", "slt"}) {
    auto tts = Synthesizer::Create(voice);
    ASSERT_TRUE(tts.has_value());
    auto a = tts->SynthesizeAll("Please call me back tomorrow at three.");
    auto b = tts->SynthesizeAll("Please call me back tomorrow at three.");
    ASSERT_TRUE(a.has_value() && b.has_value());
    EXPECT_FALSE(a->empty());
    EXPECT_EQ(*a, *b) << voice;
  }
}

TEST(TtsTest, EveryMappedVoiceSpeaks) {
  for (const char* id : {"kal16", "slt", "rms", "awb", "kal"}) {
    auto tts = Synthesizer::Create(id);
    ASSERT_TRUE(tts.has_value());
    int rate = 0;
    std::size_t samples = 0;
    ASSERT_TRUE(tts->Synthesize("Good morning.",
                                [&](std::span<const int16_t> pcm, int r) {
                                  rate = r;
                                  samples += pcm.size();
                                })
                    .has_value());
    EXPECT_EQ(rate, tts->sample_rate_hz()) << id;
    EXPECT_GT(samples, static_cast<std::size_t>(rate / 4)) << id;
  }
}

TEST(TtsTest, ConcurrentSynthesisMatchesSerial) {
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());
  const std::string text = "Your appointment is confirmed. See you on Tuesday.";
  auto expected = tts->SynthesizeAll(text);
  ASSERT_TRUE(expected.has_value());
  std::vector<std::vector<int16_t>> results(4);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      auto local = Synthesizer::Create(t % 2 == 0 ? "kal16" : "slt");
      for (int i = 0; i < 3; ++i) {
        auto r = (t % 2 == 0 ? *tts : *local).SynthesizeAll(text);
        if (r && t % 2 == 0) results[t] = std::move(*r);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(results[0], *expected);
  EXPECT_EQ(results[2], *expected);
}

}  // namespace
}  // namespace tempo::engine::local
