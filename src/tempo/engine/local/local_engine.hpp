#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/engine/local/dialogue.hpp"
#include "tempo/engine/local/lm_builder.hpp"
#include "tempo/engine/local/vad.hpp"
#include "tempo/engine/speech_engine.hpp"

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace tempo::engine::local {

/// When one caller turn passed each stage (reported through LocalEngineOptions::on_turn).
/// Clock times are the session clock's; the speech end is the audio position of the last
/// speech frame, counted from the session's first caller frame.
struct TurnTiming {
  std::chrono::milliseconds speech_end_audio{0};
  Clock::Steady::time_point speech_end_at;   ///< when that last speech frame arrived
  Clock::Steady::time_point endpoint_at;     ///< the endpointer closed the turn (after hang-over)
  Clock::Steady::time_point hypothesis_at;   ///< the decoder's hypothesis is back on the executor
  Clock::Steady::time_point first_audio_at;  ///< the reply's first audio left (OnAudio)
  std::string caller_text;
  std::string closed_text;  ///< the closed grammar's reading, when the dialogue expected one
  Intent intent = Intent::kNone;
};

/// Knowledge bases past these limits are refused by Prepare() / Open() with kResourceExhausted
/// (the domain LM builder has its own limits on top, see LmBuildOptions).
inline constexpr std::size_t kMaxKnowledgeEntries = 2000;
inline constexpr std::size_t kMaxKnowledgeBytes = 512 * 1024;

struct LocalEngineOptions {
  /// pocketsphinx acoustic model directory (package pocketsphinx-en-us).
  std::filesystem::path model_dir = std::filesystem::path(kDefaultModelDir);
  /// Where per-agent LM/dictionary files are cached by content hash. Empty: a "tempovoice-lm"
  /// folder in the system temp directory.
  std::filesystem::path cache_dir;
  LmBuildOptions lm;
  /// Worker threads for decoding and synthesis (0: one per hardware thread).
  std::size_t worker_threads = 0;
  /// kVeryAggressive rejects more line noise; the energy gate below does the rest.
  VadMode vad_mode = VadMode::kVeryAggressive;
  /// Caller silence that ends a turn.
  std::chrono::milliseconds hangover{400};
  /// A frame counts as speech only if it is this much louder than the tracked noise floor.
  double noise_margin_db = 6.0;
  /// ... and louder than this absolute level.
  double min_speech_dbfs = -55.0;
  /// Caller silence (after the agent finished speaking) before "Are you still there?"; the
  /// same again ends the call.
  std::chrono::milliseconds silence_timeout{8000};
  DialogueOptions dialogue;
  /// Called on the call's executor once per answered caller turn (benchmarks, diagnostics).
  std::function<void(const TurnTiming&)> on_turn;
};

/// The embedded "no cloud" speech engine (name "local"): WebRTC VAD endpointing on the
/// caller's 8 kHz audio, pocketsphinx with a per-agent domain LM, the Dialogue logic and flite
/// TTS streamed per sentence. Decoding and synthesis run on the engine's worker pool; results
/// are posted to the call's executor, which only runs the VAD (a few µs per frame) and the
/// dialogue. Sessions take caller audio at 8 kHz and speak at the agent voice's rate (16 kHz
/// for kal16). Thread-safe; shared by all calls.
class LocalEngine final : public SpeechEngine {
 public:
  /// Errors: kNotFound if the acoustic model is missing (install pocketsphinx-en-us).
  static Result<std::unique_ptr<LocalEngine>> Create(LocalEngineOptions options = {});
  ~LocalEngine() override;

  [[nodiscard]] std::string_view name() const override { return "local"; }

  /// Builds (or loads from the cache) the agent's domain LM and dictionary from its knowledge
  /// base, tool phrases and common call phrases. Milliseconds for a normal knowledge base;
  /// the first call in a process also loads cmudict (~0.1 s). Blocks; thread-safe.
  /// Errors: kResourceExhausted past kMaxKnowledgeEntries / kMaxKnowledgeBytes or an LM limit;
  /// kNotFound for a missing cmudict; kUnavailable if the cache cannot be written.
  Result<void> Prepare(const agent::AgentConfig& agent) override;

  /// Opens a session without blocking: the greeting is synthesised at once, the decoder is
  /// created on a worker (preparing the agent first if Prepare() was not called). A failure
  /// there arrives as OnError. Errors: kInvalidArgument without agent, executor or clock.
  Result<std::unique_ptr<SpeechSession>> Open(const SessionParams& params,
                                              SessionObserver& observer) override;

  /// Blocks until no decoding or synthesis work is queued or running (tests, benchmarks).
  void WaitIdle();

  struct Impl;

 private:
  explicit LocalEngine(std::unique_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

/// The engine as the registry wants it. On a setup error (missing model) it logs and returns
/// nullptr; use LocalEngine::Create to see the error.
std::unique_ptr<SpeechEngine> MakeLocalEngine(LocalEngineOptions options = {});

}  // namespace tempo::engine::local
