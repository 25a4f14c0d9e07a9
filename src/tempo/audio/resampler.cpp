#include "tempo/audio/resampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <speex/speex_resampler.h>

namespace tempo::audio {
namespace {}  // namespace

void Resampler::StateDeleter::operator()(SpeexResamplerState_* state) const {
  speex_resampler_destroy(state);
}

Result<Resampler> Resampler::Create(int in_rate, int out_rate, int quality) {
  if (in_rate <= 0 || in_rate > kMaxSampleRate || out_rate <= 0 || out_rate > kMaxSampleRate) {
    return InvalidArgument(fmt::format("resampler: unsupported rates {} -> {}", in_rate, out_rate));
  }
  if (quality < SPEEX_RESAMPLER_QUALITY_MIN || quality > SPEEX_RESAMPLER_QUALITY_MAX) {
    return InvalidArgument(fmt::format("resampler: quality {} outside 0..10", quality));
  }
  if (in_rate == out_rate) {
    return Resampler(in_rate, out_rate, nullptr);
  }
  int err = RESAMPLER_ERR_SUCCESS;
  std::unique_ptr<SpeexResamplerState_, StateDeleter> state(speex_resampler_init(
      1, static_cast<spx_uint32_t>(in_rate), static_cast<spx_uint32_t>(out_rate), quality, &err));
  if (!state || err != RESAMPLER_ERR_SUCCESS) {
    return Internal(fmt::format("speex_resampler_init({} -> {}, q{}): {}", in_rate, out_rate,
                                quality, speex_resampler_strerror(err)));
  }
  speex_resampler_skip_zeros(state.get());
  return Resampler(in_rate, out_rate, std::move(state));
}

Resampler::Resampler(int in_rate, int out_rate,
                     std::unique_ptr<SpeexResamplerState_, StateDeleter> state)
    : in_rate_(in_rate), out_rate_(out_rate), state_(std::move(state)) {}

Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;
Resampler::~Resampler() = default;

std::size_t Resampler::MaxOutputSize(std::size_t in_samples) const {
  // ceil(in * out / in_rate) plus one for the fractional phase carried between calls.
  const auto num = static_cast<uint64_t>(in_samples) * static_cast<uint64_t>(out_rate_);
  const auto den = static_cast<uint64_t>(in_rate_);
  return static_cast<std::size_t>((num + den - 1) / den) + 2;
}

int Resampler::InputLatency() const {
  return state_ ? speex_resampler_get_input_latency(state_.get()) : 0;
}

void Resampler::Process(std::span<const int16_t> in, std::vector<int16_t>& out) {
  if (!state_) {
    out.insert(out.end(), in.begin(), in.end());
    return;
  }
  // speexdsp takes 32-bit counts; a chunk bound keeps each call well inside that.
  constexpr std::size_t kMaxChunk = 1u << 20;
  while (!in.empty()) {
    const std::size_t chunk = std::min(in.size(), kMaxChunk);
    const std::size_t old_size = out.size();
    out.resize(old_size + MaxOutputSize(chunk));
    auto in_len = static_cast<spx_uint32_t>(chunk);
    auto out_len = static_cast<spx_uint32_t>(out.size() - old_size);
    speex_resampler_process_int(state_.get(), 0, in.data(), &in_len, out.data() + old_size,
                                &out_len);
    out.resize(old_size + out_len);
    // With room for every output sample speexdsp consumes the whole chunk; the guard only
    // keeps a surprise from spinning forever.
    if (in_len == 0 && out_len == 0) return;
    in = in.subspan(in_len);
  }
}

void Resampler::Flush(std::vector<int16_t>& out) {
  if (!state_) return;
  // Zeros push the buffered input through the filter; only the samples that belong to real
  // input are kept.
  const auto latency = static_cast<std::size_t>(InputLatency());
  const std::vector<int16_t> zeros(latency, 0);
  const std::size_t old_size = out.size();
  Process(zeros, out);
  const auto wanted =
      static_cast<std::size_t>((static_cast<uint64_t>(latency) * static_cast<uint64_t>(out_rate_)) /
                               static_cast<uint64_t>(in_rate_));
  if (out.size() > old_size + wanted) out.resize(old_size + wanted);
  Reset();
}

void Resampler::Reset() {
  if (!state_) return;
  speex_resampler_reset_mem(state_.get());
  speex_resampler_skip_zeros(state_.get());
}

}  // namespace tempo::audio
