#pragma once

#include "tempo/base/result.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct cst_voice_struct;

namespace tempo::engine::local {

/// flite voices that can be compiled in. kKal16 is always present.
enum class FliteVoice : uint8_t { kKal16, kSlt, kRms, kAwb, kKal };

/// The voice used when an agent's voice id is unknown.
inline constexpr FliteVoice kDefaultVoice = FliteVoice::kKal16;

/// Longest text one Synthesize call accepts (bytes); longer prompts are a configuration bug.
inline constexpr std::size_t kMaxSynthesisTextBytes = 16 * 1024;

/// flite's short name ("kal16", "slt", ...).
std::string_view FliteVoiceName(FliteVoice voice);

/// Native output rate of a voice (kal: 8000, the others: 16000).
int FliteVoiceSampleRateHz(FliteVoice voice);

/// Maps an agent voice id (case-insensitive) to a flite voice: flite names map to themselves and
/// Nova Sonic ids map by gender/accent (matthew -> rms, tiffany -> slt, amy -> slt). The table is
/// in docs/local-engine.md. nullopt if the id is unknown.
std::optional<FliteVoice> LookupVoice(std::string_view voice_id);

/// Splits text into synthesis chunks: sentences, and long sentences further at clause
/// punctuation, so the first audio can leave before the whole text is synthesised.
/// Whitespace-only chunks are dropped. Deterministic.
std::vector<std::string> SplitIntoChunks(std::string_view text);

/// Text-to-speech over flite with statically linked voices.
///
/// Voices are registered once per process (std::call_once). flite is not documented as
/// reentrant (global error state, shared voice singletons), so each chunk's synthesis holds a
/// process-wide mutex; callbacks run outside it. Output is deterministic (same text, same
/// samples): clustergen voices draw excitation noise from libc rand(), so each chunk reseeds it
/// with srand() under that mutex (nothing else in the process may rely on rand()).
/// Thread-compatible: one instance per call, or shared under external locking.
class Synthesizer {
 public:
  /// Receives mono int16 PCM at the voice's native rate. The span is valid only during the call.
  using ChunkCallback = std::function<void(std::span<const int16_t> pcm, int sample_rate_hz)>;

  /// Resolves `voice_id` with LookupVoice; unknown ids (and voices not linked into this binary)
  /// fall back to kDefaultVoice with a warning. Never fails for an unknown id.
  /// Errors: kInternal if flite has no voice at all.
  static Result<Synthesizer> Create(std::string_view voice_id);

  /// Synthesises `text` chunk by chunk (see SplitIntoChunks), calling `on_chunk` once per
  /// non-empty chunk in order. Empty text produces no callback.
  /// Errors: kResourceExhausted if text exceeds kMaxSynthesisTextBytes; kInternal if flite
  /// produces no wave for a chunk.
  Result<void> Synthesize(std::string_view text, const ChunkCallback& on_chunk) const;

  /// Convenience: the whole text as one buffer at sample_rate_hz().
  Result<std::vector<int16_t>> SynthesizeAll(std::string_view text) const;

  [[nodiscard]] FliteVoice voice() const { return voice_; }
  [[nodiscard]] int sample_rate_hz() const { return FliteVoiceSampleRateHz(voice_); }

 private:
  Synthesizer(FliteVoice voice, cst_voice_struct* handle) : voice_(voice), handle_(handle) {}

  FliteVoice voice_;
  cst_voice_struct* handle_;  // process-wide singleton owned by flite
};

}  // namespace tempo::engine::local
