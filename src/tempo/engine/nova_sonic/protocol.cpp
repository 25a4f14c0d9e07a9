#include "tempo/engine/nova_sonic/protocol.hpp"

#include "tempo/base/base64.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace tempo::engine::nova {
namespace {

using nlohmann::json;

constexpr size_t kMaxTextInputBytes = 1000;

std::string Event(json body) { return json{{"event", std::move(body)}}.dump(); }

// The largest prefix of `text` of at most `limit` bytes that ends on a UTF-8 boundary.
size_t Utf8Prefix(std::string_view text, size_t limit) {
  if (text.size() <= limit) return text.size();
  size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n == 0 ? limit : n;
}

ContentType TypeOf(const json& body) {
  const std::string type = body.value("type", "");
  if (type == "TEXT") return ContentType::kText;
  if (type == "AUDIO") return ContentType::kAudio;
  if (type == "TOOL") return ContentType::kTool;
  return ContentType::kOther;
}

Error Malformed(std::string what) { return ProtocolError("nova sonic: " + std::move(what)); }

}  // namespace

std::vector<ToolSpec> AgentTools() {
  const auto schema = [](json properties, std::vector<std::string> required) {
    return json{{"type", "object"}, {"properties", std::move(properties)}, {"required", required}}
        .dump();
  };
  return {
      {"end_call", "End the call once the caller has said goodbye and you have said goodbye back.",
       schema({{"reason", {{"type", "string"}, {"description", "why the call ends"}}}}, {})},
      {"transfer_call",
       "Transfer the caller to a human colleague, when they ask for a person "
       "or you cannot help.",
       schema({{"reason", {{"type", "string"}, {"description", "why a person is needed"}}}}, {})},
      {"voicemail", "Let the caller leave a voice message when nobody can take the call.",
       schema({{"reason", {{"type", "string"}}}}, {})},
      {"schedule_callback", "Book a call back to the caller at the time they choose.",
       schema({{"time", {{"type", "string"}, {"description", "when to call back, as said"}}},
               {"phone", {{"type", "string"}, {"description", "E.164 number, if not this one"}}},
               {"reason", {{"type", "string"}}}},
              {"time"})},
      {"search_knowledge_base",
       "Look up the business's own answers (opening hours, prices, services, policies) "
       "before answering a question about them.",
       schema({{"query", {{"type", "string"}, {"description", "the caller's question"}}}},
              {"query"})},
  };
}

std::string SystemPrompt(const agent::AgentConfig& agent) {
  std::string prompt = agent.prompt;
  if (!agent.guardrails.empty()) {
    prompt += "\n\nRules you always keep:";
    for (const auto& rule : agent.guardrails) prompt += "\n- " + rule;
  }
  prompt += fmt::format(
      "\n\nTOOL CALLING INSTRUCTIONS (CRITICAL):\nYou are {0} - {1}\n\nAvailable tools:\n"
      "1. end_call - End the conversation gracefully\n"
      "2. transfer_call - Transfer to human agent\n"
      "3. voicemail - Let customer leave message\n"
      "4. schedule_callback - Schedule callback\n"
      "5. search_knowledge_base - Look up the business's answers before you give them\n\n"
      "CRITICAL: When customer says goodbye:\n"
      "1. Say: \"Thank you for calling {0}. Have a great day!\"\n"
      "2. Call end_call tool immediately\n"
      "3. Do NOT continue conversation after end_call",
      agent.agent_name, agent.description);
  return prompt;
}

const std::vector<std::string>& Voices() {
  static const std::vector<std::string> kVoices = {
      "matthew",  "tiffany", "amy",  "olivia",   "lupe", "carlos", "ambre", "florian", "lennart",
      "beatrice", "lorenzo", "tina", "carolina", "leo",  "kiara",  "arjun", "greta"};
  return kVoices;
}

bool IsVoice(std::string_view voice_id) {
  const auto& v = Voices();
  return std::find(v.begin(), v.end(), voice_id) != v.end();
}

std::string InputEvents::SessionStart(const SessionSettings& s) {
  return Event(
      {{"sessionStart",
        {{"inferenceConfiguration",
          {{"maxTokens", s.max_tokens}, {"topP", s.top_p}, {"temperature", s.temperature}}},
         {"turnDetectionConfiguration",
          {{"endpointingSensitivity", s.endpointing_sensitivity}}}}}});
}

std::string InputEvents::PromptStart(const SessionSettings& s,
                                     const std::vector<ToolSpec>& tools) const {
  json body = {{"promptName", prompt_},
               {"textOutputConfiguration", {{"mediaType", "text/plain"}}},
               {"audioOutputConfiguration",
                {{"mediaType", "audio/lpcm"},
                 {"sampleRateHertz", s.output_sample_rate},
                 {"sampleSizeBits", 16},
                 {"channelCount", 1},
                 {"voiceId", s.voice_id},
                 {"encoding", "base64"},
                 {"audioType", "SPEECH"}}}};
  if (!tools.empty()) {
    json specs = json::array();
    for (const auto& t : tools) {
      specs.push_back({{"toolSpec",
                        {{"name", t.name},
                         {"description", t.description},
                         {"inputSchema", {{"json", t.input_schema}}}}}});
    }
    body["toolUseOutputConfiguration"] = {{"mediaType", "application/json"}};
    body["toolConfiguration"] = {{"tools", std::move(specs)}};
  }
  return Event({{"promptStart", std::move(body)}});
}

std::vector<std::string> InputEvents::TextBlock(std::string_view content_name,
                                                std::string_view role, std::string_view text,
                                                bool interactive) const {
  std::vector<std::string> events;
  events.push_back(Event({{"contentStart",
                           {{"promptName", prompt_},
                            {"contentName", content_name},
                            {"type", "TEXT"},
                            {"interactive", interactive},
                            {"role", role},
                            {"textInputConfiguration", {{"mediaType", "text/plain"}}}}}}));
  do {
    const size_t n = Utf8Prefix(text, kMaxTextInputBytes);
    events.push_back(Event({{"textInput",
                             {{"promptName", prompt_},
                              {"contentName", content_name},
                              {"content", text.substr(0, n)}}}}));
    text.remove_prefix(n);
  } while (!text.empty());
  events.push_back(ContentEnd(content_name));
  return events;
}

std::string InputEvents::AudioStart(std::string_view content_name, const SessionSettings& s) const {
  return Event({{"contentStart",
                 {{"promptName", prompt_},
                  {"contentName", content_name},
                  {"type", "AUDIO"},
                  {"interactive", true},
                  {"role", "USER"},
                  {"audioInputConfiguration",
                   {{"mediaType", "audio/lpcm"},
                    {"sampleRateHertz", s.input_sample_rate},
                    {"sampleSizeBits", 16},
                    {"channelCount", 1},
                    {"audioType", "SPEECH"},
                    {"encoding", "base64"}}}}}});
}

std::string InputEvents::AudioInput(std::string_view content_name,
                                    std::span<const int16_t> pcm) const {
  // Every 20 ms of a call: written directly rather than through a JSON document. LPCM is
  // little-endian, as the machine holds it (x86 and ARM are little-endian); base64 needs no
  // escaping.
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(pcm.data()),
                                       pcm.size_bytes());
  return fmt::format(
      R"({{"event":{{"audioInput":{{"promptName":{},"contentName":{},"content":"{}"}}}}}})",
      json(prompt_).dump(), json(content_name).dump(), base64::Encode(bytes));
}

std::vector<std::string> InputEvents::ToolResult(std::string_view content_name,
                                                 std::string_view tool_use_id,
                                                 std::string_view result_json) const {
  return {
      Event({{"contentStart",
              {{"promptName", prompt_},
               {"contentName", content_name},
               {"interactive", false},
               {"type", "TOOL"},
               {"role", "TOOL"},
               {"toolResultInputConfiguration",
                {{"toolUseId", tool_use_id},
                 {"type", "TEXT"},
                 {"textInputConfiguration", {{"mediaType", "text/plain"}}}}}}}}),
      Event({{"toolResult",
              {{"promptName", prompt_}, {"contentName", content_name}, {"content", result_json}}}}),
      ContentEnd(content_name)};
}

std::string InputEvents::ContentEnd(std::string_view content_name) const {
  return Event({{"contentEnd", {{"promptName", prompt_}, {"contentName", content_name}}}});
}

std::string InputEvents::PromptEnd() const {
  return Event({{"promptEnd", {{"promptName", prompt_}}}});
}

std::string InputEvents::SessionEnd() { return Event({{"sessionEnd", json::object()}}); }

Result<OutputEvent> ParseOutputEvent(std::string_view text) {
  const json doc = json::parse(text, nullptr, false);
  if (!doc.is_object() || !doc.contains("event") || !doc["event"].is_object() ||
      doc["event"].size() != 1) {
    return Malformed("an output that is not one event");
  }
  const json& event = doc["event"];
  const std::string name = event.begin().key();
  const json& body = event.begin().value();
  if (!body.is_object()) return Malformed(fmt::format("{} is not an object", name));
  const auto str = [&body](const char* key) {
    const auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (name == "completionStart") return OutputEvent(CompletionStart{});
  if (name == "contentStart") {
    ContentStart c{str("contentId"), TypeOf(body), str("role"), Stage::kFinal};
    // additionalModelFields is JSON inside a string.
    const auto fields = json::parse(str("additionalModelFields"), nullptr, false);
    if (fields.is_object() && fields.value("generationStage", "") == "SPECULATIVE") {
      c.stage = Stage::kSpeculative;
    }
    return OutputEvent(std::move(c));
  }
  if (name == "textOutput") {
    TextOutput t{str("contentId"), str("role"), str("content"), false};
    // Barge-in: the text is the marker { "interrupted" : true }, not words.
    const auto marker = json::parse(t.text, nullptr, false);
    if (marker.is_object() && marker.value("interrupted", false)) {
      t.interrupted = true;
      t.text.clear();
    }
    return OutputEvent(std::move(t));
  }
  if (name == "audioOutput") {
    auto bytes = base64::Decode(str("content"));
    if (!bytes) return Malformed("audioOutput content is not base64");
    if (bytes->size() % 2 != 0) return Malformed("audioOutput has an odd number of bytes");
    AudioOutput a{str("contentId"), std::vector<int16_t>(bytes->size() / 2)};
    std::memcpy(a.pcm.data(), bytes->data(), bytes->size());
    return OutputEvent(std::move(a));
  }
  if (name == "toolUse") {
    ToolUse u{str("contentId"), str("toolName"), str("toolUseId"), str("content")};
    if (u.tool_name.empty() || u.tool_use_id.empty()) {
      return Malformed("toolUse without its toolName or toolUseId");
    }
    if (u.input_json.empty()) u.input_json = "{}";
    return OutputEvent(std::move(u));
  }
  if (name == "contentEnd") {
    return OutputEvent(ContentEnd{str("contentId"), TypeOf(body), str("stopReason")});
  }
  if (name == "usageEvent") {
    Usage u;
    u.input_tokens = body.value("totalInputTokens", int64_t{0});
    u.output_tokens = body.value("totalOutputTokens", int64_t{0});
    const auto total = body.contains("details") && body["details"].is_object()
                           ? body["details"].value("total", json::object())
                           : json::object();
    if (total.is_object()) {
      const auto part = [&total](const char* side, const char* kind) {
        const auto s = total.value(side, json::object());
        return s.is_object() ? s.value(kind, int64_t{0}) : int64_t{0};
      };
      u.input_speech_tokens = part("input", "speechTokens");
      u.input_text_tokens = part("input", "textTokens");
      u.output_speech_tokens = part("output", "speechTokens");
      u.output_text_tokens = part("output", "textTokens");
    }
    return OutputEvent(u);
  }
  if (name == "completionEnd") return OutputEvent(CompletionEnd{str("stopReason")});
  return OutputEvent(OtherEvent{name});
}

std::string WrapChunk(std::string_view event_json) {
  // Per frame too; base64 needs no escaping.
  return R"({"bytes":")" + base64::Encode(event_json) + R"("})";
}

Result<std::string> UnwrapChunk(std::string_view payload) {
  const json doc = json::parse(payload, nullptr, false);
  if (!doc.is_object() || !doc.contains("bytes") || !doc["bytes"].is_string()) {
    return Malformed("a chunk without bytes");
  }
  auto bytes = base64::Decode(doc["bytes"].get<std::string>());
  if (!bytes) return Malformed("chunk bytes are not base64");
  return std::string(bytes->begin(), bytes->end());
}

}  // namespace tempo::engine::nova
