#include "tempo/caller/report.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tempo::caller {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using ::testing::HasSubstr;
using ::testing::Not;

CallReport WithBargeIns() {
  CallReport r;
  r.call_sid = "CA0123456789abcdef0123456789abcdef";
  r.outcome = CallOutcome::kAgentHungUp;
  BargeIn cleared;
  cleared.turn = 1;
  cleared.interrupt_after = milliseconds(1500);
  cleared.agent_was_speaking = true;
  cleared.clear_latency = microseconds(84'500);
  cleared.agent_bytes_after_clear = 160;
  BargeIn ignored;
  ignored.turn = 3;
  ignored.interrupt_after = milliseconds(0);
  r.stats.barge_ins = {cleared, ignored};
  return r;
}

TEST(CallReportTest, JsonListsEachBargeIn) {
  const auto json = nlohmann::json::parse(ToJson(WithBargeIns()));
  ASSERT_TRUE(json["barge_ins"].is_array());
  ASSERT_EQ(json["barge_ins"].size(), 2U);
  const auto& first = json["barge_ins"][0];
  EXPECT_EQ(first["turn"], 1);
  EXPECT_EQ(first["interrupt_after_ms"], 1500);
  EXPECT_EQ(first["agent_was_speaking"], true);
  EXPECT_DOUBLE_EQ(first["clear_ms"].get<double>(), 84.5);
  EXPECT_DOUBLE_EQ(first["agent_audio_after_clear_ms"].get<double>(), 20.0);
  const auto& second = json["barge_ins"][1];
  EXPECT_EQ(second["turn"], 3);
  EXPECT_EQ(second["agent_was_speaking"], false);
  EXPECT_TRUE(second["clear_ms"].is_null());
  EXPECT_DOUBLE_EQ(second["agent_audio_after_clear_ms"].get<double>(), 0.0);

  EXPECT_TRUE(nlohmann::json::parse(ToJson(CallReport{}))["barge_ins"].empty());
}

TEST(CallReportTest, TextHasALinePerBargeIn) {
  const std::string text = ToText(WithBargeIns());
  EXPECT_THAT(text, HasSubstr("Barge-ins: 2\n"));
  EXPECT_THAT(text, HasSubstr("turn 1, after 1500 ms of agent audio: the agent was speaking; "
                              "clear after 84.5 ms, then 20.0 ms of agent audio while the caller "
                              "spoke\n"));
  EXPECT_THAT(text, HasSubstr("turn 3, after 0 ms of agent audio: the agent was not speaking; "
                              "no clear while the turn was spoken\n"));
  EXPECT_THAT(ToText(CallReport{}), Not(HasSubstr("Barge-in")));
}

}  // namespace
}  // namespace tempo::caller
