#pragma once

#include "tempo/engine/speech_engine.hpp"

#include <chrono>
#include <memory>

namespace tempo::engine {

struct EchoOptions {
  /// Silence after the caller's speech before the echo starts.
  std::chrono::milliseconds pause{600};
  /// Longest utterance repeated; the rest is dropped.
  std::chrono::milliseconds max_utterance{15'000};
  /// Mean absolute amplitude (int16) above which a 20 ms frame counts as speech.
  int speech_level = 300;
};

/// The line-test engine: repeats what the caller said after a pause, in the caller's own
/// voice. It greets with a short tone, reports barge-in when the caller speaks over an echo,
/// and maps DTMF to tools so every call path can be tried without a speech engine:
/// '#' -> end_call, '0' -> transfer_call, '*' -> voicemail. Cheap enough for load tests.
std::unique_ptr<SpeechEngine> MakeEchoEngine(EchoOptions options = {});

}  // namespace tempo::engine
