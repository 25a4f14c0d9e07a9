// Prints cost figures of the local engine's speech primitives (init time, memory per decoder,
// real-time factor, end-of-utterance latency, TTS first-chunk latency). No timing assertions:
// the numbers are for docs/local-engine.md and depend on the build type (use Release).

#include "tempo/engine/local/grammars.hpp"
#include "tempo/engine/local/lm_builder.hpp"
#include "tempo/engine/local/recognizer.hpp"
#include "tempo/engine/local/tts.hpp"
#include "tempo/engine/local/vad.hpp"

#include "speech_test_util.hpp"
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace tempo::engine::local {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

double CpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double RssMb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0;
  long resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

TEST(SpeechMetricsTest, PrintCostFigures) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("tempo_speech_metrics_" + std::to_string(::getpid()));
  const LmBuildOptions options = WithGrammarWords({});
  const auto corpus = testing::DentalCorpus();
  // The first build pays for loading cmudict once per process; the second is the per-agent cost.
  auto t0 = Clock::now();
  ASSERT_TRUE(BuildDomainModel(corpus, options).has_value());
  const double first_build_ms = MsSince(t0);
  t0 = Clock::now();
  auto model = BuildDomainModel(corpus, options);
  const double build_ms = MsSince(t0);
  ASSERT_TRUE(model.has_value());
  auto files = WriteModelFiles(*model, dir);
  ASSERT_TRUE(files.has_value());

  // Decoder init and memory.
  constexpr int kDecoders = 4;
  std::vector<Recognizer> decoders;
  const double rss_before = RssMb();
  t0 = Clock::now();
  for (int i = 0; i < kDecoders; ++i) {
    auto rec = Recognizer::Create({.domain = *files});
    ASSERT_TRUE(rec.has_value());
    decoders.push_back(std::move(*rec));
  }
  const double init_ms = MsSince(t0) / kDecoders;
  const double rss_per_decoder = (RssMb() - rss_before) / kDecoders;

  // Decode a set of phone-line utterances: CPU real-time factor and finalisation time.
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());
  Recognizer& rec = decoders.front();
  double audio_ms = 0;
  double cpu_ms = 0;
  double final_ms_max = 0;
  double final_ms_sum = 0;
  int utterances = 0;
  for (const char* text : {"What are your opening hours?", "How much does a cleaning cost?",
                           "Please call me back tomorrow at 3 pm.", "Can I leave a message?",
                           "I would like to talk to a human.", "Goodbye."}) {
    auto pcm = tts->SynthesizeAll(text);
    ASSERT_TRUE(pcm.has_value());
    const auto narrow = testing::PhoneChannel(*pcm, tts->sample_rate_hz());
    const auto wide = testing::Resample(narrow, 8000, kRecognizerSampleRateHz);
    const double c0 = CpuMs();
    ASSERT_TRUE(rec.StartUtterance().has_value());
    for (std::size_t off = 0; off + 320 <= wide.size(); off += 320) {
      ASSERT_TRUE(rec.Process(std::span<const int16_t>(wide).subspan(off, 320)).has_value());
    }
    const auto f0 = Clock::now();
    auto hyp = rec.EndUtterance();
    const double final_ms = MsSince(f0);
    cpu_ms += CpuMs() - c0;
    ASSERT_TRUE(hyp.has_value());
    EXPECT_FALSE(hyp->text.empty());
    audio_ms += static_cast<double>(wide.size()) / 16.0;
    final_ms_sum += final_ms;
    final_ms_max = std::max(final_ms_max, final_ms);
    ++utterances;
  }

  // VAD cost per frame.
  auto vad = Vad::Create();
  ASSERT_TRUE(vad.has_value());
  const auto noise = testing::Noise(8000 * 10, 1000.0, 3);
  const double v0 = CpuMs();
  for (std::size_t off = 0; off + kVadFrameSamples <= noise.size(); off += kVadFrameSamples) {
    ASSERT_TRUE(vad->Classify(std::span<const int16_t>(noise).subspan(off, kVadFrameSamples)));
  }
  const double vad_us = (CpuMs() - v0) * 1000.0 / (noise.size() / kVadFrameSamples);

  std::printf("local engine speech figures (build type: %s)\n",
#ifdef NDEBUG
              "optimised"
#else
              "debug"
#endif
  );
  std::printf(
      "  lm build (%zu sentences, %zu/%zu/%zu n-grams): first %.1f ms (incl. cmudict "
      "load), then %.2f ms\n",
      corpus.size(), model->counts.unigrams, model->counts.bigrams, model->counts.trigrams,
      first_build_ms, build_ms);
  std::printf("  recognizer init: %.1f ms per decoder, RSS %.1f MB per decoder\n", init_ms,
              rss_per_decoder);
  std::printf("  decode: %d utterances, %.0f ms audio, CPU RTF %.3f\n", utterances, audio_ms,
              cpu_ms / audio_ms);
  std::printf("  end-of-utterance finalisation: mean %.1f ms, max %.1f ms\n",
              final_ms_sum / utterances, final_ms_max);
  std::printf("  vad: %.2f us CPU per 20 ms frame\n", vad_us);

  const std::string prompt =
      "Thank you for calling Bright Smile Dental. We are open from nine to five, Monday to "
      "Friday. How can I help you today?";
  for (const char* voice : {"kal16", "slt", "rms", "awb", "kal"}) {
    auto synth = Synthesizer::Create(voice);
    ASSERT_TRUE(synth.has_value());
    ASSERT_TRUE(synth->SynthesizeAll("Warm up.").has_value());
    double first_ms = -1;
    std::size_t samples = 0;
    int rate = 0;
    const double c0 = CpuMs();
    const auto s0 = Clock::now();
    ASSERT_TRUE(synth
                    ->Synthesize(prompt,
                                 [&](std::span<const int16_t> pcm, int r) {
                                   if (first_ms < 0) first_ms = MsSince(s0);
                                   samples += pcm.size();
                                   rate = r;
                                 })
                    .has_value());
    const double total_ms = MsSince(s0);
    const double tts_cpu = CpuMs() - c0;
    const double audio = static_cast<double>(samples) * 1000.0 / rate;
    std::printf(
        "  tts %-5s: first chunk %.1f ms, whole %zu-char prompt %.1f ms for %.0f ms audio "
        "(RTF %.4f)\n",
        voice, first_ms, prompt.size(), total_ms, audio, tts_cpu / audio);
    EXPECT_GT(first_ms, 0.0);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tempo::engine::local
