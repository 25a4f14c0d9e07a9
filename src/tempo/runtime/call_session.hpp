#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/net/websocket.hpp"
#include "tempo/runtime/call_record.hpp"
#include "tempo/runtime/runtime.hpp"

#include <memory>
#include <string_view>

namespace tempo::runtime {

/// One phone call: bridges a Twilio media stream and a speech-engine session in real time,
/// and leaves a transcript, a stereo recording and metadata behind.
///
/// Inbound:  media (base64 μ-law 8 kHz) -> decode -> recording (left) -> resample -> engine.
/// Outbound: engine audio -> resample to 8 kHz -> μ-law -> 20 ms frames, paced -> socket,
///           recording (right), a `mark` after each agent turn to learn what was heard.
/// Barge-in: `clear` at once, queued audio dropped, the agent's turn cut at what was played.
///
/// Threading: everything runs on the WebSocket's executor (one strand per call); blocking
/// work (write-ahead file, storing artefacts) goes to the runtime's blocking pool.
/// Lifetime: owned by the WebSocket (as its listener) and by pending blocking jobs.
class CallSession final : public net::WebSocketListener,
                          public engine::SessionObserver,
                          public std::enable_shared_from_this<CallSession> {
 public:
  static std::shared_ptr<CallSession> Create(Runtime& runtime,
                                             std::shared_ptr<const agent::AgentConfig> agent,
                                             std::shared_ptr<net::WebSocket> socket);
  ~CallSession() override;

  // net::WebSocketListener
  void OnText(std::string_view message) override;
  void OnBinary(std::string_view message) override;
  void OnClose(const net::CloseInfo& info) override;

  // engine::SessionObserver
  void OnAudio(std::span<const int16_t> pcm) override;
  void OnTranscript(const engine::Transcript& transcript) override;
  void OnToolCall(const engine::ToolCall& call) override;
  void OnInterrupted() override;
  void OnAgentTurnEnd() override;
  void OnError(const Error& error) override;
  void OnUsage(const engine::Usage& usage) override;

  /// Ends the call from outside (server shutdown). Thread-safe.
  void RequestEnd(std::string outcome, std::string reason);

  struct Impl;

 private:
  explicit CallSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tempo::runtime
