// ParseWav over arbitrary bytes: must never crash, read out of bounds or allocate beyond the
// input; whatever it accepts must be self-consistent.
#include "tempo/audio/wav.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto wav = tempo::audio::ParseWav(std::span<const uint8_t>(data, size));
  if (!wav) return 0;
  const auto bytes_per_sample = wav->encoding == tempo::audio::WavEncoding::kMulaw ? 1u : 2u;
  if (wav->channels < 1 || wav->sample_rate < 1 ||
      wav->samples.size() % static_cast<std::size_t>(wav->channels) != 0 ||
      wav->samples.size() * bytes_per_sample > size) {
    std::abort();
  }
  return 0;
}
