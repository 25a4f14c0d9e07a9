#include "tempo/twilio/media_stream.hpp"

#include "tempo/base/base64.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace tempo::twilio {
namespace {

using ::testing::HasSubstr;

const std::string kStreamSid = "MZ18ad3ab5a668481ce02b83e7395059f0";
const std::string kAccountSid = "AC00000000000000000000000000000001";
const std::string kCallSid = "CA00000000000000000000000000000002";

std::vector<uint8_t> TestAudio(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  return bytes;
}

std::string MediaFrame(std::string_view payload_b64) {
  return R"({"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2",)"
         R"("timestamp":"5","payload":")" +
         std::string(payload_b64) + R"("},"streamSid":")" + kStreamSid + R"("})";
}

template <class T>
T ParseAs(std::string_view text) {
  auto event = ParseInbound(text);
  EXPECT_TRUE(event) << (event ? "" : event.error().message) << " in " << text;
  if (!event || !std::holds_alternative<T>(*event)) {
    ADD_FAILURE() << "wrong event type for " << text;
    return T{};
  }
  return std::get<T>(*event);
}

Error ParseError(std::string_view text, const ParseOptions& options = {}) {
  auto event = ParseInbound(text, options);
  EXPECT_FALSE(event) << "unexpectedly parsed: " << text;
  return event ? Error{} : event.error();
}

// ---- faults ------------------------------------------------------------------------------

TEST(MediaStreamFaultTest, EveryRefusedFrameHasItsFault) {
  struct Case {
    std::string text;
    FrameFault fault;
  };
  const std::vector<Case> cases = {
      {"{not json", FrameFault::kNotJson},
      {"[1,2]", FrameFault::kNotJson},
      {R"({"event":"party"})", FrameFault::kUnknownEvent},
      {MediaFrame("!!!!"), FrameFault::kBadBase64},
      {MediaFrame(base64::Encode(TestAudio(64))) + "x", FrameFault::kNotJson},
      {R"({"event":"media","sequenceNumber":"4"})", FrameFault::kMalformed},
      {R"({"event":"dtmf","sequenceNumber":"1","streamSid":"MZ1","dtmf":{"track":"inbound_track","digit":"x"}})",
       FrameFault::kMalformed},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(FaultOf(ParseError(c.text)), c.fault) << c.text;
  }
  ParseOptions small;
  small.max_payload_bytes = 16;
  EXPECT_EQ(FaultOf(ParseError(MediaFrame(base64::Encode(TestAudio(64))), small)),
            FrameFault::kTooLarge);
  EXPECT_EQ(ToString(FrameFault::kTooLarge), "payload_too_large");
  // The outbound parser (our Twilio-side caller) shares the mapping.
  auto outbound = ParseOutbound(R"({"event":"dance","streamSid":"MZ1"})");
  ASSERT_FALSE(outbound);
  EXPECT_EQ(FaultOf(outbound.error()), FrameFault::kUnknownEvent);
}

// ---- documented frames ---------------------------------------------------------------------

TEST(MediaStreamParseTest, Connected) {
  const auto m =
      ParseAs<ConnectedMessage>(R"({"event":"connected","protocol":"Call","version":"1.0.0"})");
  EXPECT_EQ(m.protocol, "Call");
  EXPECT_EQ(m.version, "1.0.0");
}

TEST(MediaStreamParseTest, Start) {
  const std::string text = R"({"event":"start","sequenceNumber":"1","start":{"accountSid":")" +
                           kAccountSid + R"(","streamSid":")" + kStreamSid + R"(","callSid":")" +
                           kCallSid +
                           R"(","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw",)"
                           R"("sampleRate":8000,"channels":1},"customParameters":{"FirstName":)"
                           R"("Jane","LastName":"Doe"}},"streamSid":")" +
                           kStreamSid + R"("})";
  const auto m = ParseAs<StartMessage>(text);
  EXPECT_EQ(m.sequence_number, 1u);
  EXPECT_EQ(m.stream_sid.str(), kStreamSid);
  EXPECT_EQ(m.account_sid.str(), kAccountSid);
  EXPECT_EQ(m.call_sid.str(), kCallSid);
  EXPECT_EQ(m.tracks, std::vector<Track>{Track::kInbound});
  EXPECT_EQ(m.media_format, (MediaFormat{"audio/x-mulaw", 8000, 1}));
  EXPECT_EQ(m.custom_parameters,
            (std::map<std::string, std::string>{{"FirstName", "Jane"}, {"LastName", "Doe"}}));
}

TEST(MediaStreamParseTest, Media) {
  const auto audio = TestAudio(160);
  const auto m = ParseAs<MediaMessage>(MediaFrame(base64::Encode(audio)));
  EXPECT_EQ(m.sequence_number, 4u);
  EXPECT_EQ(m.stream_sid.str(), kStreamSid);
  EXPECT_EQ(m.track, Track::kInbound);
  EXPECT_EQ(m.chunk, 2u);
  EXPECT_EQ(m.timestamp_ms, 5u);
  EXPECT_EQ(m.payload, audio);
}

TEST(MediaStreamParseTest, DtmfMarkStop) {
  const auto dtmf = ParseAs<DtmfMessage>(
      R"({"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"#"}})");
  EXPECT_EQ(dtmf.digit, '#');
  EXPECT_EQ(dtmf.track, "inbound_track");
  EXPECT_EQ(dtmf.sequence_number, 5u);

  const auto mark = ParseAs<MarkMessage>(
      R"({"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"my label"}})");
  EXPECT_EQ(mark.name, "my label");
  EXPECT_EQ(mark.stream_sid.str(), "MZ1");

  const auto stop = ParseAs<StopMessage>(
      R"({"event":"stop","sequenceNumber":"5","stop":{"accountSid":"AC00000000000000000000000000000001","callSid":"CA00000000000000000000000000000002"},"streamSid":"MZ1"})");
  EXPECT_EQ(stop.account_sid.str(), "AC00000000000000000000000000000001");
  EXPECT_EQ(stop.call_sid.str(), "CA00000000000000000000000000000002");
  EXPECT_EQ(stop.sequence_number, 5u);
}

TEST(MediaStreamParseTest, CountersMayBeJsonIntegersAndUnknownFieldsAreIgnored) {
  const auto m = ParseAs<MediaMessage>(
      R"({"event":"media","sequenceNumber":7,"extra":{"a":[1,2]},"media":{"track":"outbound",)"
      R"("chunk":3,"timestamp":60,"payload":"/w==","future":true},"streamSid":"MZ1"})");
  EXPECT_EQ(m.sequence_number, 7u);
  EXPECT_EQ(m.track, Track::kOutbound);
  EXPECT_EQ(m.chunk, 3u);
  EXPECT_EQ(m.timestamp_ms, 60u);
  EXPECT_EQ(m.payload, std::vector<uint8_t>{0xFF});
}

// ---- errors ----------------------------------------------------------------------------------

TEST(MediaStreamErrorTest, DistinctMessages) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"", "not valid JSON"},
      {"{\"event\":", "not valid JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"streamSid":"MZ1"})", "no event field"},
      {R"({"event":5})", "event must be a string"},
      {R"({"event":"hello"})", "unknown twilio event 'hello'"},
      {R"({"event":"media","sequenceNumber":"1","media":{}})", "media message has no streamSid"},
      {R"({"event":"media","streamSid":"MZ1","media":{}})", "media sequenceNumber is missing"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"x1"})",
       "media sequenceNumber is not a decimal counter: 'x1'"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"99999999999999999999999"})",
       "media sequenceNumber is out of range"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1"})",
       "media message has no media object"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":[]})",
       "media must be an object"},
      {R"({"event":"media","streamSid":7,"sequenceNumber":"1","media":{}})",
       "media streamSid must be a string"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":-1,"media":{}})",
       "media sequenceNumber must be a string of digits"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"chunk":"1"}})",
       "media.track is missing"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"track":"both"}})",
       "media.track is not inbound or outbound: 'both'"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"track":"inbound","chunk":"1","timestamp":"+5"}})",
       "media.timestamp is not a decimal counter"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"track":"inbound","chunk":"1","timestamp":"5"}})",
       "media.payload is missing"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"abc"}})",
       "media.payload is not valid base64"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"ab!="}})",
       "media.payload is not valid base64"},
      {R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":5}})",
       "media.payload must be a string"},
      {R"({"event":"start","sequenceNumber":"1"})", "start object is missing"},
      {R"({"event":"start","sequenceNumber":"1","start":{"streamSid":"MZ1"},"streamSid":"MZ2"})",
       "streamSid differs from start.streamSid"},
      {R"({"event":"start","sequenceNumber":"1","start":{"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","accountSid":"AC00000000000000000000000000000001","callSid":"CA00000000000000000000000000000002","tracks":"inbound"}})",
       "start.tracks must be an array"},
      {R"({"event":"start","sequenceNumber":"1","start":{"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","accountSid":"AC00000000000000000000000000000001","callSid":"CA00000000000000000000000000000002","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":"8000","channels":1}}})",
       "start.mediaFormat.sampleRate must be an integer"},
      {R"({"event":"start","sequenceNumber":"1","start":{"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","accountSid":"AC00000000000000000000000000000001","callSid":"CA00000000000000000000000000000002","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"a":1}}})",
       "start.customParameters 'a' must be a string"},
      {R"({"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"12"}})",
       "dtmf.digit is not a DTMF key"},
      {R"({"event":"mark","streamSid":"MZ1","sequenceNumber":"5","mark":{}})",
       "mark.name is missing"},
      {R"({"event":"stop","streamSid":"MZ1","sequenceNumber":"5","stop":{"accountSid":"AC00000000000000000000000000000001"}})",
       "stop.callSid is missing"},
  };
  for (const Case& c : cases) {
    const Error error = ParseError(c.text);
    EXPECT_THAT(error.message, HasSubstr(c.expected)) << c.text;
    EXPECT_EQ(error.code, ErrorCode::kProtocol) << c.text;
  }
}

TEST(MediaStreamErrorTest, PayloadLimitIsAParameter) {
  const std::string frame = MediaFrame(base64::Encode(TestAudio(161)));
  const Error error = ParseError(frame, {.max_payload_bytes = 160});
  EXPECT_EQ(error.code, ErrorCode::kResourceExhausted);
  EXPECT_THAT(error.message, HasSubstr("161 bytes, above the limit of 160"));
  EXPECT_TRUE(ParseInbound(frame, {.max_payload_bytes = 161}));
  // The default limit is 16 KiB.
  EXPECT_TRUE(ParseInbound(MediaFrame(base64::Encode(TestAudio(16 * 1024)))));
  EXPECT_EQ(ParseError(MediaFrame(base64::Encode(TestAudio(16 * 1024 + 1)))).code,
            ErrorCode::kResourceExhausted);
}

// ---- fast path vs general parser -------------------------------------------------------------

// Returns true when the fast path decided. Either way, a decision must equal the general one.
bool CheckAgreement(const std::string& text) {
  const ParseOptions options{.max_payload_bytes = 1024};
  MediaMessage media;
  const auto fast = detail::ParseMediaFast(text, media, options);
  const auto general = detail::ParseInboundGeneral(text, options);
  if (!fast) return false;
  if (*fast) {
    EXPECT_TRUE(general) << text << " general: " << general.error().message;
    if (general) {
      EXPECT_EQ(InboundEvent(media), *general) << text;
    }
  } else {
    EXPECT_FALSE(general) << text << " fast error: " << fast->error().message;
    if (!general) {
      EXPECT_EQ(fast->error(), general.error()) << text;
    }
  }
  return true;
}

TEST(MediaStreamFastPathTest, DecidesOrdinaryFramesInAnyOrderAndSpacing) {
  const std::string payload = base64::Encode(TestAudio(160));
  std::vector<std::string> fields = {
      R"("event":"media")", R"("sequenceNumber":"4")", R"("streamSid":")" + kStreamSid + "\"",
      R"("media":{"track":"inbound","chunk":"2","timestamp":"5","payload":")" + payload + "\"}"};
  std::sort(fields.begin(), fields.end());
  int permutations = 0;
  do {
    std::string compact = "{";
    std::string spaced = " \r\n{\t";
    for (size_t i = 0; i < fields.size(); ++i) {
      compact += (i ? "," : "") + fields[i];
      spaced += (i ? " ,\n " : "") + fields[i];
    }
    compact += "}";
    spaced += " }\n";
    EXPECT_TRUE(CheckAgreement(compact)) << compact;
    EXPECT_TRUE(CheckAgreement(spaced)) << spaced;
    ++permutations;
  } while (std::next_permutation(fields.begin(), fields.end()));
  EXPECT_EQ(permutations, 24);
}

TEST(MediaStreamFastPathTest, DecidesEscapedStrings) {
  const std::string frames[] = {
      // "\/" is a legal way to write '/', used by some encoders in base64 text.
      R"({"event":"media","sequenceNumber":"1","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"ab\/+"},"streamSid":"MZ\"x\\y"})",
      R"({"ev\u0065nt":"m\u00e9dia","sequenceNumber":"1","streamSid":"MZ"})",
      R"({"event":"media","sequenceNumber":"1","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":""},"streamSid":"MZ\ud83d\ude00\u00e9\n"})",
  };
  EXPECT_TRUE(CheckAgreement(frames[0]));
  EXPECT_FALSE(CheckAgreement(frames[1]));  // event is "média", not "media": general decides
  EXPECT_TRUE(CheckAgreement(frames[2]));
  auto parsed = ParseInbound(frames[2]);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(std::get<MediaMessage>(*parsed).stream_sid.str(), "MZ\xf0\x9f\x98\x80\xc3\xa9\n");
}

TEST(MediaStreamFastPathTest, DecidesSemanticErrorsLikeTheGeneralParser) {
  EXPECT_TRUE(CheckAgreement(R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1"})"));
  EXPECT_TRUE(CheckAgreement(R"({"event":"media","sequenceNumber":"1","media":{}})"));
  EXPECT_TRUE(CheckAgreement(
      R"({"event":"media","streamSid":"MZ1","sequenceNumber":"1","media":{"track":"x"}})"));
  EXPECT_TRUE(CheckAgreement(MediaFrame("////")));
  EXPECT_TRUE(CheckAgreement(MediaFrame("***=")));
  EXPECT_TRUE(CheckAgreement(MediaFrame(base64::Encode(TestAudio(2000)))));  // above 1024
}

TEST(MediaStreamFastPathTest, LeavesUnusualFramesToTheGeneralParser) {
  const std::string unusual[] = {
      R"({"event":"media","event":"media","sequenceNumber":"1","streamSid":"MZ","media":{}})",
      R"({"event":"media","sequenceNumber":1,"streamSid":"MZ","media":{}})",
      R"({"event":"media","sequenceNumber":"1","streamSid":"MZ","media":{},"x":null})",
      R"({"event":"media","sequenceNumber":"1","streamSid":"MZ","media":{"payload":"","payload":""}})",
      R"({"event":"mark","sequenceNumber":"1","streamSid":"MZ","mark":{"name":"a"}})",
      R"({"event":"media","sequenceNumber":"1","streamSid":"MZ\u00"})",
      R"({"event":"media","sequenceNumber":"1","streamSid":"MZ\ud800"})",
      "{\"event\":\"media\",\"sequenceNumber\":\"1\",\"streamSid\":\"M\xc3\xa9\"}",
      "{\"event\":\"media\",\"sequenceNumber\":\"1\",\"streamSid\":\"M\x01\"}",
      R"({"event":"media"} x)",
      R"({"event":"media",})",
      R"({})",
      "",
  };
  for (const std::string& text : unusual) EXPECT_FALSE(CheckAgreement(text)) << text;
}

TEST(MediaStreamFastPathTest, AgreesOnRandomMutations) {
  const std::string seeds[] = {
      MediaFrame(base64::Encode(TestAudio(12))),
      R"({ "event" : "media" , "streamSid" : "MZ\/1" , "sequenceNumber" : "12" , "media" : { "payload" : "AAEC" , "timestamp" : "40" , "track" : "outbound" , "chunk" : "3" } })",
  };
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\":,\\/ u0aA=+9-.\x01\xc3\xa9";
  int decided = 0;
  int total = 0;
  for (const std::string& seed : seeds) {
    for (int round = 0; round < 4000; ++round) {
      std::string text = seed;
      const int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !text.empty(); ++e) {
        const size_t at = rng() % text.size();
        switch (rng() % 3) {
          case 0:
            text[at] = alphabet[rng() % alphabet.size()];
            break;
          case 1:
            text.erase(at, 1);
            break;
          default:
            text.insert(at, 1, alphabet[rng() % alphabet.size()]);
            break;
        }
      }
      decided += CheckAgreement(text) ? 1 : 0;
      ++total;
    }
  }
  // Both outcomes must be exercised for the comparison to mean anything.
  EXPECT_GT(decided, total / 20);
  EXPECT_LT(decided, total);
}

TEST(MediaStreamFastPathTest, ParseInboundIntoReusesThePayloadBuffer) {
  InboundEvent event;
  const std::string first = MediaFrame(base64::Encode(TestAudio(160)));
  ASSERT_TRUE(ParseInboundInto(first, event));
  const uint8_t* buffer = std::get<MediaMessage>(event).payload.data();
  const std::string* sid = &std::get<MediaMessage>(event).stream_sid.str();
  const char* sid_chars = sid->data();
  const auto audio = TestAudio(100);
  ASSERT_TRUE(ParseInboundInto(MediaFrame(base64::Encode(audio)), event));
  const auto& media = std::get<MediaMessage>(event);
  EXPECT_EQ(media.payload, audio);
  EXPECT_EQ(media.payload.data(), buffer);
  EXPECT_EQ(media.stream_sid.str().data(), sid_chars);
  // A non-media frame replaces the held event.
  ASSERT_TRUE(ParseInboundInto(
      R"({"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"a"}})", event));
  EXPECT_TRUE(std::holds_alternative<MarkMessage>(event));
}

// ---- serialization ---------------------------------------------------------------------------

TEST(MediaStreamSerializeTest, OutboundExactJson) {
  const std::vector<uint8_t> audio = {0xFF, 0x7F, 0x00};
  EXPECT_EQ(Serialize(OutboundEvent(OutboundMedia{StreamSid("MZ1"), audio})),
            R"({"event":"media","streamSid":"MZ1","media":{"payload":"/38A"}})");
  EXPECT_EQ(Serialize(OutboundEvent(OutboundMark{StreamSid("MZ1"), "resp-\"42\""})),
            R"({"event":"mark","streamSid":"MZ1","mark":{"name":"resp-\"42\""}})");
  EXPECT_EQ(Serialize(OutboundEvent(ClearMessage{StreamSid("MZ1")})),
            R"({"event":"clear","streamSid":"MZ1"})");
}

TEST(MediaStreamSerializeTest, WriteOutboundMediaReplacesContents) {
  const auto audio = TestAudio(160);
  std::string out = "old contents";
  WriteOutboundMedia(kStreamSid, audio, out);
  EXPECT_EQ(out, Serialize(OutboundEvent(OutboundMedia{StreamSid(kStreamSid), audio})));
  auto parsed = ParseOutbound(out);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(std::get<OutboundMedia>(*parsed).payload, audio);
}

TEST(MediaStreamSerializeTest, InboundMediaMatchesTwilioLayout) {
  const MediaMessage m{4, StreamSid("MZ1"), Track::kInbound, 2, 5, {0xFF, 0xFF, 0xFF}};
  EXPECT_EQ(Serialize(InboundEvent(m)),
            R"({"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2",)"
            R"("timestamp":"5","payload":"////"},"streamSid":"MZ1"})");
}

TEST(MediaStreamSerializeTest, InboundRoundTrip) {
  const std::vector<InboundEvent> events = {
      ConnectedMessage{"Call", "1.0.0"},
      StartMessage{1,
                   StreamSid(kStreamSid),
                   AccountSid(kAccountSid),
                   CallSid(kCallSid),
                   {Track::kInbound, Track::kOutbound},
                   {"audio/x-mulaw", 8000, 1},
                   {{"agentId", "a1"}, {"quote\"", "line\nbreak \x01 \xc3\xa9"}}},
      MediaMessage{18446744073709551615u, StreamSid(kStreamSid), Track::kOutbound, 9, 180,
                   TestAudio(160)},
      DtmfMessage{5, StreamSid(kStreamSid), "inbound_track", '*'},
      MarkMessage{6, StreamSid(kStreamSid), "resp\\1"},
      StopMessage{7, StreamSid(kStreamSid), AccountSid(kAccountSid), CallSid(kCallSid)},
  };
  for (const InboundEvent& event : events) {
    const std::string text = Serialize(event);
    auto parsed = ParseInbound(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, event) << text;
    auto general = detail::ParseInboundGeneral(text, {});
    ASSERT_TRUE(general) << text;
    EXPECT_EQ(*general, event) << text;
  }
}

TEST(MediaStreamOutboundParseTest, StrictAboutFields) {
  auto ok = ParseOutbound(R"({"event":"mark","streamSid":"MZ1","mark":{"name":"a"}})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(std::get<OutboundMark>(*ok).name, "a");
  const std::pair<std::string, std::string> cases[] = {
      {R"({"event":"clear","streamSid":"MZ1","sequenceNumber":"1"})",
       "outbound clear message has unexpected field 'sequenceNumber'"},
      {R"({"event":"media","streamSid":"MZ1","media":{"payload":"/w==","track":"outbound"}})",
       "outbound media object has unexpected field 'track'"},
      {R"({"event":"media","media":{"payload":"/w=="}})", "media streamSid is missing"},
      {R"({"event":"media","streamSid":"MZ1","media":{"payload":"/w="}})",
       "media.payload is not valid base64"},
      {R"({"event":"mark","streamSid":"MZ1"})", "mark object is missing"},
      {R"({"event":"start","streamSid":"MZ1"})", "unknown outbound twilio event 'start'"},
      {"nope", "not valid JSON"},
  };
  for (const auto& [text, expected] : cases) {
    auto parsed = ParseOutbound(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_THAT(parsed.error().message, HasSubstr(expected)) << text;
  }
  EXPECT_EQ(ParseOutbound(Serialize(OutboundEvent(OutboundMedia{StreamSid("MZ1"), TestAudio(9)})),
                          {.max_payload_bytes = 8})
                .error()
                .code,
            ErrorCode::kResourceExhausted);
}

}  // namespace
}  // namespace tempo::twilio
