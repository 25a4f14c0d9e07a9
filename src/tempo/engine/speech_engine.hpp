#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/clock.hpp"
#include "tempo/base/executor.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::engine {

enum class Role { kCaller, kAgent };
std::string_view ToString(Role role);

/// What someone said. Times are offsets from the start of the call.
struct Transcript {
  Role role = Role::kCaller;
  std::string text;
  bool is_final = true;  ///< partials may be replaced by later events of the same turn
  std::chrono::milliseconds start{0};
  std::chrono::milliseconds end{0};
};

/// The engine asks the runtime to act (end_call, transfer_call, voicemail, schedule_callback).
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments_json;  ///< a JSON object
};

struct ToolResult {
  std::string id;
  std::string name;
  std::string content_json;  ///< a JSON object
};

/// What a session has used so far (a model's tokens), as totals.
struct Usage {
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t input_speech_tokens = 0;
  int64_t input_text_tokens = 0;
  int64_t output_speech_tokens = 0;
  int64_t output_text_tokens = 0;
  /// What these tokens cost at the engine's configured price, in US dollars (0: not priced).
  double cost_usd = 0.0;
  friend bool operator==(const Usage&, const Usage&) = default;
};

/// Events from a session. Called on the call's executor only, one at a time.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  /// The session's usage totals so far (engines with a metered model report it).
  virtual void OnUsage(const Usage& /*usage*/) {}
  /// Agent speech, at the session's output_sample_rate(), mono.
  virtual void OnAudio(std::span<const int16_t> pcm) = 0;
  virtual void OnTranscript(const Transcript& transcript) = 0;
  virtual void OnToolCall(const ToolCall& call) = 0;
  /// The caller spoke over the agent: stop the agent's audio now (barge-in).
  virtual void OnInterrupted() = 0;
  /// The agent has produced all the audio of its current turn.
  virtual void OnAgentTurnEnd() = 0;
  /// The session cannot go on (stream dropped, model error). The runtime ends the call
  /// gracefully; no further events follow.
  virtual void OnError(const Error& error) = 0;
};

/// What a session needs from the call. Pointers outlive the session.
struct SessionParams {
  const agent::AgentConfig* agent = nullptr;
  CallSid call_sid;
  std::string from;
  std::string to;
  Executor* executor = nullptr;  ///< the call's serial executor (post, timers)
  const Clock* clock = nullptr;
  std::map<std::string, std::string> parameters;  ///< the stream's custom parameters
};

/// One call's conversation with an engine. Every method is called on the call's executor.
class SpeechSession {
 public:
  virtual ~SpeechSession() = default;
  [[nodiscard]] virtual int input_sample_rate() const = 0;
  [[nodiscard]] virtual int output_sample_rate() const = 0;
  /// The call is connected: greet (the agent speaks first).
  virtual void Start() = 0;
  /// Caller audio at input_sample_rate(), mono, normally 20 ms at a time.
  virtual void SendAudio(std::span<const int16_t> pcm) = 0;
  virtual void SendDtmf(char digit) = 0;
  virtual void SendToolResult(const ToolResult& result) = 0;
  /// The caller has heard the agent's audio up to this point of the current turn (from
  /// Twilio's mark echoes); engines may use it for barge-in and history.
  virtual void OnPlayed(std::chrono::milliseconds /*played*/) {}
  /// Ends the session; no events follow.
  virtual void Close() = 0;
};

/// A kind of engine (echo, local, nova_sonic). Thread-safe; shared by all calls.
class SpeechEngine {
 public:
  virtual ~SpeechEngine() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Prepares per-agent state ahead of calls (e.g. a language model); may block.
  virtual Result<void> Prepare(const agent::AgentConfig& /*agent*/) { return Ok(); }
  virtual Result<std::unique_ptr<SpeechSession>> Open(const SessionParams& params,
                                                      SessionObserver& observer) = 0;
};

/// The engines of this process, by name. Built at start-up, read-only afterwards.
class EngineRegistry {
 public:
  void Add(std::unique_ptr<SpeechEngine> engine);
  [[nodiscard]] SpeechEngine* Find(std::string_view name) const;
  /// The names of the engines added, in alphabetical order.
  [[nodiscard]] std::vector<std::string> Names() const;
  /// Prepare()s `agent` with the engine it names. Errors: those of Prepare, and kUnavailable
  /// when this process has no such engine.
  Result<void> Prepare(const agent::AgentConfig& agent) const;

 private:
  std::map<std::string, std::unique_ptr<SpeechEngine>, std::less<>> engines_;
};

}  // namespace tempo::engine
