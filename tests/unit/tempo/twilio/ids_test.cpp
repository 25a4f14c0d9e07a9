#include "tempo/twilio/ids.hpp"

#include "tempo/twilio/media_stream.hpp"
#include "tempo/twilio/voice_request.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace tempo::twilio {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kCall = "CA0123456789abcdef0123456789ABCDEF";
const std::string kStream = "MZ18ad3ab5a668481ce02b83e7395059f0";
const std::string kAccount = "AC00000000000000000000000000000001";

TEST(TwilioIds, PrefixAnd32HexDigits) {
  EXPECT_TRUE(IsSid(kCall, SidKind::kCall));
  EXPECT_TRUE(IsSid(kStream, SidKind::kStream));
  EXPECT_TRUE(IsSid(kAccount, SidKind::kAccount));
  EXPECT_TRUE(IsSid("RE" + std::string(32, 'f'), SidKind::kRecording));
  EXPECT_FALSE(IsSid(kCall, SidKind::kStream));  // the prefix says what it is
  for (const std::string& bad :
       {std::string(), std::string("CA"), std::string("CA1"), kCall + "0", kCall.substr(0, 33),
        std::string("ca0123456789abcdef0123456789abcdef"),
        std::string("CA0123456789abcdef0123456789abcdeg"), std::string("../../../../tmp/x"),
        std::string("CA0123456789abcdef0123456789abc/.."),
        std::string("CA0123456789abcdef0123456789abc\0d", 34)}) {
    EXPECT_FALSE(IsSid(bad, SidKind::kCall)) << bad;
  }
}

TEST(TwilioIds, ParseNamesTheFieldAndDoesNotEchoTheValue) {
  auto bad = ParseCallSid("../../etc/passwd", "start.callSid");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(bad.error().message, HasSubstr("start.callSid"));
  EXPECT_THAT(bad.error().message, Not(HasSubstr("passwd")));
  EXPECT_EQ(ParseCallSid(kCall, "CallSid")->str(), kCall);
}

FormParams Form(std::string call_sid) {
  return {{"AccountSid", kAccount},
          {"CallSid", std::move(call_sid)},
          {"From", "+14155550100"},
          {"To", "+14155550199"},
          {"CallStatus", "ringing"}};
}

TEST(VoiceRequest, TakesTheCheckedFields) {
  auto r = ParseVoiceRequest(Form(kCall));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->call_sid.str(), kCall);
  EXPECT_EQ(r->account_sid->str(), kAccount);
  EXPECT_EQ(r->from, "+14155550100");
  EXPECT_EQ(r->to, "+14155550199");
}

TEST(VoiceRequest, RefusesWhatCouldNameAnythingElse) {
  EXPECT_FALSE(ParseVoiceRequest(Form("../../../../../../tmp/x")));
  EXPECT_FALSE(ParseVoiceRequest(Form("")));
  EXPECT_FALSE(ParseVoiceRequest({{"From", "+14155550100"}}));  // no CallSid at all
  auto twice = Form(kCall);
  twice.emplace_back("CallSid", "CA" + std::string(32, '0'));
  EXPECT_FALSE(ParseVoiceRequest(twice));
  auto account = Form(kCall);
  account[0].second = "AC1";
  EXPECT_FALSE(ParseVoiceRequest(account));
  auto huge = Form(kCall);
  huge[2].second = std::string(kMaxAddressBytes + 1, '1');
  EXPECT_FALSE(ParseVoiceRequest(huge));
  auto nul = Form(kCall);
  nul[2].second = std::string("+1415\0", 6);
  EXPECT_FALSE(ParseVoiceRequest(nul));
  // Bytes that are not UTF-8 are not the parser's business: they are kept and replaced where
  // they are written as JSON.
  auto bytes = Form(kCall);
  bytes[2].second = "\xff\x9b";
  EXPECT_TRUE(ParseVoiceRequest(bytes));
}

std::string Start(const std::string& call, const std::string& stream, const std::string& account) {
  return R"({"event":"start","sequenceNumber":"1","start":{"accountSid":")" + account +
         R"(","streamSid":")" + stream + R"(","callSid":")" + call +
         R"(","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{}},"streamSid":")" +
         stream + R"("})";
}

TEST(MediaStreamStart, IdsAreCheckedWhereTheStartIsParsed) {
  ASSERT_TRUE(ParseInbound(Start(kCall, kStream, kAccount)));
  for (const auto& frame : {Start("../../../../../../tmp/x", kStream, kAccount),
                            Start(kCall, "MZ1", kAccount), Start(kCall, kStream, "AC1")}) {
    auto parsed = ParseInbound(frame);
    ASSERT_FALSE(parsed) << frame;
    EXPECT_EQ(FaultOf(parsed.error()), FrameFault::kBadSid) << parsed.error().message;
    EXPECT_EQ(ToString(FaultOf(parsed.error())), "bad_sid");
  }
}

}  // namespace
}  // namespace tempo::twilio
