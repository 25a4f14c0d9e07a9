#pragma once

#include "tempo/base/result.hpp"
#include "tempo/caller/session.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::caller {

/// Silence around each caller turn, so the agent's VAD hears a clean start and end.
struct TurnPadding {
  std::chrono::milliseconds lead{600};
  std::chrono::milliseconds trail{1000};
};

/// Mono PCM at any rate -> padded 8 kHz μ-law. Errors: InvalidArgument for a bad rate.
Result<MulawClip> EncodeTurn(std::span<const int16_t> pcm, int sample_rate_hz,
                             const TurnPadding& padding);

/// A WAV file (PCM16 or μ-law, any rate, channels mixed down) as one padded turn.
/// Errors: those of ReadWavFile, and InvalidArgument for an empty file.
Result<MulawClip> LoadWavTurn(const std::filesystem::path& path, const TurnPadding& padding);

/// Each line synthesized with the local flite engine (`voice_id` as the agent settings name
/// it; "" = the default voice) as one padded turn. Empty lines are skipped.
/// Errors: those of the synthesizer.
Result<std::vector<MulawClip>> SynthesizeTurns(const std::vector<std::string>& lines,
                                               std::string_view voice_id,
                                               const TurnPadding& padding);

/// The lines of a script file (one caller turn per line; blank lines and lines starting with
/// '#' are skipped). Errors: NotFound / Unavailable when it cannot be read.
Result<std::vector<std::string>> ReadScriptFile(const std::filesystem::path& path);

}  // namespace tempo::caller
