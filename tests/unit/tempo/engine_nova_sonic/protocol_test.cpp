// Nova Sonic's events as the engine writes and reads them, against the shapes of the samples
// in the Nova Sonic user guide (the input and output event sections).
#include "tempo/engine/nova_sonic/protocol.hpp"

#include "tempo/base/base64.hpp"
#include "tempo/engine/nova_sonic/nova_engine.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tempo::engine::nova {
namespace {

using nlohmann::json;

json Body(const std::string& event, const char* name) {
  const json doc = json::parse(event);
  EXPECT_TRUE(doc["event"].contains(name)) << event;
  return doc["event"][name];
}

TEST(NovaProtocolTest, SessionAndPromptStartCarryTheSettingsTheVoiceAndTheTools) {
  SessionSettings settings;
  settings.voice_id = "tiffany";
  const json session = Body(InputEvents::SessionStart(settings), "sessionStart");
  EXPECT_EQ(session["inferenceConfiguration"]["maxTokens"], 1024);
  EXPECT_EQ(session["turnDetectionConfiguration"]["endpointingSensitivity"], "MEDIUM");

  InputEvents events("prompt-1");
  const json prompt = Body(events.PromptStart(settings, AgentTools()), "promptStart");
  EXPECT_EQ(prompt["promptName"], "prompt-1");
  EXPECT_EQ(prompt["audioOutputConfiguration"]["voiceId"], "tiffany");
  EXPECT_EQ(prompt["audioOutputConfiguration"]["sampleRateHertz"], 24000);
  EXPECT_EQ(prompt["audioOutputConfiguration"]["encoding"], "base64");
  std::vector<std::string> names;
  for (const auto& tool : prompt["toolConfiguration"]["tools"]) {
    names.push_back(tool["toolSpec"]["name"]);
    // The schema is a JSON Schema in a string.
    ASSERT_TRUE(tool["toolSpec"]["inputSchema"]["json"].is_string());
    const json schema = json::parse(tool["toolSpec"]["inputSchema"]["json"].get<std::string>());
    EXPECT_EQ(schema["type"], "object");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"end_call", "transfer_call", "voicemail",
                                             "schedule_callback", "search_knowledge_base"}));
  EXPECT_FALSE(Body(events.PromptStart(settings, {}), "promptStart").contains("toolConfiguration"));
}

TEST(NovaProtocolTest, ALongTextIsSentInPiecesOfAtMostAThousandBytesOnCharacterBoundaries) {
  InputEvents events("p");
  std::string text;
  while (text.size() < 2500) text += "Grüße aus Köln — ";  // multi-byte characters
  const auto block = events.TextBlock("sys", "SYSTEM", text, false);
  ASSERT_GE(block.size(), 5u);  // contentStart, 3 pieces, contentEnd
  const json start = Body(block.front(), "contentStart");
  EXPECT_EQ(start["role"], "SYSTEM");
  EXPECT_EQ(start["type"], "TEXT");
  EXPECT_FALSE(start["interactive"].get<bool>());
  std::string joined;
  for (size_t i = 1; i + 1 < block.size(); ++i) {
    const std::string piece = Body(block[i], "textInput")["content"];  // valid UTF-8 or throws
    EXPECT_LE(piece.size(), 1000u);
    joined += piece;
  }
  EXPECT_EQ(joined, text);
  EXPECT_EQ(Body(block.back(), "contentEnd")["contentName"], "sys");
}

TEST(NovaProtocolTest, AudioAndToolResultsHaveNovasShape) {
  InputEvents events("p");
  const json start = Body(events.AudioStart("mic", SessionSettings{}), "contentStart");
  EXPECT_EQ(start["type"], "AUDIO");
  EXPECT_TRUE(start["interactive"].get<bool>());
  EXPECT_EQ(start["audioInputConfiguration"]["sampleRateHertz"], 16000);
  const std::vector<int16_t> pcm = {0, 1, -1, 32767, -32768};
  const json audio = Body(events.AudioInput("mic", pcm), "audioInput");
  const auto bytes = base64::Decode(audio["content"].get<std::string>());
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0x7F, 0x00, 0x80}));

  const auto result = events.ToolResult("t1", "use-7", R"({"status":"ok"})");
  ASSERT_EQ(result.size(), 3u);
  EXPECT_EQ(Body(result[0], "contentStart")["toolResultInputConfiguration"]["toolUseId"], "use-7");
  EXPECT_EQ(Body(result[1], "toolResult")["content"], R"({"status":"ok"})");  // a string
  EXPECT_EQ(Body(events.PromptEnd(), "promptEnd")["promptName"], "p");
  EXPECT_TRUE(Body(InputEvents::SessionEnd(), "sessionEnd").empty());
}

TEST(NovaProtocolTest, TheSystemPromptFollowsTheSeedsTemplate) {
  agent::AgentConfig agent;
  agent.agent_name = "Bright Smile Dental";
  agent.description = "the front desk of a dental clinic";
  agent.prompt = "You answer the phone for a dental clinic.";
  agent.guardrails = {"Never give medical advice."};
  const std::string prompt = SystemPrompt(agent);
  EXPECT_EQ(prompt.rfind(agent.prompt, 0), 0u);
  for (const char* part : {"Never give medical advice.",
                           "You are Bright Smile Dental - the front desk of a dental clinic",
                           "Thank you for calling Bright Smile Dental. Have a great day!",
                           "Call end_call tool immediately", "schedule_callback"}) {
    EXPECT_NE(prompt.find(part), std::string::npos) << part;
  }
  EXPECT_TRUE(IsVoice("matthew"));
  EXPECT_FALSE(IsVoice("hal9000"));
}

TEST(NovaProtocolTest, OutputEventsAreReadWithTheirStageRoleAndContent) {
  auto start = ParseOutputEvent(
      R"({"event":{"contentStart":{"contentId":"c1","type":"TEXT","role":"ASSISTANT","additionalModelFields":"{\"generationStage\":\"SPECULATIVE\"}"}}})");
  ASSERT_TRUE(start);
  const auto& c = std::get<ContentStart>(*start);
  EXPECT_EQ(c.type, ContentType::kText);
  EXPECT_EQ(c.stage, Stage::kSpeculative);
  EXPECT_EQ(c.role, "ASSISTANT");

  auto text = ParseOutputEvent(
      R"({"event":{"textOutput":{"contentId":"c1","role":"USER","content":"Hi"}}})");
  ASSERT_TRUE(text);
  EXPECT_EQ(std::get<TextOutput>(*text).text, "Hi");
  EXPECT_FALSE(std::get<TextOutput>(*text).interrupted);
  auto barge = ParseOutputEvent(
      R"({"event":{"textOutput":{"contentId":"c2","role":"ASSISTANT","content":"{ \"interrupted\" : true }"}}})");
  ASSERT_TRUE(barge);
  EXPECT_TRUE(std::get<TextOutput>(*barge).interrupted);

  auto audio =
      ParseOutputEvent(R"({"event":{"audioOutput":{"contentId":"a","content":"AQD//w=="}}})");
  ASSERT_TRUE(audio);
  EXPECT_EQ(std::get<AudioOutput>(*audio).pcm, (std::vector<int16_t>{1, -1}));

  auto use = ParseOutputEvent(
      R"({"event":{"toolUse":{"contentId":"t","toolName":"transfer_call","toolUseId":"u1","content":"{\"reason\":\"asked\"}"}}})");
  ASSERT_TRUE(use);
  EXPECT_EQ(std::get<ToolUse>(*use).tool_name, "transfer_call");
  EXPECT_EQ(json::parse(std::get<ToolUse>(*use).input_json)["reason"], "asked");

  auto usage = ParseOutputEvent(
      R"({"event":{"usageEvent":{"details":{"total":{"input":{"speechTokens":150,"textTokens":22},"output":{"speechTokens":40,"textTokens":3}}},"totalInputTokens":172,"totalOutputTokens":43,"totalTokens":215}}})");
  ASSERT_TRUE(usage);
  EXPECT_EQ(std::get<Usage>(*usage).input_tokens, 172);
  EXPECT_EQ(std::get<Usage>(*usage).output_speech_tokens, 40);

  auto end = ParseOutputEvent(
      R"({"event":{"contentEnd":{"contentId":"a","type":"AUDIO","stopReason":"INTERRUPTED"}}})");
  ASSERT_TRUE(end);
  EXPECT_EQ(std::get<ContentEnd>(*end).stop_reason, "INTERRUPTED");
  EXPECT_EQ(std::get<ContentEnd>(*end).type, ContentType::kAudio);

  auto other = ParseOutputEvent(R"({"event":{"somethingNew":{}}})");
  ASSERT_TRUE(other);
  EXPECT_EQ(std::get<OtherEvent>(*other).name, "somethingNew");
}

TEST(NovaProtocolTest, MalformedOutputIsAnErrorNotACrash) {
  for (const char* bad :
       {"", "[]", R"({"event":{}})", R"({"event":{"a":{},"b":{}}})",
        R"({"event":{"audioOutput":{"content":"***"}}})",
        R"({"event":{"audioOutput":{"content":"AQ=="}}})",
        R"({"event":{"toolUse":{"toolName":"end_call"}}})", R"({"event":{"textOutput":7}})"}) {
    EXPECT_FALSE(ParseOutputEvent(bad)) << bad;
  }
  EXPECT_EQ(*UnwrapChunk(WrapChunk(R"({"event":{}})")), R"({"event":{}})");
  EXPECT_FALSE(UnwrapChunk(R"({"bytes":7})"));
  EXPECT_FALSE(UnwrapChunk("not json"));
}

// Each kind of token at its own price per 1,000: 800 speech in at 0.0034, 400 speech out at
// 0.0136, 100 text in at 0.00006 and 50 text out at 0.00024.
TEST(NovaProtocolTest, UsageIsPricedPerThousandTokensOfEachKind) {
  Usage usage{.input_tokens = 900,
              .output_tokens = 450,
              .input_speech_tokens = 800,
              .input_text_tokens = 100,
              .output_speech_tokens = 400,
              .output_text_tokens = 50};
  EXPECT_NEAR(UsageCost(usage, TokenPrices{}), 0.00272 + 0.00544 + 0.000006 + 0.000012, 1e-12);
  EXPECT_NEAR(
      UsageCost(usage, {.speech_input = 1, .speech_output = 0, .text_input = 0, .text_output = 0}),
      0.8, 1e-12);
  EXPECT_EQ(UsageCost(Usage{}, TokenPrices{}), 0.0);
}

}  // namespace
}  // namespace tempo::engine::nova
