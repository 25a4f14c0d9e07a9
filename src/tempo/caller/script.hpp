#pragma once

#include "tempo/base/result.hpp"
#include "tempo/caller/session.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
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

/// A caller line: what to say, and whether it is a barge-in.
struct ScriptLine {
  std::string text;
  std::optional<std::chrono::milliseconds> interrupt_after;  ///< CallerTurn::interrupt_after
};

/// Reads the optional prefix of a caller line: `[barge-in 1200ms] What are your hours?` is a
/// barge-in after 1200 ms of the agent's audio. Errors: InvalidArgument for a line that starts
/// with '[' but not with a well-formed `[barge-in <N>ms]`, or that has nothing to say after it.
Result<ScriptLine> ParseScriptLine(std::string_view line);

/// Each line (with its optional prefix, see ParseScriptLine) synthesized with the local flite
/// engine (`voice_id` as the agent settings name it; "" = the default voice) as one padded
/// turn. Empty lines are skipped. Every line is parsed before any is synthesized.
/// Errors: those of ParseScriptLine (naming the line) and of the synthesizer.
Result<std::vector<CallerTurn>> SynthesizeTurns(const std::vector<std::string>& lines,
                                                std::string_view voice_id,
                                                const TurnPadding& padding);

/// The lines of a script file (one caller turn per line; blank lines and lines starting with
/// '#' are skipped). Errors: NotFound / Unavailable when it cannot be read.
Result<std::vector<std::string>> ReadScriptFile(const std::filesystem::path& path);

}  // namespace tempo::caller
