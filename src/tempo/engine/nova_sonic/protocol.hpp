#pragma once

// Amazon Nova Sonic's event protocol, sans-I/O: the JSON of every input event the engine sends
// (session and prompt set-up with the agent's voice and tools, the system prompt, the caller's
// audio, tool results, the closing events) and the parsing of every output event it receives
// (transcripts with their generation stage, speech, tool use, interruption, usage). The
// transport (HTTP/2, the event stream, signing) is elsewhere; each event here is the JSON that
// rides in one frame as {"bytes": base64(JSON)}.

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/result.hpp"
#include "tempo/engine/speech_engine.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tempo::engine::nova {

struct ToolSpec {
  std::string name;
  std::string description;
  std::string input_schema;  ///< a JSON Schema, as text (Nova wants it as a string)
};

/// Every agent's tools: the seed's end_call, transfer_call, voicemail and schedule_callback,
/// and search_knowledge_base (answered from the agent's knowledge base).
std::vector<ToolSpec> AgentTools();

/// The seed's system prompt: the agent's prompt, who it is, the tools, and the goodbye rule.
std::string SystemPrompt(const agent::AgentConfig& agent);

/// Nova Sonic's voices (the Nova 2 schema's list); an agent's voiceId must be one.
const std::vector<std::string>& Voices();
[[nodiscard]] bool IsVoice(std::string_view voice_id);

struct SessionSettings {
  int max_tokens = 1024;
  double top_p = 0.9;
  double temperature = 0.7;
  std::string endpointing_sensitivity = "MEDIUM";  ///< HIGH | MEDIUM | LOW (Nova 2)
  std::string voice_id = "matthew";
  int output_sample_rate = 24000;
  int input_sample_rate = 16000;
};

/// The JSON of the input events of one prompt, in the order the model wants them.
class InputEvents {
 public:
  explicit InputEvents(std::string prompt_name) : prompt_(std::move(prompt_name)) {}
  [[nodiscard]] const std::string& prompt_name() const { return prompt_; }

  [[nodiscard]] static std::string SessionStart(const SessionSettings& settings);
  [[nodiscard]] std::string PromptStart(const SessionSettings& settings,
                                        const std::vector<ToolSpec>& tools) const;
  /// A whole text block: contentStart, its text in textInput events of at most 1,000 bytes
  /// each (Nova's limit; never splitting a UTF-8 character), contentEnd. `role` is SYSTEM,
  /// USER or ASSISTANT; `interactive` for typed input during a live session.
  [[nodiscard]] std::vector<std::string> TextBlock(std::string_view content_name,
                                                   std::string_view role, std::string_view text,
                                                   bool interactive) const;
  /// Opens the caller's audio (16-bit LPCM at the settings' input rate), kept open all call.
  [[nodiscard]] std::string AudioStart(std::string_view content_name,
                                       const SessionSettings& settings) const;
  [[nodiscard]] std::string AudioInput(std::string_view content_name,
                                       std::span<const int16_t> pcm) const;
  /// A tool's result: contentStart (TOOL, for `tool_use_id`), toolResult, contentEnd.
  [[nodiscard]] std::vector<std::string> ToolResult(std::string_view content_name,
                                                    std::string_view tool_use_id,
                                                    std::string_view result_json) const;
  [[nodiscard]] std::string ContentEnd(std::string_view content_name) const;
  [[nodiscard]] std::string PromptEnd() const;
  [[nodiscard]] static std::string SessionEnd();

 private:
  std::string prompt_;
};

// ---- Output events ----

enum class ContentType { kText, kAudio, kTool, kOther };
enum class Stage { kFinal, kSpeculative };

struct CompletionStart {};
struct ContentStart {
  std::string content_id;
  ContentType type = ContentType::kOther;
  std::string role;  ///< USER, ASSISTANT, TOOL
  Stage stage = Stage::kFinal;
};
struct TextOutput {
  std::string content_id;
  std::string role;  ///< may be empty: then the role of its contentStart
  std::string text;
  bool interrupted = false;  ///< the barge-in marker {"interrupted": true} instead of words
};
struct AudioOutput {
  std::string content_id;
  std::vector<int16_t> pcm;  ///< at the output rate of the prompt
};
struct ToolUse {
  std::string content_id;
  std::string tool_name;
  std::string tool_use_id;
  std::string input_json;  ///< the tool's input, a JSON object as text
};
struct ContentEnd {
  std::string content_id;
  ContentType type = ContentType::kOther;
  std::string stop_reason;  ///< PARTIAL_TURN, END_TURN, INTERRUPTED, TOOL_USE
};
/// Usage totals so far in the session (a usageEvent).
using Usage = engine::Usage;
struct CompletionEnd {
  std::string stop_reason;
};
/// An event this engine does not use (kept by name, so a new one is logged, not fatal).
struct OtherEvent {
  std::string name;
};

using OutputEvent = std::variant<CompletionStart, ContentStart, TextOutput, AudioOutput, ToolUse,
                                 ContentEnd, Usage, CompletionEnd, OtherEvent>;

/// Parses one output event ({"event": {...}}). kProtocol for JSON that is not an event, or an
/// event missing what the engine needs (a toolUse without its id, audio that is not base64).
Result<OutputEvent> ParseOutputEvent(std::string_view json);

/// The payload of a Bedrock chunk frame, {"bytes": base64(event)}, and back.
std::string WrapChunk(std::string_view event_json);
Result<std::string> UnwrapChunk(std::string_view payload);

}  // namespace tempo::engine::nova
