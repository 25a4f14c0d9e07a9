#include "tempo/runtime/call_record.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>

namespace tempo::runtime {
namespace {

TEST(CallRecord, WalRoundTripSkipsDamagedLines) {
  CallInfo info;
  info.call_sid = CallSid("CA1");
  info.agent_id = AgentId("a1");
  info.from = "+1415";
  info.started_at_ms = 1'700'000'000'000;
  std::vector<std::string> lines = {
      WalHeaderLine(info),
      WalTurnLine({engine::Role::kAgent, "Hello \"there\"", 0, 900, false}),
      "{broken",
      WalTurnLine({engine::Role::kCaller, "hi", 1000, 1500, false}),
      WalToolLine({"end_call", R"({"reason":"bye"})", 2000}),
  };
  auto r = RecordFromWal(lines);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->info.from, "+1415");
  ASSERT_EQ(r->turns.size(), 2u);
  EXPECT_EQ(r->turns[0].text, "Hello \"there\"");
  EXPECT_EQ(r->tools[0].name, "end_call");
  const auto t = nlohmann::json::parse(r->TranscriptJson("recovered"));
  EXPECT_EQ(t["startedAt"], "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(t["toolCalls"][0]["arguments"]["reason"], "bye");
  EXPECT_FALSE(RecordFromWal({"{}", "garbage"}));
}

// A finished call's entry (write-ahead lines and the end line) rebuilds the record exactly as
// the call list indexes it: outcome, reason, counters, latencies and the callback request.
TEST(CallRecord, TheEndLineRebuildsTheFinishedRecord) {
  CallRecord r;
  r.info.call_sid = CallSid("CA00000000000000000000000000000001");
  r.info.agent_id = AgentId("a1");
  r.info.started_at_ms = 1'700'000'000'000;
  r.turns.push_back({engine::Role::kAgent, "Hello", 0, 900, false});
  r.tools.push_back({"schedule_callback", R"({"when":"tomorrow"})", 1200});
  r.end = {"ended_by_agent", "the agent said goodbye", 1'700'000'060'000};
  r.stats.frames_in = 3000;
  r.stats.frames_out = 2900;
  r.stats.late_frames = 2;
  r.stats.interruptions = 1;
  r.stats.marks_sent = 7;
  r.stats.marks_played = 6;
  r.stats.bad_input = {{"bad_json", 2}};
  r.stats.turn_latencies_ms = {410, 380};
  r.stats.usage = {.input_tokens = 900,
                   .output_tokens = 450,
                   .input_speech_tokens = 800,
                   .input_text_tokens = 100,
                   .output_speech_tokens = 400,
                   .output_text_tokens = 50,
                   .cost_usd = 0.0082};
  r.callback = {{"when", "tomorrow"}, {"phone", "+14155550100"}};
  r.has_recording = true;
  r.has_transcript = true;
  auto back = RecordFromWal(
      {WalHeaderLine(r.info), WalTurnLine(r.turns[0]), WalToolLine(r.tools[0]), WalEndLine(r)});
  ASSERT_TRUE(back);
  EXPECT_EQ(back->MetadataJson(true), r.MetadataJson(true));
  EXPECT_EQ(back->TranscriptJson("complete"), r.TranscriptJson("complete"));
  EXPECT_TRUE(back->has_recording && back->has_transcript);
  // Without the end line the call was cut short: its end stays unknown.
  auto cut = RecordFromWal({WalHeaderLine(r.info), WalTurnLine(r.turns[0])});
  ASSERT_TRUE(cut);
  EXPECT_EQ(cut->end.ended_at_ms, 0);
  // Fields of the wrong type in a damaged end line read as absent.
  auto damaged = RecordFromWal(
      {WalHeaderLine(r.info),
       R"({"type":"end","outcome":7,"endedAtMs":"x","framesIn":-4,"badInput":{"a":"b"},"turnLatenciesMs":[1.5,"x",3],"callback":[1]})"});
  ASSERT_TRUE(damaged);
  EXPECT_EQ(damaged->end.outcome, "");
  EXPECT_EQ(damaged->stats.frames_in, 0u);
  EXPECT_TRUE(damaged->stats.bad_input.empty());
  EXPECT_EQ(damaged->stats.turn_latencies_ms, std::vector<int64_t>{3});
  EXPECT_TRUE(damaged->callback.empty());
}

// Issue #9: From/To come from Twilio's form and other text from outside; bytes that are not
// UTF-8 made the JSON serialisers throw, so transcript.json, metadata.json and the index row
// were never written. They are replaced with U+FFFD instead.
TEST(CallRecord, InvalidUtf8StillGivesParseableArtefacts) {
  CallRecord r;
  r.info.call_sid = CallSid("CA1");
  r.info.agent_id = AgentId("a1");
  r.info.from = "\xff\x9b+14155550100";
  r.info.to = "+1415\x9b";
  r.info.engine = "local";
  r.info.started_at_ms = 1'700'000'000'000;
  r.turns.push_back({engine::Role::kCaller, "call me \xff back", 0, 900, false});
  r.tools.push_back({"schedule_callback", "{\"note\":\"\xff\"}", 1000});
  r.callback["phone"] = r.info.from;
  r.callback["note\x9b"] = "tomorrow \xc3\x28";
  r.end.ended_at_ms = r.info.started_at_ms + 5000;

  const auto transcript = nlohmann::json::parse(r.TranscriptJson("complete"), nullptr, false);
  ASSERT_FALSE(transcript.is_discarded());
  EXPECT_EQ(transcript["turns"][0]["text"], "call me \xEF\xBF\xBD back");
  const auto metadata = nlohmann::json::parse(r.MetadataJson(true), nullptr, false);
  ASSERT_FALSE(metadata.is_discarded());
  EXPECT_EQ(metadata["from"], "\xEF\xBF\xBD\xEF\xBF\xBD+14155550100");
  EXPECT_EQ(metadata["to"], "+1415\xEF\xBF\xBD");
  EXPECT_EQ(metadata["callback"]["phone"], metadata["from"]);
  EXPECT_EQ(metadata["durationMs"], 5000);

  // The write-ahead lines too, so a crash mid-call still recovers the call.
  auto recovered =
      RecordFromWal({WalHeaderLine(r.info), WalTurnLine(r.turns[0]), WalToolLine(r.tools[0])});
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->info.from, "\xEF\xBF\xBD\xEF\xBF\xBD+14155550100");
  EXPECT_EQ(recovered->turns.size(), 1u);
  EXPECT_EQ(recovered->tools.size(), 1u);
}

// A damaged spool file may hold any JSON: fields of the wrong type read as absent instead of
// throwing (json::value's type_error 302) or converting out of range.
TEST(CallRecord, WalFieldsOfTheWrongTypeAreIgnored) {
  auto r = RecordFromWal({
      R"({"type":"call","callSid":"CA2","agentId":"a1","from":12,"startedAtMs":1e300})",
      R"({"type":"turn","role":"agent","text":["x"],"startMs":"9","interrupted":"yes"})",
      R"({"type":"tool","name":"end_call","atMs":18446744073709551615})",
      R"({"type":7})",
  });
  ASSERT_TRUE(r);
  EXPECT_EQ(r->info.from, "");
  EXPECT_EQ(r->info.started_at_ms, 0);
  ASSERT_EQ(r->turns.size(), 1u);
  EXPECT_EQ(r->turns[0].role, engine::Role::kAgent);
  EXPECT_EQ(r->turns[0].text, "");
  EXPECT_FALSE(r->turns[0].interrupted);
  ASSERT_EQ(r->tools.size(), 1u);
  EXPECT_EQ(r->tools[0].at_ms, 0);
  EXPECT_EQ(r->tools[0].arguments_json, "{}");
  // A start time far in the past does not overflow the duration.
  r->info.started_at_ms = INT64_MIN;
  r->end.ended_at_ms = 1;
  EXPECT_EQ(nlohmann::json::parse(r->MetadataJson(false))["durationMs"], 0);
}

}  // namespace
}  // namespace tempo::runtime
