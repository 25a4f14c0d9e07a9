#include "tempo/caller/session.hpp"

#include "tempo/audio/g711.hpp"
#include "tempo/base/base64.hpp"
#include "tempo/twilio/media_stream.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace tempo::caller {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::Pair;
using TimePoint = MediaStreamSession::TimePoint;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1);
constexpr std::string_view kSid = "MZ0123456789abcdef0123456789abcdef";

MulawClip Clip(std::size_t bytes, uint8_t value = 0x22) {
  return std::make_shared<const std::vector<uint8_t>>(bytes, value);
}

/// `lead` and `trail` frames of silence around `speech` frames of loud audio.
MulawClip PaddedClip(std::size_t lead, std::size_t speech, std::size_t trail) {
  auto clip = std::make_shared<std::vector<uint8_t>>((lead + speech + trail) * 160, 0xFF);
  std::fill_n(clip->begin() + static_cast<std::ptrdiff_t>(lead * 160), speech * 160, 0x22);
  return clip;
}

SessionOptions Options() {
  SessionOptions o;
  o.account_sid = AccountSid("AC0123456789abcdef0123456789abcdef");
  o.call_sid = CallSid("CA0123456789abcdef0123456789abcdef");
  o.stream_sid = StreamSid(std::string(kSid));
  o.custom_parameters = {{"agentId", "a1"}, {"from", "+15550100"}};
  o.greeting_timeout = milliseconds(100);
  o.reply_timeout = milliseconds(2000);
  o.reply_quiet = milliseconds(1000);
  return o;
}

/// Every message the session sent, parsed as Twilio -> server messages by the twilio module.
class Harness {
 public:
  explicit Harness(SessionOptions options) : session(std::move(options)) {}

  std::vector<twilio::InboundEvent> Drain() {
    std::vector<std::string> out;
    session.TakeOutgoing(out);
    std::vector<twilio::InboundEvent> events;
    for (const auto& text : out) {
      raw.push_back(text);
      auto parsed = twilio::ParseInbound(text);
      EXPECT_TRUE(parsed.has_value()) << text;
      if (parsed) events.push_back(std::move(*parsed));
    }
    return events;
  }

  template <class T>
  std::vector<T> Only(const std::vector<twilio::InboundEvent>& events) {
    std::vector<T> out;
    for (const auto& e : events) {
      if (const auto* v = std::get_if<T>(&e)) out.push_back(*v);
    }
    return out;
  }

  void ServerSends(TimePoint now, const twilio::OutboundEvent& event) {
    session.OnText(now, twilio::Serialize(event));
  }

  MediaStreamSession session;
  std::vector<std::string> raw;
};

twilio::OutboundMedia Media(std::size_t bytes) {
  return twilio::OutboundMedia{StreamSid(std::string(kSid)), std::vector<uint8_t>(bytes, 0x33)};
}
twilio::OutboundMark Mark(std::string name) {
  return twilio::OutboundMark{StreamSid(std::string(kSid)), std::move(name)};
}
twilio::ClearMessage Clear() { return twilio::ClearMessage{StreamSid(std::string(kSid))}; }

TEST(MediaStreamSessionTest, OpensWithConnectedThenStart) {
  Harness h(Options());
  h.session.Start(kT0);
  auto events = h.Drain();
  ASSERT_EQ(events.size(), 2U);
  ASSERT_TRUE(std::holds_alternative<twilio::ConnectedMessage>(events[0]));
  EXPECT_EQ(std::get<twilio::ConnectedMessage>(events[0]).protocol, "Call");
  EXPECT_EQ(std::get<twilio::ConnectedMessage>(events[0]).version, "1.0.0");
  const auto& start = std::get<twilio::StartMessage>(events[1]);
  EXPECT_EQ(start.sequence_number, 1U);
  EXPECT_EQ(start.stream_sid.str(), kSid);
  EXPECT_EQ(start.call_sid.str(), "CA0123456789abcdef0123456789abcdef");
  EXPECT_EQ(start.account_sid.str(), "AC0123456789abcdef0123456789abcdef");
  EXPECT_THAT(start.tracks, ElementsAre(twilio::Track::kInbound));
  EXPECT_EQ(start.media_format, (twilio::MediaFormat{"audio/x-mulaw", 8000, 1}));
  EXPECT_THAT(start.custom_parameters,
              ElementsAre(Pair("agentId", "a1"), Pair("from", "+15550100")));

  // Wire details the parser is lenient about: no counters on `connected`, strings elsewhere.
  auto connected = nlohmann::json::parse(h.raw[0]);
  EXPECT_FALSE(connected.contains("sequenceNumber"));
  EXPECT_FALSE(connected.contains("streamSid"));
  auto start_json = nlohmann::json::parse(h.raw[1]);
  EXPECT_TRUE(start_json["sequenceNumber"].is_string());
  EXPECT_TRUE(start_json["start"]["mediaFormat"]["sampleRate"].is_number());
}

TEST(MediaStreamSessionTest, SendsOneFrameEvery20MsWithTwilioCounters) {
  auto options = Options();
  options.greeting_timeout = std::chrono::seconds(10);  // with no script it would then hang up
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  h.session.Tick(kT0);
  EXPECT_EQ(h.Only<twilio::MediaMessage>(h.Drain()).size(), 1U);
  h.session.Tick(kT0 + milliseconds(19));
  EXPECT_TRUE(h.Drain().empty());
  EXPECT_EQ(h.session.NextWakeup(), kT0 + milliseconds(20));
  h.session.Tick(kT0 + milliseconds(100));  // a late timer catches up: frames 1..5
  auto frames = h.Only<twilio::MediaMessage>(h.Drain());
  ASSERT_EQ(frames.size(), 5U);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].sequence_number, i + 3);  // 1 = start, 2 = first frame
    EXPECT_EQ(frames[i].chunk, i + 2);
    EXPECT_EQ(frames[i].timestamp_ms, (i + 1) * 20);
    EXPECT_EQ(frames[i].track, twilio::Track::kInbound);
    EXPECT_EQ(frames[i].payload.size(), 160U);
    EXPECT_EQ(frames[i].stream_sid.str(), kSid);
  }
  auto json = nlohmann::json::parse(h.raw.back());
  EXPECT_TRUE(json["media"]["chunk"].is_string());
  EXPECT_TRUE(json["media"]["timestamp"].is_string());
  EXPECT_EQ(h.session.stats().frames_sent, 6U);
}

TEST(MediaStreamSessionTest, WaitsForTheGreetingThenSpeaksAndHangsUpAfterTheReply) {
  auto options = Options();
  options.script.turns = {CallerTurn(Clip(800))};  // 100 ms
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  // The agent greets at 40 ms with 200 ms of audio.
  h.session.Tick(kT0 + milliseconds(40));
  h.ServerSends(kT0 + milliseconds(40), Media(1600));
  std::vector<uint8_t> heard;
  TimePoint t = kT0 + milliseconds(60);
  for (; t < kT0 + milliseconds(3000) && !h.session.hung_up(); t += milliseconds(20)) {
    h.session.Tick(t);
    for (const auto& m : h.Only<twilio::MediaMessage>(h.Drain())) {
      heard.insert(heard.end(), m.payload.begin(), m.payload.end());
    }
    // The agent replies 200 ms after the caller's turn is over.
    if (h.session.stats().turns_spoken == 1 && h.session.stats().media_received == 1 &&
        h.session.playback().played_bytes() == 1600) {
      h.ServerSends(t, Media(800));
    }
  }
  // Silence until the greeting ended (240 ms) + 1 s of quiet, then the caller's 100 ms.
  const auto first_speech = std::find(heard.begin(), heard.end(), 0x22) - heard.begin();
  EXPECT_EQ(first_speech, (240 + 1000) * 8);
  EXPECT_EQ(std::count(heard.begin(), heard.end(), 0x22), 800);
  ASSERT_TRUE(h.session.hung_up());
  EXPECT_EQ(h.session.hangup_reason(), HangupReason::kScriptDone);
  EXPECT_EQ(h.session.stats().turns_spoken, 1U);
  EXPECT_EQ(h.session.stats().media_received, 2U);
}

TEST(MediaStreamSessionTest, SpeaksAfterTheGreetingTimeoutWhenTheAgentIsSilent) {
  auto options = Options();
  options.script.turns = {CallerTurn(Clip(160))};
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  std::size_t first_speech_frame = 0;
  for (int k = 0; k < 20; ++k) {
    h.session.Tick(kT0 + milliseconds(20 * k));
    for (const auto& m : h.Only<twilio::MediaMessage>(h.Drain())) {
      if (m.payload[0] == 0x22 && first_speech_frame == 0) first_speech_frame = m.chunk;
    }
  }
  EXPECT_EQ(first_speech_frame, 6U);  // the 100 ms greeting timeout: frames at 0..80 ms silent
}

TEST(MediaStreamSessionTest, EchoesMarksWhenPlaybackReachesThem) {
  Harness h(Options());
  h.session.Start(kT0);
  h.Drain();
  h.ServerSends(kT0, Media(160));
  h.ServerSends(kT0, Mark("end-of-hello"));
  h.ServerSends(kT0, Media(160));
  h.ServerSends(kT0, Mark("second"));
  EXPECT_TRUE(h.Only<twilio::MarkMessage>(h.Drain()).empty());
  EXPECT_EQ(h.session.NextWakeup(), kT0);  // the first frame is due now
  h.session.Tick(kT0 + milliseconds(20));
  auto marks = h.Only<twilio::MarkMessage>(h.Drain());
  ASSERT_EQ(marks.size(), 1U);
  EXPECT_EQ(marks[0].name, "end-of-hello");
  EXPECT_EQ(marks[0].stream_sid.str(), kSid);
  h.session.Tick(kT0 + milliseconds(40));
  marks = h.Only<twilio::MarkMessage>(h.Drain());
  ASSERT_EQ(marks.size(), 1U);
  EXPECT_EQ(marks[0].name, "second");
  EXPECT_EQ(h.session.stats().marks_echoed, 2U);
}

TEST(MediaStreamSessionTest, MarkWithNothingBufferedIsEchoedImmediately) {
  Harness h(Options());
  h.session.Start(kT0);
  h.Drain();
  h.ServerSends(kT0 + milliseconds(5), Mark("now"));
  auto marks = h.Only<twilio::MarkMessage>(h.Drain());
  ASSERT_EQ(marks.size(), 1U);
  EXPECT_EQ(marks[0].name, "now");
}

TEST(MediaStreamSessionTest, ClearEchoesPendingMarksAtOnce) {
  Harness h(Options());
  h.session.Start(kT0);
  h.Drain();
  h.ServerSends(kT0, Media(8000));
  h.ServerSends(kT0, Mark("a"));
  h.ServerSends(kT0, Media(8000));
  h.ServerSends(kT0, Mark("b"));
  h.ServerSends(kT0 + milliseconds(300), twilio::ClearMessage{StreamSid(std::string(kSid))});
  auto marks = h.Only<twilio::MarkMessage>(h.Drain());
  ASSERT_EQ(marks.size(), 2U);
  EXPECT_EQ(marks[0].name, "a");
  EXPECT_EQ(marks[1].name, "b");
  EXPECT_EQ(h.session.stats().clears, 1U);
  EXPECT_EQ(h.session.stats().cleared_bytes, 16000U - 300U * 8);
  EXPECT_FALSE(h.session.playback().playing());
}

TEST(MediaStreamSessionTest, SequenceNumbersCoverEveryMessageInOrder) {
  Harness h(Options());
  h.session.Start(kT0);
  h.session.Tick(kT0);
  h.ServerSends(kT0, Mark("x"));
  h.session.Tick(kT0 + milliseconds(20));
  h.session.HangUp(kT0 + milliseconds(30), HangupReason::kRequested);
  std::vector<uint64_t> seqs;
  for (const auto& e : h.Drain()) {
    std::visit(
        [&](const auto& m) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(m)>, twilio::ConnectedMessage>) {
            seqs.push_back(m.sequence_number);
          }
        },
        e);
  }
  EXPECT_THAT(seqs, ElementsAre(1, 2, 3, 4, 5));
  const auto stop = nlohmann::json::parse(h.raw.back());
  EXPECT_EQ(stop["event"], "stop");
  EXPECT_EQ(stop["stop"]["callSid"], "CA0123456789abcdef0123456789abcdef");
}

TEST(MediaStreamSessionTest, NothingIsSentAfterStop) {
  Harness h(Options());
  h.session.Start(kT0);
  h.session.HangUp(kT0, HangupReason::kHangupAfter);
  h.Drain();
  h.session.Tick(kT0 + milliseconds(100));
  h.ServerSends(kT0 + milliseconds(100), Mark("late"));
  EXPECT_TRUE(h.Drain().empty());
}

TEST(MediaStreamSessionTest, HangsUpAtHangupAfter) {
  auto options = Options();
  options.hangup_after = milliseconds(200);
  options.script.turns = {CallerTurn(Clip(100000))};
  Harness h(std::move(options));
  h.session.Start(kT0);
  for (int k = 0; k <= 10; ++k) h.session.Tick(kT0 + milliseconds(20 * k));
  EXPECT_EQ(h.session.hangup_reason(), HangupReason::kHangupAfter);
}

TEST(MediaStreamSessionTest, PressesDtmfKeysAtTheirTimes) {
  auto options = Options();
  options.dtmf = {{'#', milliseconds(60)}, {'1', milliseconds(40)}};
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  h.session.Tick(kT0 + milliseconds(39));
  EXPECT_TRUE(h.Only<twilio::DtmfMessage>(h.Drain()).empty());
  EXPECT_EQ(h.session.NextWakeup(), kT0 + milliseconds(40));
  h.session.Tick(kT0 + milliseconds(60));
  auto presses = h.Only<twilio::DtmfMessage>(h.Drain());
  ASSERT_EQ(presses.size(), 2U);
  EXPECT_EQ(presses[0].digit, '1');
  EXPECT_EQ(presses[1].digit, '#');
  EXPECT_EQ(presses[0].track, "inbound_track");
}

TEST(MediaStreamSessionTest, FastPacingSendsSpeechAtOnce) {
  auto options = Options();
  options.pacing = Pacing::kFast;
  options.greeting_timeout = milliseconds(0);
  options.script.turns = {CallerTurn(Clip(1600))};  // 10 frames
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  h.session.Tick(kT0);
  auto frames = h.Only<twilio::MediaMessage>(h.Drain());
  ASSERT_EQ(frames.size(), 10U);
  EXPECT_EQ(frames.back().timestamp_ms, 180U);  // media time stays consistent
  h.session.Tick(kT0 + milliseconds(1));
  EXPECT_TRUE(h.Drain().empty());  // the silence after it is paced again
}

TEST(MediaStreamSessionTest, ReportsProtocolViolations) {
  Harness h(Options());
  h.session.Start(kT0);
  h.session.OnText(kT0, "not json");
  h.session.OnText(kT0, R"({"event":"dance","streamSid":"MZ0123456789abcdef0123456789abcdef"})");
  h.session.OnText(kT0, R"({"event":"media","streamSid":"MZ0123456789abcdef0123456789abcdef",)"
                        R"("media":{"payload":"***"}})");
  h.session.OnText(kT0, R"({"event":"clear","streamSid":"MZ0123456789abcdef0123456789abcdef",)"
                        R"("extra":1})");
  h.ServerSends(kT0, twilio::OutboundMark{StreamSid("MZother"), "m"});
  h.ServerSends(kT0, twilio::OutboundMark{StreamSid("MZother"), "m"});
  h.session.OnBinary(kT0, "\x01\x02");
  std::map<ViolationKind, uint64_t> counts;
  for (const auto& v : h.session.violations()) counts[v.kind] = v.count;
  EXPECT_EQ(counts[ViolationKind::kNotJson], 1U);
  EXPECT_EQ(counts[ViolationKind::kUnknownEvent], 1U);
  EXPECT_EQ(counts[ViolationKind::kBadBase64], 1U);
  EXPECT_EQ(counts[ViolationKind::kInvalidMessage], 1U);
  EXPECT_EQ(counts[ViolationKind::kWrongStreamSid], 2U);
  EXPECT_EQ(counts[ViolationKind::kBinaryFrame], 1U);
  EXPECT_EQ(h.session.violation_count(), 7U);
  // A message with the wrong streamSid is ignored, as Twilio ignores it.
  EXPECT_TRUE(h.Only<twilio::MarkMessage>(h.Drain()).empty());
}

TEST(MediaStreamSessionTest, MeasuresAgentFrameLatency) {
  Harness h(Options());
  std::vector<MediaStreamSession::Duration> seen;
  h.session.set_latency_observer([&](MediaStreamSession::Duration d) { seen.push_back(d); });
  h.session.Start(kT0);
  h.ServerSends(kT0, Media(160));
  h.ServerSends(kT0 + milliseconds(20), Media(160));
  h.ServerSends(kT0 + milliseconds(70), Media(160));  // 30 ms late
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[2], milliseconds(30));
  EXPECT_EQ(h.session.stats().late_frames, 1U);
}

TEST(MediaStreamSessionTest, RecordsBothSidesOnOneTimeline) {
  auto options = Options();
  options.greeting_timeout = milliseconds(0);
  options.script.turns = {CallerTurn(Clip(160, 0x00))};  // loud
  Harness h(std::move(options));
  CallRecorder recorder(kT0);
  h.session.set_recorder(&recorder);
  h.session.Start(kT0);
  h.session.Tick(kT0);
  h.ServerSends(kT0 + milliseconds(40), Media(160));
  h.session.Tick(kT0 + milliseconds(100));
  ASSERT_GE(recorder.caller().size(), 160U);
  EXPECT_NE(recorder.caller()[0], 0);
  ASSERT_EQ(recorder.agent().size(), 320U + 160U);
  EXPECT_EQ(recorder.agent()[319], 0);  // silence before the agent spoke
  EXPECT_NE(recorder.agent()[320], 0);  // its audio at 40 ms
}

TEST(FindSpeechTest, FindsTheFramesAboveTheFloor) {
  EXPECT_EQ(FindSpeech(*PaddedClip(3, 10, 5)), (SpeechSpan{3, 13}));
  // A level of -45 dBFS (180 of 32768) is not speech; -35 dBFS (588) is.
  std::vector<uint8_t> clip(160 * 4, 0xFF);
  std::fill_n(clip.begin() + 160, 160, audio::LinearToMulaw(180));
  EXPECT_TRUE(FindSpeech(clip).empty());
  std::fill_n(clip.begin() + 320, 160, audio::LinearToMulaw(588));
  EXPECT_EQ(FindSpeech(clip), (SpeechSpan{2, 3}));
  // A last partial frame counts as sent: padded with silence.
  EXPECT_EQ(FindSpeech(std::vector<uint8_t>(170, 0x22)), (SpeechSpan{0, 2}));
  EXPECT_TRUE(FindSpeech({}).empty());
}

/// Ticks every 20 ms from kT0 until `end`; `server(t)` runs before each tick. Returns the
/// chunk number of every caller frame that carried speech (0x22).
template <class Server>
std::vector<uint64_t> SpeechChunks(Harness& h, TimePoint end, Server server) {
  std::vector<uint64_t> chunks;
  for (TimePoint t = kT0; t <= end && !h.session.hung_up(); t += milliseconds(20)) {
    server(t);
    h.session.Tick(t);
    for (const auto& m : h.Only<twilio::MediaMessage>(h.Drain())) {
      if (m.payload[0] == 0x22) chunks.push_back(m.chunk);
    }
  }
  return chunks;
}

TEST(MediaStreamSessionTest, BargeInStartsWhileTheAgentIsStillSpeaking) {
  auto options = Options();
  options.script.turns = {CallerTurn(PaddedClip(2, 5, 1), milliseconds(200))};
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  // A 2 s greeting from 40 ms: a normal turn would wait for 3040 ms.
  const auto chunks = SpeechChunks(h, kT0 + milliseconds(600), [&](TimePoint t) {
    if (t == kT0 + milliseconds(40)) h.ServerSends(t, Media(16000));
  });
  // 200 ms of it have played at 240 ms (frame 12): the turn starts there, its speech two
  // frames later.
  ASSERT_EQ(chunks.size(), 5U);
  EXPECT_EQ(chunks.front(), 15U);
  EXPECT_EQ(h.session.stats().turns_spoken, 1U);
  ASSERT_EQ(h.session.stats().barge_ins.size(), 1U);
  const BargeIn& b = h.session.stats().barge_ins[0];
  EXPECT_EQ(b.turn, 1U);
  EXPECT_EQ(b.interrupt_after, milliseconds(200));
  EXPECT_TRUE(b.agent_was_speaking);
  // The agent never stopped: no clear while the turn was spoken, and one after it is not the
  // barge-in's.
  EXPECT_FALSE(b.clear_latency.has_value());
  h.ServerSends(kT0 + milliseconds(620), twilio::ClearMessage{StreamSid(std::string(kSid))});
  EXPECT_FALSE(h.session.stats().barge_ins[0].clear_latency.has_value());
  EXPECT_EQ(h.session.stats().clears, 1U);
}

TEST(MediaStreamSessionTest, BargeInMeasuresTheClearFromTheCallersSpeech) {
  auto options = Options();
  // Starts at 100 ms (frame 5); its speech is frames 8-17 (160-360 ms), its last frame 22.
  options.script.turns = {CallerTurn(PaddedClip(3, 10, 5), milliseconds(100))};
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  SpeechChunks(h, kT0 + milliseconds(600), [&](TimePoint t) {
    if (t == kT0) h.ServerSends(t, Media(16000));
    if (t == kT0 + milliseconds(240)) h.ServerSends(t, Clear());
    if (t == kT0 + milliseconds(260)) h.ServerSends(t, Media(160));  // the agent goes on talking
    if (t == kT0 + milliseconds(400)) h.ServerSends(t, Media(320));  // its reply, after the speech
  });
  ASSERT_EQ(h.session.stats().barge_ins.size(), 1U);
  const BargeIn& b = h.session.stats().barge_ins[0];
  EXPECT_TRUE(b.agent_was_speaking);
  ASSERT_TRUE(b.clear_latency.has_value());
  EXPECT_EQ(*b.clear_latency, milliseconds(80));
  EXPECT_EQ(b.agent_bytes_after_clear, 160U);
}

TEST(MediaStreamSessionTest, BargeInIgnoresAClearBeforeTheCallersSpeech) {
  auto options = Options();
  options.script.turns = {CallerTurn(PaddedClip(3, 10, 5), milliseconds(100))};
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  SpeechChunks(h, kT0 + milliseconds(600), [&](TimePoint t) {
    if (t == kT0) h.ServerSends(t, Media(16000));
    if (t == kT0 + milliseconds(120)) h.ServerSends(t, Clear());
  });
  ASSERT_EQ(h.session.stats().barge_ins.size(), 1U);
  const BargeIn& b = h.session.stats().barge_ins[0];
  EXPECT_FALSE(b.agent_was_speaking);  // cleared before the caller's speech began at 160 ms
  EXPECT_FALSE(b.clear_latency.has_value());
}

TEST(MediaStreamSessionTest, BargeInSpeaksAtTheTimeoutWhenTheAgentIsSilent) {
  auto options = Options();
  options.script.turns = {CallerTurn(Clip(160), milliseconds(500))};
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  const auto chunks = SpeechChunks(h, kT0 + milliseconds(300), [](TimePoint) {});
  EXPECT_THAT(chunks, ElementsAre(6U));  // the 100 ms greeting timeout, as for any turn
  ASSERT_EQ(h.session.stats().barge_ins.size(), 1U);
  EXPECT_FALSE(h.session.stats().barge_ins[0].agent_was_speaking);
}

TEST(MediaStreamSessionTest, AfterABargeInTheNextTurnWaitsForTheReply) {
  auto options = Options();
  options.script.turns = {CallerTurn(PaddedClip(0, 5, 0), milliseconds(100)),
                          CallerTurn(PaddedClip(0, 1, 0))};
  Harness h(std::move(options));
  h.session.Start(kT0);
  h.Drain();
  // The barge-in is spoken from 100 ms to 200 ms; the agent is cleared at 140 ms, then replies
  // at 1300 ms with 200 ms of audio.
  const auto chunks = SpeechChunks(h, kT0 + milliseconds(3000), [&](TimePoint t) {
    if (t == kT0) h.ServerSends(t, Media(16000));
    if (t == kT0 + milliseconds(140)) h.ServerSends(t, Clear());
    if (t == kT0 + milliseconds(1300)) h.ServerSends(t, Media(1600));
  });
  // The cut greeting is not the reply (1 s of quiet after it is not the end of one): the second
  // turn starts after the reply's end (1500 ms) and 1 s of quiet.
  EXPECT_THAT(chunks, ElementsAre(6U, 7U, 8U, 9U, 10U, 126U));
  EXPECT_EQ(h.session.stats().barge_ins[0].clear_latency, milliseconds(40));
  EXPECT_EQ(h.session.stats().barge_ins.size(), 1U);
}

}  // namespace
}  // namespace tempo::caller
