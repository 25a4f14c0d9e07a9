#include "tempo/caller/recorder.hpp"

#include "tempo/audio/g711.hpp"
#include "tempo/audio/wav.hpp"

#include <algorithm>

namespace tempo::caller {

void CallRecorder::Place(std::vector<int16_t>& track, TimePoint at,
                         std::span<const uint8_t> mulaw) {
  const auto offset_us = std::chrono::duration_cast<std::chrono::microseconds>(at - start_).count();
  const auto index = static_cast<std::size_t>(std::max<int64_t>(0, offset_us) / 125);
  if (track.size() < index + mulaw.size()) track.resize(index + mulaw.size(), 0);
  audio::MulawDecode(mulaw, std::span(track).subspan(index, mulaw.size()));
}

Result<void> CallRecorder::WriteAgentWav(const std::filesystem::path& path) const {
  TEMPO_ASSIGN_OR_RETURN(auto writer, audio::WavWriter::Open(path, 8000, 1));
  TEMPO_TRY(writer.WriteInterleaved(agent_));
  return writer.Finish();
}

Result<void> CallRecorder::WriteStereoWav(const std::filesystem::path& path) const {
  TEMPO_ASSIGN_OR_RETURN(auto writer, audio::WavWriter::Open(path, 8000, 2));
  const std::size_t frames = std::max(caller_.size(), agent_.size());
  std::vector<int16_t> interleaved(frames * 2, 0);
  for (std::size_t i = 0; i < caller_.size(); ++i) interleaved[2 * i] = caller_[i];
  for (std::size_t i = 0; i < agent_.size(); ++i) interleaved[2 * i + 1] = agent_[i];
  TEMPO_TRY(writer.WriteInterleaved(interleaved));
  return writer.Finish();
}

}  // namespace tempo::caller
