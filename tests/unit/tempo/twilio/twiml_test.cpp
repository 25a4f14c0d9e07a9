#include "tempo/twilio/twiml.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tempo::twilio {
namespace {

constexpr std::string_view kDecl = R"(<?xml version="1.0" encoding="UTF-8"?>)";

std::string Doc(std::string_view body) {
  return std::string(kDecl) + "<Response>" + std::string(body) + "</Response>";
}

TEST(TwimlTest, EmptyResponse) {
  EXPECT_EQ(TwimlResponse().ToXml(), std::string(kDecl) + "<Response/>");
}

TEST(TwimlTest, ConnectStreamMatchesTwilioShape) {
  TwimlResponse r;
  r.ConnectStream({.action = "https://host/agent/a1/stream-ended"},
                  {.url = "wss://host/agent/a1/media-stream",
                   .status_callback = "https://host/agent/a1/stream-status",
                   .parameters = {{"agentId", "a1"}}});
  EXPECT_EQ(r.ToXml(), Doc(R"(<Connect action="https://host/agent/a1/stream-ended">)"
                           R"(<Stream url="wss://host/agent/a1/media-stream" )"
                           R"(statusCallback="https://host/agent/a1/stream-status">)"
                           R"(<Parameter name="agentId" value="a1"/></Stream></Connect>)"));
}

TEST(TwimlTest, ConnectStreamAllAttributesWithoutParameters) {
  TwimlResponse r;
  r.ConnectStream({.action = "/done", .method = HttpMethod::kGet},
                  {.url = "wss://h/s",
                   .name = "main",
                   .track = "inbound_track",
                   .status_callback = "https://h/cb",
                   .status_callback_method = HttpMethod::kPost});
  EXPECT_EQ(r.ToXml(), Doc(R"(<Connect action="/done" method="GET"><Stream url="wss://h/s" )"
                           R"(name="main" track="inbound_track" statusCallback="https://h/cb" )"
                           R"(statusCallbackMethod="POST"/></Connect>)"));
}

TEST(TwimlTest, HostileParameterValueIsEscaped) {
  TwimlResponse r;
  r.ConnectStream({}, {.url = "wss://h/s", .parameters = {{"n'", R"("><Hangup/>)"}}});
  EXPECT_EQ(r.ToXml(), Doc(R"(<Connect><Stream url="wss://h/s">)"
                           R"(<Parameter name="n&apos;" value="&quot;&gt;&lt;Hangup/&gt;"/>)"
                           R"(</Stream></Connect>)"));
}

TEST(TwimlTest, SayEscapesTextAndAttributes) {
  TwimlResponse r;
  r.Say("Tom & Jerry <3 \"quotes\" 'apostrophes'",
        {.voice = "Polly.Joanna\"x", .language = "en-US", .loop = 2});
  EXPECT_EQ(r.ToXml(), Doc(R"(<Say voice="Polly.Joanna&quot;x" language="en-US" loop="2">)"
                           R"(Tom &amp; Jerry &lt;3 &quot;quotes&quot; &apos;apostrophes&apos;)"
                           R"(</Say>)"));
}

TEST(TwimlTest, TextKeepsUtf8DropsControlsAndRepairsBadBytes) {
  TwimlResponse r;
  r.Say("caf\xc3\xa9 \xe2\x82\xac\x01\x1b tab\there\n \xff \xc3 \xed\xa0\x80");
  // 0xFF, a truncated sequence and an encoded surrogate each become U+FFFD.
  EXPECT_EQ(r.ToXml(), Doc("<Say>caf\xc3\xa9 \xe2\x82\xac tab\there\n \xef\xbf\xbd \xef\xbf\xbd "
                           "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd</Say>"));
}

TEST(TwimlTest, VoicemailSequence) {
  TwimlResponse r;
  r.Say("Please leave a message.")
      .Record({.action = "https://h/vm-done",
               .finish_on_key = "#",
               .max_length_s = 120,
               .play_beep = true,
               .recording_status_callback = "https://h/recording",
               .recording_status_callback_event = "completed",
               .transcribe = false})
      .Hangup();
  EXPECT_EQ(r.ToXml(),
            Doc(R"(<Say>Please leave a message.</Say>)"
                R"(<Record action="https://h/vm-done" finishOnKey="#" maxLength="120" )"
                R"(playBeep="true" recordingStatusCallback="https://h/recording" )"
                R"(recordingStatusCallbackEvent="completed" transcribe="false"/><Hangup/>)"));
}

TEST(TwimlTest, DialNumber) {
  TwimlResponse r;
  r.Say("Connecting you")
      .Dial({.action = "https://h/dial-done?x=1&y=2",
             .timeout_s = 20,
             .caller_id = "+14155550199",
             .record = "record-from-answer",
             .answer_on_bridge = true},
            {DialNumber{.number = "+14155550100", .machine_detection = "Enable"}});
  EXPECT_EQ(r.ToXml(),
            Doc(R"(<Say>Connecting you</Say>)"
                R"(<Dial action="https://h/dial-done?x=1&amp;y=2" timeout="20" )"
                R"(callerId="+14155550199" record="record-from-answer" answerOnBridge="true">)"
                R"(<Number machineDetection="Enable">+14155550100</Number></Dial>)"));
}

TEST(TwimlTest, DialSip) {
  TwimlResponse r;
  r.Dial({}, {DialSip{.uri = "sip:agent@pbx.example.com;transport=tls?X-Reason=a&b",
                      .username = "u",
                      .password = "p<w>"}});
  EXPECT_EQ(r.ToXml(), Doc(R"(<Dial><Sip username="u" password="p&lt;w&gt;">)"
                           R"(sip:agent@pbx.example.com;transport=tls?X-Reason=a&amp;b)"
                           R"(</Sip></Dial>)"));
}

TEST(TwimlTest, SmallVerbs) {
  TwimlResponse r;
  r.Pause()
      .Pause(3)
      .Play("https://h/a.wav", {.loop = 1})
      .Redirect("https://h/next", {.method = HttpMethod::kPost})
      .Reject()
      .Reject(RejectReason::kBusy);
  EXPECT_EQ(r.ToXml(), Doc(R"(<Pause/><Pause length="3"/><Play loop="1">https://h/a.wav</Play>)"
                           R"(<Redirect method="POST">https://h/next</Redirect>)"
                           R"(<Reject/><Reject reason="busy"/>)"));
}

TEST(TwimlTest, GatherWithSay) {
  TwimlResponse r;
  r.Gather({.input = "dtmf", .num_digits = 1, .action = "/menu", .timeout_s = 5},
           {{"Press 1 for sales.", {.voice = "alice"}}, {"Or 2 & more.", {}}})
      .Gather({.input = "speech"});
  EXPECT_EQ(r.ToXml(),
            Doc(R"(<Gather input="dtmf" numDigits="1" action="/menu" timeout="5">)"
                R"(<Say voice="alice">Press 1 for sales.</Say><Say>Or 2 &amp; more.</Say>)"
                R"(</Gather><Gather input="speech"/>)"));
}

}  // namespace
}  // namespace tempo::twilio
