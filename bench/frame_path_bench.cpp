// The per-20 ms-frame work of a call, both directions, as CallSession does it:
//   inbound:  Twilio media JSON -> parse + base64 decode -> μ-law decode -> resample 8k->16k
//   outbound: engine PCM 16k/24k -> resample to 8k -> μ-law encode -> media JSON + base64
// Target: <= 5 µs per direction per frame.
#include "tempo/audio/g711.hpp"
#include "tempo/audio/resampler.hpp"
#include "tempo/base/base64.hpp"
#include "tempo/twilio/media_stream.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <vector>

namespace {

std::string InboundFrame() {
  std::vector<uint8_t> mulaw(160);
  for (size_t i = 0; i < mulaw.size(); ++i) {
    mulaw[i] = tempo::audio::LinearToMulaw(int16_t(6000 * std::sin(double(i) * 0.2)));
  }
  return fmt::format(
      R"({{"event":"media","sequenceNumber":"4","media":{{"track":"inbound","chunk":"2","timestamp":"20","payload":"{}"}},"streamSid":"MZ00000000000000000000000000000001"}})",
      tempo::base64::Encode(mulaw));
}

void BM_InboundFrame(benchmark::State& state) {
  const int engine_rate = static_cast<int>(state.range(0));
  const std::string text = InboundFrame();
  tempo::twilio::InboundEvent event;
  std::vector<int16_t> pcm8k(160);
  std::vector<int16_t> pcm_engine;
  pcm_engine.reserve(1024);
  auto resampler = std::move(*tempo::audio::Resampler::Create(8000, engine_rate));
  for (auto _ : state) {
    auto ok = tempo::twilio::ParseInboundInto(text, event);
    auto& media = std::get<tempo::twilio::MediaMessage>(event);
    pcm8k.resize(media.payload.size());
    tempo::audio::MulawDecode(media.payload, pcm8k);
    pcm_engine.clear();
    resampler.Process(pcm8k, pcm_engine);
    benchmark::DoNotOptimize(ok);
    benchmark::DoNotOptimize(pcm_engine.data());
  }
  state.SetLabel(fmt::format("engine at {} Hz", engine_rate));
}
BENCHMARK(BM_InboundFrame)->Arg(8000)->Arg(16000);

void BM_OutboundFrame(benchmark::State& state) {
  const int engine_rate = static_cast<int>(state.range(0));
  const size_t in_samples = static_cast<size_t>(engine_rate / 50);
  std::vector<int16_t> pcm(in_samples);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = int16_t(6000 * std::sin(double(i) * 0.1));
  std::vector<int16_t> pcm8k;
  pcm8k.reserve(1024);
  std::array<uint8_t, 160> mulaw{};
  std::string json;
  json.reserve(512);
  auto resampler = std::move(*tempo::audio::Resampler::Create(engine_rate, 8000));
  for (auto _ : state) {
    pcm8k.clear();
    resampler.Process(pcm, pcm8k);
    const size_t n = std::min(pcm8k.size(), mulaw.size());
    tempo::audio::MulawEncode(std::span<const int16_t>(pcm8k.data(), n), mulaw);
    tempo::twilio::WriteOutboundMedia("MZ00000000000000000000000000000001", mulaw, json);
    benchmark::DoNotOptimize(json.data());
  }
  state.SetLabel(fmt::format("engine at {} Hz", engine_rate));
}
BENCHMARK(BM_OutboundFrame)->Arg(8000)->Arg(16000)->Arg(24000);

}  // namespace

BENCHMARK_MAIN();
