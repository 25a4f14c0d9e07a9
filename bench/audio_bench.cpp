// Per-20 ms-frame costs of the audio path (one call handles 50 frames/s each way).
#include "tempo/audio/g711.hpp"
#include "tempo/audio/resampler.hpp"

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

namespace {

using tempo::audio::Resampler;

std::vector<int16_t> Tone(int rate, std::size_t samples) {
  std::vector<int16_t> out(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(
        std::lround(9000 * std::sin(2 * std::numbers::pi * 440.0 * static_cast<double>(i) / rate)));
  }
  return out;
}

void BM_MulawDecodeFrame(benchmark::State& state) {
  std::vector<uint8_t> in(160);
  tempo::audio::MulawEncode(Tone(8000, 160), in);
  std::vector<int16_t> out(160);
  for (auto _ : state) {
    tempo::audio::MulawDecode(in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 160);
}
BENCHMARK(BM_MulawDecodeFrame);

void BM_MulawEncodeFrame(benchmark::State& state) {
  const auto in = Tone(8000, 160);
  std::vector<uint8_t> out(160);
  for (auto _ : state) {
    tempo::audio::MulawEncode(in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 160);
}
BENCHMARK(BM_MulawEncodeFrame);

void BM_AlawEncodeFrame(benchmark::State& state) {
  const auto in = Tone(8000, 160);
  std::vector<uint8_t> out(160);
  for (auto _ : state) {
    tempo::audio::AlawEncode(in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_AlawEncodeFrame);

// Args: input rate, output rate, quality. One iteration = one 20 ms input frame.
void BM_ResampleFrame(benchmark::State& state) {
  const auto in_rate = static_cast<int>(state.range(0));
  const auto out_rate = static_cast<int>(state.range(1));
  auto resampler = Resampler::Create(in_rate, out_rate, static_cast<int>(state.range(2)));
  if (!resampler) {
    state.SkipWithError(resampler.error().message.c_str());
    return;
  }
  const auto frame = Tone(in_rate, static_cast<std::size_t>(in_rate / 50));
  std::vector<int16_t> out;
  out.reserve(resampler->MaxOutputSize(frame.size()));
  for (auto _ : state) {
    out.clear();
    resampler->Process(frame, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["latency_ms"] = 1000.0 * resampler->InputLatency() / static_cast<double>(in_rate);
}
BENCHMARK(BM_ResampleFrame)
    ->ArgNames({"in", "out", "q"})
    ->Args({8000, 16000, 4})
    ->Args({16000, 8000, 4})
    ->Args({24000, 8000, 4})
    ->Args({8000, 24000, 4})
    ->Args({22050, 8000, 4})
    ->Args({8000, 16000, 3})
    ->Args({24000, 8000, 3});

}  // namespace

BENCHMARK_MAIN();
