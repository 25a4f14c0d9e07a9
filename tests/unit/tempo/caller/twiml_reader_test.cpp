#include "tempo/caller/twiml_reader.hpp"

#include "tempo/twilio/twiml.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace tempo::caller {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(TwimlReaderTest, ReadsTheConnectStreamDocumentOfTheReference) {
  constexpr std::string_view kXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Connect action="https://HOST/agent/AGENT_ID/stream-ended">
    <Stream url="wss://HOST/agent/AGENT_ID/media-stream"
            statusCallback="https://HOST/agent/AGENT_ID/stream-status">
      <Parameter name="agentId" value="AGENT_ID"/>
    </Stream>
  </Connect>
</Response>)";
  auto doc = ParseTwiml(kXml);
  ASSERT_TRUE(doc.has_value()) << doc.error().message;
  ASSERT_EQ(doc->verbs.size(), 1U);
  const auto* connect = std::get_if<ConnectVerb>(&doc->verbs[0]);
  ASSERT_NE(connect, nullptr);
  EXPECT_EQ(connect->action, "https://HOST/agent/AGENT_ID/stream-ended");
  EXPECT_EQ(connect->method, "POST");
  ASSERT_TRUE(connect->stream.has_value());
  EXPECT_EQ(connect->stream->url, "wss://HOST/agent/AGENT_ID/media-stream");
  EXPECT_EQ(connect->stream->status_callback, "https://HOST/agent/AGENT_ID/stream-status");
  EXPECT_THAT(connect->stream->parameters, ElementsAre(Pair("agentId", "AGENT_ID")));
  EXPECT_TRUE(doc->warnings.empty());
}

TEST(TwimlReaderTest, ReadsWhatOurTwimlBuilderWrites) {
  twilio::TwimlResponse response;
  response.Say("Connecting you & <welcome>", {.voice = "alice"})
      .Pause(2)
      .Dial({.action = "https://h/dial-done", .timeout_s = 20, .caller_id = "+15550001"},
            {twilio::DialNumber{.number = "+15550100"}})
      .Record({.action = "https://h/vm-done", .finish_on_key = "#", .max_length_s = 120})
      .Redirect("https://h/next", {.method = twilio::HttpMethod::kGet})
      .Reject(twilio::RejectReason::kBusy)
      .Hangup();
  auto doc = ParseTwiml(response.ToXml());
  ASSERT_TRUE(doc.has_value()) << doc.error().message;
  ASSERT_EQ(doc->verbs.size(), 7U);

  const auto& say = std::get<SayVerb>(doc->verbs[0]);
  EXPECT_EQ(say.text, "Connecting you & <welcome>");
  EXPECT_EQ(say.voice, "alice");
  EXPECT_EQ(std::get<PauseVerb>(doc->verbs[1]).length_s, 2);
  const auto& dial = std::get<DialVerb>(doc->verbs[2]);
  EXPECT_EQ(dial.action, "https://h/dial-done");
  EXPECT_EQ(dial.timeout_s, 20);
  EXPECT_EQ(dial.caller_id, "+15550001");
  ASSERT_EQ(dial.targets.size(), 1U);
  EXPECT_EQ(dial.targets[0].kind, DialTarget::Kind::kNumber);
  EXPECT_EQ(dial.targets[0].value, "+15550100");
  const auto& record = std::get<RecordVerb>(doc->verbs[3]);
  EXPECT_EQ(record.action, "https://h/vm-done");
  EXPECT_EQ(record.max_length_s, 120);
  EXPECT_EQ(record.finish_on_key, "#");
  const auto& redirect = std::get<RedirectVerb>(doc->verbs[4]);
  EXPECT_EQ(redirect.url, "https://h/next");
  EXPECT_EQ(redirect.method, "GET");
  EXPECT_EQ(std::get<RejectVerb>(doc->verbs[5]).reason, "busy");
  EXPECT_TRUE(std::holds_alternative<HangupVerb>(doc->verbs[6]));
}

TEST(TwimlReaderTest, ReadsSipAndBareNumberDials) {
  auto doc = ParseTwiml(
      "<Response><Dial><Sip>sip:desk@pbx.example.com;transport=tls</Sip></Dial>"
      "<Dial>+15550199</Dial></Response>");
  ASSERT_TRUE(doc.has_value());
  const auto& sip = std::get<DialVerb>(doc->verbs[0]);
  ASSERT_EQ(sip.targets.size(), 1U);
  EXPECT_EQ(sip.targets[0].kind, DialTarget::Kind::kSip);
  EXPECT_EQ(sip.targets[0].value, "sip:desk@pbx.example.com;transport=tls");
  const auto& bare = std::get<DialVerb>(doc->verbs[1]);
  ASSERT_EQ(bare.targets.size(), 1U);
  EXPECT_EQ(bare.targets[0].value, "+15550199");
  EXPECT_EQ(Describe(doc->verbs[0]), "Dial sip:sip:desk@pbx.example.com;transport=tls");
}

TEST(TwimlReaderTest, WarnsAboutKnownTraps) {
  const std::string long_value(600, 'x');
  auto doc = ParseTwiml(
      "<Response><Connect><Stream url=\"ws://h/media?token=1\" track=\"both_tracks\">"
      "<Parameter name=\"p\" value=\"" +
      long_value +
      "\"/></Stream></Connect>"
      "<Record/><Dial/><Pause length=\"soon\"/></Response>");
  ASSERT_TRUE(doc.has_value());
  std::string all;
  for (const auto& w : doc->warnings) all += w + "\n";
  EXPECT_THAT(all, HasSubstr("query string"));
  EXPECT_THAT(all, HasSubstr("not wss://"));
  EXPECT_THAT(all, HasSubstr("inbound_track"));
  EXPECT_THAT(all, HasSubstr("limit 500"));
  EXPECT_THAT(all, HasSubstr("<Record> has no action"));
  EXPECT_THAT(all, HasSubstr("<Dial> has nothing to dial"));
  EXPECT_THAT(all, HasSubstr("bad length"));
  EXPECT_EQ(std::get<PauseVerb>(doc->verbs[3]).length_s, 1);  // Twilio's default
}

TEST(TwimlReaderTest, UnknownVerbsAreKeptAsOther) {
  auto doc = ParseTwiml("<Response><Start><Recording/></Start><Enqueue>q</Enqueue></Response>");
  ASSERT_TRUE(doc.has_value());
  ASSERT_EQ(doc->verbs.size(), 2U);
  EXPECT_EQ(std::get<OtherVerb>(doc->verbs[0]).name, "Start");
  EXPECT_EQ(std::get<OtherVerb>(doc->verbs[1]).name, "Enqueue");
}

TEST(TwimlReaderTest, EmptyResponseHasNoVerbs) {
  auto doc = ParseTwiml("<?xml version=\"1.0\"?><Response/>");
  ASSERT_TRUE(doc.has_value());
  EXPECT_TRUE(doc->verbs.empty());
}

TEST(TwimlReaderTest, RejectsWhatIsNotTwiml) {
  EXPECT_FALSE(ParseTwiml("").has_value());
  EXPECT_FALSE(ParseTwiml("Hello, this is plain text").has_value());
  EXPECT_FALSE(ParseTwiml("<Response><Say>unclosed</Response>").has_value());
  auto html = ParseTwiml("<html><body>502 Bad Gateway</body></html>");
  ASSERT_FALSE(html.has_value());
  EXPECT_THAT(html.error().message, HasSubstr("<html>"));
  // Element names are case-sensitive in TwiML.
  EXPECT_FALSE(ParseTwiml("<response><Hangup/></response>").has_value());
  EXPECT_FALSE(ParseTwiml(std::string(kMaxTwimlBytes + 1, ' ')).has_value());
}

TEST(TwimlReaderTest, DoesNotExpandEntitiesFromADtd) {
  // A "billion laughs" document: the DTD is skipped, so nothing expands.
  constexpr std::string_view kXml = R"(<?xml version="1.0"?>
<!DOCTYPE Response [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<Response><Say>&c;</Say></Response>)";
  auto doc = ParseTwiml(kXml);
  ASSERT_TRUE(doc.has_value()) << doc.error().message;
  ASSERT_EQ(doc->verbs.size(), 1U);
  EXPECT_LT(std::get<SayVerb>(doc->verbs[0]).text.size(), 16U);
}

TEST(TwimlReaderTest, SurvivesDeepNesting) {
  std::string xml = "<Response><Connect>";
  for (int i = 0; i < 3000; ++i) xml += "<Stream>";
  for (int i = 0; i < 3000; ++i) xml += "</Stream>";
  xml += "</Connect></Response>";
  auto doc = ParseTwiml(xml);
  ASSERT_TRUE(doc.has_value()) << doc.error().message;
  ASSERT_EQ(doc->verbs.size(), 1U);
}

TEST(TwimlReaderTest, DescribesVerbsForReports) {
  auto doc = ParseTwiml(
      "<Response><Say>Goodbye</Say><Connect action=\"/a\"><Stream url=\"wss://h/m\">"
      "<Parameter name=\"x\" value=\"1\"/></Stream></Connect><Hangup/></Response>");
  ASSERT_TRUE(doc.has_value());
  EXPECT_EQ(Describe(doc->verbs[0]), "Say \"Goodbye\"");
  EXPECT_EQ(Describe(doc->verbs[1]), "Connect Stream wss://h/m [1 parameters] (action /a)");
  EXPECT_EQ(Describe(doc->verbs[2]), "Hangup");
}

}  // namespace
}  // namespace tempo::caller
