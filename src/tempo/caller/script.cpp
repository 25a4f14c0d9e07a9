#include "tempo/caller/script.hpp"

#include "tempo/audio/g711.hpp"
#include "tempo/audio/resampler.hpp"
#include "tempo/audio/wav.hpp"
#include "tempo/engine/local/tts.hpp"

#include <fstream>

namespace tempo::caller {
namespace {

std::size_t SamplesFor(std::chrono::milliseconds d) {
  return static_cast<std::size_t>(d.count()) * 8;
}

}  // namespace

Result<MulawClip> EncodeTurn(std::span<const int16_t> pcm, int sample_rate_hz,
                             const TurnPadding& padding) {
  TEMPO_ASSIGN_OR_RETURN(auto resampler, audio::Resampler::Create(sample_rate_hz, 8000));
  std::vector<int16_t> pcm8k;
  pcm8k.reserve(resampler.MaxOutputSize(pcm.size()) + 64);
  resampler.Process(pcm, pcm8k);
  resampler.Flush(pcm8k);
  auto clip = std::make_shared<std::vector<uint8_t>>(
      SamplesFor(padding.lead) + pcm8k.size() + SamplesFor(padding.trail), audio::kMulawSilence);
  audio::MulawEncode(pcm8k, std::span(*clip).subspan(SamplesFor(padding.lead), pcm8k.size()));
  return MulawClip(std::move(clip));
}

Result<MulawClip> LoadWavTurn(const std::filesystem::path& path, const TurnPadding& padding) {
  TEMPO_ASSIGN_OR_RETURN(auto wav, audio::ReadWavFile(path));
  if (wav.frames() == 0) return InvalidArgument(path.string() + " holds no audio");
  std::vector<int16_t> mono(wav.frames());
  const auto channels = static_cast<std::size_t>(wav.channels);
  for (std::size_t i = 0; i < mono.size(); ++i) {
    int sum = 0;
    for (std::size_t c = 0; c < channels; ++c) sum += wav.samples[i * channels + c];
    mono[i] = static_cast<int16_t>(sum / static_cast<int>(channels));
  }
  return EncodeTurn(mono, wav.sample_rate, padding);
}

Result<std::vector<MulawClip>> SynthesizeTurns(const std::vector<std::string>& lines,
                                               std::string_view voice_id,
                                               const TurnPadding& padding) {
  std::vector<MulawClip> turns;
  if (lines.empty()) return turns;
  TEMPO_ASSIGN_OR_RETURN(auto synthesizer,
                         engine::local::Synthesizer::Create(voice_id.empty() ? "kal16" : voice_id));
  for (const auto& line : lines) {
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    TEMPO_ASSIGN_OR_RETURN(auto pcm, synthesizer.SynthesizeAll(line));
    TEMPO_ASSIGN_OR_RETURN(auto clip, EncodeTurn(pcm, synthesizer.sample_rate_hz(), padding));
    turns.push_back(std::move(clip));
  }
  return turns;
}

Result<std::vector<std::string>> ReadScriptFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open script file " + path.string());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    lines.push_back(line.substr(first));
  }
  if (in.bad()) return Unavailable("cannot read script file " + path.string());
  return lines;
}

}  // namespace tempo::caller
