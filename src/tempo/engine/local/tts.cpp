#include "tempo/engine/local/tts.hpp"

#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/engine/local/flite_support.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <flite/flite.h>
#include <memory>
#include <utility>

namespace tempo::engine::local {
namespace {

// Sentences longer than this are split at clause punctuation as well.
constexpr std::size_t kLongChunkChars = 80;

constexpr unsigned kSynthesisSeed = 1;

struct VoiceAlias {
  std::string_view id;
  FliteVoice voice;
};

constexpr std::array kVoiceAliases = {
    VoiceAlias{"kal16", FliteVoice::kKal16},
    VoiceAlias{"slt", FliteVoice::kSlt},
    VoiceAlias{"rms", FliteVoice::kRms},
    VoiceAlias{"awb", FliteVoice::kAwb},
    VoiceAlias{"kal", FliteVoice::kKal},
    // Nova Sonic voice ids (English): masculine -> rms, feminine -> slt.
    VoiceAlias{"matthew", FliteVoice::kRms},
    VoiceAlias{"tiffany", FliteVoice::kSlt},
    VoiceAlias{"amy", FliteVoice::kSlt},
};

bool IsBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

// Splits after any char in `breaks` that is followed by whitespace or the end of the text.
std::vector<std::string> SplitAfter(std::string_view text, std::string_view breaks) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (breaks.find(text[i]) == std::string_view::npos) continue;
    const bool at_boundary =
        i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1]));
    if (!at_boundary) continue;
    parts.emplace_back(Trim(text.substr(begin, i + 1 - begin)));
    begin = i + 1;
  }
  if (begin < text.size()) parts.emplace_back(Trim(text.substr(begin)));
  std::erase_if(parts, [](const std::string& p) { return IsBlank(p); });
  return parts;
}

struct WaveDeleter {
  void operator()(cst_wave* w) const { delete_wave(w); }
};

}  // namespace

std::string_view FliteVoiceName(FliteVoice voice) {
  switch (voice) {
    case FliteVoice::kKal16:
      return "kal16";
    case FliteVoice::kSlt:
      return "slt";
    case FliteVoice::kRms:
      return "rms";
    case FliteVoice::kAwb:
      return "awb";
    case FliteVoice::kKal:
      return "kal";
  }
  return "kal16";
}

int FliteVoiceSampleRateHz(FliteVoice voice) { return voice == FliteVoice::kKal ? 8000 : 16000; }

std::optional<FliteVoice> LookupVoice(std::string_view voice_id) {
  const std::string lower = Lower(voice_id);
  for (const auto& alias : kVoiceAliases) {
    if (alias.id == lower) return alias.voice;
  }
  return std::nullopt;
}

std::vector<std::string> SplitIntoChunks(std::string_view text) {
  std::vector<std::string> chunks;
  for (std::string& sentence : SplitAfter(text, ".!?")) {
    if (sentence.size() <= kLongChunkChars) {
      chunks.push_back(std::move(sentence));
      continue;
    }
    for (std::string& clause : SplitAfter(sentence, ",;:")) chunks.push_back(std::move(clause));
  }
  return chunks;
}

Result<Synthesizer> Synthesizer::Create(std::string_view voice_id) {
  internal::EnsureFliteInitialized();
  FliteVoice voice = kDefaultVoice;
  if (auto found = LookupVoice(voice_id)) {
    voice = *found;
  } else {
    TEMPO_LOG(engine, warn, "local tts: unknown voice id '{}', using '{}'", voice_id,
              FliteVoiceName(kDefaultVoice));
  }
  cst_voice* handle = internal::FliteVoiceByName(FliteVoiceName(voice));
  if (handle == nullptr && voice != kDefaultVoice) {
    TEMPO_LOG(engine, warn, "local tts: voice '{}' is not linked into this build, using '{}'",
              FliteVoiceName(voice), FliteVoiceName(kDefaultVoice));
    voice = kDefaultVoice;
    handle = internal::FliteVoiceByName(FliteVoiceName(voice));
  }
  if (handle == nullptr) return Internal("local tts: flite default voice is not registered");
  return Synthesizer(voice, handle);
}

Result<void> Synthesizer::Synthesize(std::string_view text, const ChunkCallback& on_chunk) const {
  if (text.size() > kMaxSynthesisTextBytes) {
    return ResourceExhausted("local tts: text of " + std::to_string(text.size()) +
                             " bytes exceeds the limit of " +
                             std::to_string(kMaxSynthesisTextBytes));
  }
  for (const std::string& chunk : SplitIntoChunks(text)) {
    std::unique_ptr<cst_wave, WaveDeleter> wave;
    {
      std::lock_guard lock(internal::FliteMutex());
      // Clustergen excitation draws noise from libc rand(); reseeding per chunk makes the
      // output a function of the text alone.
      std::srand(kSynthesisSeed);
      wave.reset(flite_text_to_wave(chunk.c_str(), handle_));
    }
    if (!wave) return Internal("local tts: flite produced no audio for a chunk");
    if (wave->num_samples <= 0) continue;  // e.g. punctuation only
    on_chunk(std::span<const int16_t>(wave->samples, static_cast<std::size_t>(wave->num_samples)),
             wave->sample_rate);
  }
  return Ok();
}

Result<std::vector<int16_t>> Synthesizer::SynthesizeAll(std::string_view text) const {
  std::vector<int16_t> pcm;
  TEMPO_TRY(Synthesize(text, [&pcm](std::span<const int16_t> chunk, int /*rate*/) {
    pcm.insert(pcm.end(), chunk.begin(), chunk.end());
  }));
  return pcm;
}

}  // namespace tempo::engine::local
