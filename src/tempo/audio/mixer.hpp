#pragma once

#include "tempo/audio/wav.hpp"
#include "tempo/base/result.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace tempo::audio {

/// Which side of the call a chunk belongs to; the recording puts the caller left, agent right.
enum class MixChannel : uint8_t { kCaller = 0, kAgent = 1 };

/// Builds the stereo call recording incrementally. Each side's audio arrives on its own, in
/// chunks stamped with milliseconds since call start; every chunk is placed at its timestamp,
/// gaps become silence, and a chunk that would overlap audio already placed on its side is
/// appended after it instead (never dropped or mixed over). Frames are written to the
/// WavWriter as soon as both sides are known. The call clock is the latest chunk timestamp (or
/// AdvanceTo); a side with nothing placed up to `idle_fill` before it is filled with silence
/// there, so memory stays bounded by that window plus audio that arrives ahead of real time
/// (e.g. a TTS burst). Not thread-safe.
class StereoMixer {
 public:
  struct Options {
    /// A side this far behind the other is assumed silent up to that point.
    std::chrono::milliseconds idle_fill{200};
  };

  /// `writer` must be open with 2 channels (else InvalidArgument); its rate is the mixer's.
  static Result<StereoMixer> Create(WavWriter&& writer, Options options);
  static Result<StereoMixer> Create(WavWriter&& writer) { return Create(std::move(writer), {}); }

  /// Places `pcm` (mono, writer's rate) at `timestamp` on `channel`. Errors: those of the writer.
  Result<void> Add(MixChannel channel, std::chrono::milliseconds timestamp,
                   std::span<const int16_t> pcm);

  /// Declares the call clock is at `now`: both sides are silent up to `now - idle_fill` unless
  /// audio already arrived for it. Lets the recording advance when neither side sends audio.
  Result<void> AdvanceTo(std::chrono::milliseconds now);

  /// Pads the shorter side with silence to the longer one, writes everything and finishes the
  /// file. Further calls fail with FailedPrecondition.
  Result<void> Finish();

  /// Stereo frames written to the file so far.
  [[nodiscard]] uint64_t frames_written() const { return written_; }
  /// Chunks that arrived for a position already filled and were appended instead.
  [[nodiscard]] uint64_t displaced_chunks() const { return displaced_chunks_; }

 private:
  StereoMixer(WavWriter&& writer, Options options);

  [[nodiscard]] uint64_t End(std::size_t track) const { return written_ + tracks_[track].size(); }
  Result<void> PadTo(std::size_t track, uint64_t position);
  Result<void> AdvanceClock(uint64_t position);
  Result<void> Emit();

  WavWriter writer_;
  Options options_;
  uint64_t idle_fill_samples_;
  std::array<std::deque<int16_t>, 2> tracks_;
  uint64_t written_ = 0;  // frames already in the file; both tracks start here
  uint64_t clock_ = 0;    // latest known call time, in samples
  uint64_t displaced_chunks_ = 0;
  std::vector<int16_t> scratch_;
  bool finished_ = false;
};

}  // namespace tempo::audio
