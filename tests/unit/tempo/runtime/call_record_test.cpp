#include "tempo/runtime/call_record.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace tempo::runtime
