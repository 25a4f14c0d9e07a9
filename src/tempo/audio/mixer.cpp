#include "tempo/audio/mixer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace tempo::audio {
namespace {
// Emission granularity; also bounds how much silence a timestamp jump adds before writing.
constexpr uint64_t kBlockFrames = 4096;

uint64_t ToSamples(std::chrono::milliseconds ms, int rate) {
  if (ms.count() <= 0) return 0;
  return static_cast<uint64_t>(ms.count()) * static_cast<uint64_t>(rate) / 1000;
}
}  // namespace

Result<StereoMixer> StereoMixer::Create(WavWriter&& writer, Options options) {
  if (!writer.is_open()) return InvalidArgument("mixer: writer is not open");
  if (writer.channels() != 2) {
    return InvalidArgument(fmt::format("mixer: writer has {} channels, need 2", writer.channels()));
  }
  if (options.idle_fill.count() < 0) return InvalidArgument("mixer: negative idle_fill");
  return StereoMixer(std::move(writer), options);
}

StereoMixer::StereoMixer(WavWriter&& writer, Options options)
    : writer_(std::move(writer)),
      options_(options),
      idle_fill_samples_(ToSamples(options.idle_fill, writer_.sample_rate())) {
  scratch_.reserve(2 * kBlockFrames);
}

Result<void> StereoMixer::Add(MixChannel channel, std::chrono::milliseconds timestamp,
                              std::span<const int16_t> pcm) {
  if (finished_) return Error(ErrorCode::kFailedPrecondition, "mixer: already finished");
  const auto index = static_cast<std::size_t>(channel);
  const uint64_t position = ToSamples(timestamp, writer_.sample_rate());
  // A chunk's start time is the best knowledge of the call clock: the sides' timelines up to
  // idle_fill before it are final.
  TEMPO_TRY(AdvanceClock(position));
  if (position < End(index) && !pcm.empty()) ++displaced_chunks_;
  TEMPO_TRY(PadTo(index, position));
  auto& track = tracks_[index];
  while (!pcm.empty()) {
    const std::size_t n = std::min<std::size_t>(pcm.size(), kBlockFrames);
    track.insert(track.end(), pcm.begin(), pcm.begin() + static_cast<std::ptrdiff_t>(n));
    pcm = pcm.subspan(n);
    TEMPO_TRY(Emit());
  }
  return Ok();
}

Result<void> StereoMixer::AdvanceTo(std::chrono::milliseconds now) {
  if (finished_) return Error(ErrorCode::kFailedPrecondition, "mixer: already finished");
  return AdvanceClock(ToSamples(now, writer_.sample_rate()));
}

Result<void> StereoMixer::AdvanceClock(uint64_t position) {
  clock_ = std::max(clock_, position);
  if (clock_ <= idle_fill_samples_) return Ok();
  TEMPO_TRY(PadTo(0, clock_ - idle_fill_samples_));
  return PadTo(1, clock_ - idle_fill_samples_);
}

Result<void> StereoMixer::PadTo(std::size_t index, uint64_t position) {
  // Block by block with writes in between, so a timestamp jump never holds a long silence.
  auto& track = tracks_[index];
  while (End(index) < position) {
    const uint64_t n = std::min(position - End(index), kBlockFrames);
    track.insert(track.end(), static_cast<std::size_t>(n), int16_t{0});
    TEMPO_TRY(Emit());
  }
  return Ok();
}

Result<void> StereoMixer::Emit() {
  auto& left = tracks_[0];
  auto& right = tracks_[1];
  while (!left.empty() && !right.empty()) {
    const std::size_t n = std::min({left.size(), right.size(), std::size_t{kBlockFrames}});
    scratch_.clear();
    for (std::size_t i = 0; i < n; ++i) {
      scratch_.push_back(left[i]);
      scratch_.push_back(right[i]);
    }
    left.erase(left.begin(), left.begin() + static_cast<std::ptrdiff_t>(n));
    right.erase(right.begin(), right.begin() + static_cast<std::ptrdiff_t>(n));
    written_ += n;
    TEMPO_TRY(writer_.WriteInterleaved(scratch_));
  }
  return Ok();
}

Result<void> StereoMixer::Finish() {
  if (finished_) return Error(ErrorCode::kFailedPrecondition, "mixer: already finished");
  finished_ = true;
  const uint64_t end = std::max(End(0), End(1));
  tracks_[0].resize(static_cast<std::size_t>(end - written_), 0);
  tracks_[1].resize(static_cast<std::size_t>(end - written_), 0);
  TEMPO_TRY(Emit());
  return writer_.Finish();
}

}  // namespace tempo::audio
