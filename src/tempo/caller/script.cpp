#include "tempo/caller/script.hpp"

#include "tempo/audio/g711.hpp"
#include "tempo/audio/resampler.hpp"
#include "tempo/audio/wav.hpp"
#include "tempo/engine/local/tts.hpp"

#include <fmt/format.h>

#include <charconv>
#include <fstream>

namespace tempo::caller {
namespace {

constexpr std::string_view kSpace = " \t\r\n";

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

Result<ScriptLine> ParseScriptLine(std::string_view line) {
  const auto first = line.find_first_not_of(kSpace);
  if (first == std::string_view::npos || line[first] != '[') {
    return ScriptLine{std::string(line), std::nullopt};
  }
  const std::string_view rest = line.substr(first);
  const auto close = rest.find(']');
  const std::string_view prefix = rest.substr(0, close == std::string_view::npos ? 40 : close + 1);
  auto bad = [&] {
    return InvalidArgument(
        fmt::format("\"{}\" is not a barge-in prefix: write [barge-in <N>ms], e.g. "
                    "[barge-in 1200ms]",
                    prefix));
  };
  if (close == std::string_view::npos) return bad();
  std::string_view inner = rest.substr(1, close - 1);  // "barge-in 1200ms"
  constexpr std::string_view kKeyword = "barge-in";
  if (!inner.starts_with(kKeyword)) return bad();
  inner.remove_prefix(kKeyword.size());
  const auto digits = inner.find_first_not_of(' ');
  if (digits == 0 || digits == std::string_view::npos) return bad();
  inner.remove_prefix(digits);
  uint32_t ms = 0;
  const auto [end, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), ms);
  const std::string_view unit(end, static_cast<std::size_t>(inner.data() + inner.size() - end));
  if (ec != std::errc{} || end == inner.data() ||
      unit.substr(0, unit.find_last_not_of(' ') + 1) != "ms") {
    return bad();
  }
  ScriptLine out;
  out.interrupt_after = std::chrono::milliseconds(ms);
  const std::string_view text = rest.substr(close + 1);
  const auto text_start = text.find_first_not_of(kSpace);
  if (text_start == std::string_view::npos) {
    return InvalidArgument(fmt::format("\"{}\" has nothing to say after it", prefix));
  }
  out.text = std::string(text.substr(text_start));
  return out;
}

Result<std::vector<CallerTurn>> SynthesizeTurns(const std::vector<std::string>& lines,
                                                std::string_view voice_id,
                                                const TurnPadding& padding) {
  std::vector<ScriptLine> parsed;
  for (const auto& line : lines) {
    if (line.find_first_not_of(kSpace) == std::string::npos) continue;
    auto script_line = ParseScriptLine(line);
    if (!script_line) {
      return InvalidArgument(
          fmt::format("caller line \"{}\": {}", line, script_line.error().message));
    }
    parsed.push_back(std::move(*script_line));
  }
  std::vector<CallerTurn> turns;
  if (parsed.empty()) return turns;
  TEMPO_ASSIGN_OR_RETURN(auto synthesizer,
                         engine::local::Synthesizer::Create(voice_id.empty() ? "kal16" : voice_id));
  for (const auto& line : parsed) {
    TEMPO_ASSIGN_OR_RETURN(auto pcm, synthesizer.SynthesizeAll(line.text));
    TEMPO_ASSIGN_OR_RETURN(auto clip, EncodeTurn(pcm, synthesizer.sample_rate_hz(), padding));
    turns.emplace_back(std::move(clip), line.interrupt_after);
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
