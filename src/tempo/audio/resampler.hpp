#pragma once

#include "tempo/base/result.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

struct SpeexResamplerState_;  // speexdsp's opaque state (speex/speex_resampler.h)

namespace tempo::audio {

/// The highest sample rate the audio module accepts (resampler and WAV files): above every rate
/// real audio uses, and low enough that a forged header cannot size a huge buffer.
inline constexpr int kMaxSampleRate = 384000;

/// Streaming mono int16 resampler over speexdsp, for the live call path (8 k <-> 16 k,
/// 24 k -> 8 k, 16 k -> 8 k, 22.05 k -> 8 k, ...). The filter's leading zeros are skipped, so
/// output sample k corresponds to input time k / out_rate; the last few milliseconds (the
/// filter delay, 1-5 ms) stay inside until Flush().
///
/// Same input and output rate is a plain copy. Move-only; not thread-safe (one per stream).
class Resampler {
 public:
  /// speexdsp quality 0..10; 3-5 is the VoIP range (4: ~4 ms delay, full stop-band rejection).
  static constexpr int kDefaultQuality = 4;

  /// Errors: InvalidArgument if a rate is outside 1..384000 Hz or quality outside 0..10;
  /// Internal if speexdsp refuses the configuration.
  static Result<Resampler> Create(int in_rate, int out_rate, int quality = kDefaultQuality);

  Resampler(Resampler&&) noexcept;
  Resampler& operator=(Resampler&&) noexcept;
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;
  ~Resampler();

  /// Resamples `in` and appends the output to `out`. Does not allocate when `out` has at least
  /// MaxOutputSize(in.size()) spare capacity. Chunking does not change the output: feeding a
  /// stream frame by frame gives the same samples as feeding it at once.
  void Process(std::span<const int16_t> in, std::vector<int16_t>& out);

  /// Appends the tail still held by the filter (end of stream). The resampler is then Reset().
  void Flush(std::vector<int16_t>& out);

  /// Forgets all history (e.g. between utterances that must not blend).
  void Reset();

  /// An upper bound on the samples one Process() call over `in_samples` appends.
  [[nodiscard]] std::size_t MaxOutputSize(std::size_t in_samples) const;

  [[nodiscard]] int in_rate() const { return in_rate_; }
  [[nodiscard]] int out_rate() const { return out_rate_; }
  /// Filter delay in input samples (what Flush() pushes through).
  [[nodiscard]] int InputLatency() const;

 private:
  struct StateDeleter {
    void operator()(SpeexResamplerState_* state) const;
  };

  Resampler(int in_rate, int out_rate, std::unique_ptr<SpeexResamplerState_, StateDeleter> state);

  int in_rate_;
  int out_rate_;
  std::unique_ptr<SpeexResamplerState_, StateDeleter> state_;  // null when the rates are equal
};

}  // namespace tempo::audio
