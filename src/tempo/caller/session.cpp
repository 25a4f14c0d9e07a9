#include "tempo/caller/session.hpp"

#include "tempo/audio/g711.hpp"
#include "tempo/twilio/media_stream.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <variant>

namespace tempo::caller {
namespace {

constexpr std::size_t kFrameBytes = 160;
constexpr std::chrono::milliseconds kFrameDuration{20};
/// After a stall (a suspended process, an overloaded machine) at most this many overdue frames
/// go out at once; the rest of the gap is skipped, as a real network would lose it.
constexpr uint64_t kMaxCatchUpFrames = 50;

ViolationKind Classify(const Error& error) {
  switch (twilio::FaultOf(error)) {
    case twilio::FrameFault::kNotJson:
      return ViolationKind::kNotJson;
    case twilio::FrameFault::kUnknownEvent:
      return ViolationKind::kUnknownEvent;
    case twilio::FrameFault::kBadBase64:
      return ViolationKind::kBadBase64;
    case twilio::FrameFault::kTooLarge:
    case twilio::FrameFault::kBadSid:
    case twilio::FrameFault::kMalformed:
      break;
  }
  return ViolationKind::kInvalidMessage;
}

uint64_t BytesFor(std::chrono::milliseconds d) { return static_cast<uint64_t>(d.count()) * 8; }

}  // namespace

SpeechSpan FindSpeech(std::span<const uint8_t> mulaw) {
  // The floor as the energy of a whole frame, in 16-bit units (full scale 32768).
  const double floor_rms = 32768.0 * std::pow(10.0, kSpeechFloorDbfs / 20.0);
  const double floor_energy = floor_rms * floor_rms * static_cast<double>(kFrameBytes);
  SpeechSpan span;
  bool found = false;
  for (std::size_t at = 0, f = 0; at < mulaw.size(); at += kFrameBytes, ++f) {
    double energy = 0;
    for (const uint8_t code : mulaw.subspan(at, std::min(kFrameBytes, mulaw.size() - at))) {
      const double x = audio::kMulawToLinear[code];
      energy += x * x;
    }
    if (energy <= floor_energy) continue;
    if (!found) span.first = f;
    found = true;
    span.end = f + 1;
  }
  return span;
}

CallerTurn::CallerTurn(MulawClip audio, std::optional<std::chrono::milliseconds> interrupt)
    : clip(std::move(audio)),
      interrupt_after(interrupt),
      speech(clip ? FindSpeech(*clip) : SpeechSpan{}) {}

std::string_view ToString(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::kNotJson:
      return "not_json";
    case ViolationKind::kUnknownEvent:
      return "unknown_event";
    case ViolationKind::kBadBase64:
      return "bad_base64";
    case ViolationKind::kInvalidMessage:
      return "invalid_message";
    case ViolationKind::kWrongStreamSid:
      return "wrong_stream_sid";
    case ViolationKind::kBinaryFrame:
      return "binary_frame";
    case ViolationKind::kBufferOverflow:
      return "buffer_overflow";
  }
  return "invalid_message";
}

std::string_view ToString(HangupReason reason) {
  switch (reason) {
    case HangupReason::kScriptDone:
      return "script_done";
    case HangupReason::kHangupAfter:
      return "hangup_after";
    case HangupReason::kMaxDuration:
      return "max_duration";
    case HangupReason::kRequested:
      return "requested";
  }
  return "requested";
}

class MediaStreamSession::RecorderSink final : public PlayedAudioSink {
 public:
  explicit RecorderSink(CallRecorder*& recorder) : recorder_(recorder) {}
  void OnPlayed(Clock::Steady::time_point start, std::span<const uint8_t> mulaw) override {
    if (recorder_ != nullptr) recorder_->AddAgent(start, mulaw);
  }

 private:
  CallRecorder*& recorder_;
};

MediaStreamSession::MediaStreamSession(SessionOptions options)
    : options_(std::move(options)), recorder_sink_(std::make_unique<RecorderSink>(recorder_)) {
  std::stable_sort(options_.dtmf.begin(), options_.dtmf.end(),
                   [](const DtmfPress& a, const DtmfPress& b) { return a.at < b.at; });
}

MediaStreamSession::~MediaStreamSession() = default;

uint64_t MediaStreamSession::violation_count() const {
  uint64_t total = 0;
  for (const auto& v : violations_) total += v.count;
  return total;
}

MediaStreamSession::TimePoint MediaStreamSession::FrameDue(uint64_t frame) const {
  return start_ + kFrameDuration * static_cast<int64_t>(frame);
}

void MediaStreamSession::Start(TimePoint now) {
  if (started_) return;
  started_ = true;
  start_ = now;
  outgoing_.push_back(twilio::Serialize(twilio::ConnectedMessage{"Call", "1.0.0"}));
  twilio::StartMessage start;
  start.sequence_number = NextSequence();
  start.stream_sid = options_.stream_sid;
  start.account_sid = options_.account_sid;
  start.call_sid = options_.call_sid;
  start.tracks = {twilio::Track::kInbound};
  start.media_format = {"audio/x-mulaw", 8000, 1};
  start.custom_parameters = options_.custom_parameters;
  outgoing_.push_back(twilio::Serialize(start));
  BeginWait(now, options_.greeting_timeout);
}

void MediaStreamSession::BeginWait(TimePoint now, Duration timeout) {
  mouth_ = Mouth::kWaitingForAgent;
  wait_deadline_ = now + timeout;
  played_at_wait_start_ = playback_.played_bytes();
}

void MediaStreamSession::UpdateMouth(TimePoint now) {
  if (mouth_ != Mouth::kWaitingForAgent) return;
  const auto& turns = options_.script.turns;
  if (turn_index_ >= turns.size() && options_.script.repeat == CallerScript::Repeat::kLoop) {
    turn_index_ = 0;
  }
  const CallerTurn* next = turn_index_ < turns.size() ? &turns[turn_index_] : nullptr;
  const uint64_t played = playback_.played_bytes();
  const bool agent_spoke = played > played_at_turn_start_ || playback_.playing();
  const auto idle = playback_.idle_since();
  const bool replied =
      agent_spoke && !playback_.playing() && idle && now - *idle >= options_.reply_quiet;
  // A barge-in does not wait for the agent to finish, only for it to have talked long enough
  // since the wait began.
  const bool barge_in = next != nullptr && next->interrupt_after &&
                        (played > played_at_wait_start_ || playback_.playing()) &&
                        played - played_at_wait_start_ >= BytesFor(*next->interrupt_after);
  // The timeout is for an agent that does not answer; one that is still talking is let finish
  // (bounded by the call's max duration).
  if (!replied && !barge_in && (now < wait_deadline_ || agent_spoke)) return;
  if (next == nullptr) {
    mouth_ = Mouth::kDone;
    HangUp(now, HangupReason::kScriptDone);
    return;
  }
  mouth_ = Mouth::kSpeaking;
  turn_offset_ = 0;
  played_at_turn_start_ = played;
  if (next->interrupt_after) {
    BargeIn record;
    record.turn = stats_.turns_spoken + 1;
    record.interrupt_after = *next->interrupt_after;
    stats_.barge_ins.push_back(record);
    barge_in_ = OpenBargeIn{stats_.barge_ins.size() - 1, std::nullopt, {}, std::nullopt};
  }
}

void MediaStreamSession::SendFrame(TimePoint now) {
  std::array<uint8_t, kFrameBytes> frame;
  frame.fill(audio::kMulawSilence);
  const uint64_t index = next_frame_++;
  if (mouth_ == Mouth::kSpeaking) {
    const CallerTurn& turn = options_.script.turns[turn_index_];
    const auto& clip = *turn.clip;
    if (barge_in_ && !turn.speech.empty() && turn_offset_ == turn.speech.first * kFrameBytes) {
      // The caller's speech begins with this frame. Paced, it goes out at its media time; a
      // fast caller sends it earlier, now.
      const TimePoint at = std::min(FrameDue(index), now);
      barge_in_->speech_at = at;
      barge_in_->speech_end_at =
          at + kFrameDuration * static_cast<int64_t>(turn.speech.end - turn.speech.first);
      stats_.barge_ins[barge_in_->record].agent_was_speaking = playback_.playing();
    }
    const std::size_t n = std::min(kFrameBytes, clip.size() - turn_offset_);
    std::copy_n(clip.begin() + static_cast<std::ptrdiff_t>(turn_offset_), n, frame.begin());
    turn_offset_ += n;
    if (turn_offset_ >= clip.size()) {
      ++stats_.turns_spoken;
      ++turn_index_;
      barge_in_.reset();  // a later clear is not this turn's doing
      // The reply is measured from the end of this turn; played_at_turn_start_ stays, so audio
      // the agent started while the caller was still speaking counts as its reply.
      BeginWait(FrameDue(index + 1), options_.reply_timeout);
    }
  }
  if (recorder_ != nullptr) recorder_->AddCaller(FrameDue(index), frame);

  twilio::MediaMessage media;
  media.sequence_number = NextSequence();
  media.stream_sid = options_.stream_sid;
  media.track = twilio::Track::kInbound;
  media.chunk = index + 1;
  media.timestamp_ms = index * static_cast<uint64_t>(kFrameDuration.count());
  media.payload.assign(frame.begin(), frame.end());
  std::string text;
  twilio::SerializeTo(media, text);
  outgoing_.push_back(std::move(text));
  ++stats_.frames_sent;
}

void MediaStreamSession::SendDueDtmf(TimePoint now) {
  while (next_dtmf_ < options_.dtmf.size() && start_ + options_.dtmf[next_dtmf_].at <= now) {
    twilio::DtmfMessage dtmf;
    dtmf.sequence_number = NextSequence();
    dtmf.stream_sid = options_.stream_sid;
    dtmf.track = "inbound_track";
    dtmf.digit = options_.dtmf[next_dtmf_].digit;
    outgoing_.push_back(twilio::Serialize(dtmf));
    ++stats_.dtmf_sent;
    ++next_dtmf_;
  }
}

void MediaStreamSession::EchoMarks(std::vector<std::string>& marks) {
  for (auto& name : marks) {
    if (hung_up()) break;  // after `stop` Twilio sends nothing more
    twilio::MarkMessage mark;
    mark.sequence_number = NextSequence();
    mark.stream_sid = options_.stream_sid;
    mark.name = std::move(name);
    outgoing_.push_back(twilio::Serialize(mark));
    ++stats_.marks_echoed;
  }
  marks.clear();
}

void MediaStreamSession::AdvancePlayback(TimePoint now) {
  playback_.Advance(now, marks_scratch_, recorder_sink_.get());
  EchoMarks(marks_scratch_);
}

void MediaStreamSession::Tick(TimePoint now) {
  if (!started_ || hung_up()) return;
  AdvancePlayback(now);
  SendDueDtmf(now);
  if (options_.hangup_after && now - start_ >= *options_.hangup_after) {
    HangUp(now, HangupReason::kHangupAfter);
    return;
  }
  if (now - start_ >= options_.max_duration) {
    HangUp(now, HangupReason::kMaxDuration);
    return;
  }
  if (now > FrameDue(next_frame_ + kMaxCatchUpFrames)) {
    // A stall: skip the lost frames (their media time is gone) instead of bursting them.
    const auto behind = static_cast<uint64_t>((now - start_) / kFrameDuration);
    next_frame_ = std::max(next_frame_, behind - kMaxCatchUpFrames);
  }
  while (!hung_up()) {
    UpdateMouth(now);
    if (hung_up()) break;
    const bool fast_speech = options_.pacing == Pacing::kFast && mouth_ == Mouth::kSpeaking;
    if (!fast_speech && now < FrameDue(next_frame_)) break;
    SendFrame(now);
  }
}

void MediaStreamSession::HangUp(TimePoint now, HangupReason reason) {
  if (!started_ || hung_up()) return;
  AdvancePlayback(now);
  twilio::StopMessage stop;
  stop.sequence_number = NextSequence();
  stop.stream_sid = options_.stream_sid;
  stop.account_sid = options_.account_sid;
  stop.call_sid = options_.call_sid;
  outgoing_.push_back(twilio::Serialize(stop));
  hangup_reason_ = reason;
}

MediaStreamSession::TimePoint MediaStreamSession::NextWakeup() const {
  TimePoint next = FrameDue(next_frame_);
  if (options_.pacing == Pacing::kFast && mouth_ == Mouth::kSpeaking) next = start_;
  if (next_dtmf_ < options_.dtmf.size()) {
    next = std::min(next, start_ + options_.dtmf[next_dtmf_].at);
  }
  if (auto mark = playback_.NextMarkDue()) next = std::min(next, *mark);
  if (mouth_ == Mouth::kWaitingForAgent) next = std::min(next, wait_deadline_);
  if (options_.hangup_after) next = std::min(next, start_ + *options_.hangup_after);
  return std::min(next, start_ + options_.max_duration);
}

void MediaStreamSession::TakeOutgoing(std::vector<std::string>& out) {
  out.clear();
  out.swap(outgoing_);
}

void MediaStreamSession::AddViolation(ViolationKind kind, std::string_view detail) {
  for (auto& v : violations_) {
    if (v.kind == kind) {
      ++v.count;
      return;
    }
  }
  violations_.push_back(ViolationRecord{kind, 1, std::string(detail.substr(0, 200))});
}

void MediaStreamSession::OnBinary(TimePoint /*now*/, std::string_view data) {
  AddViolation(ViolationKind::kBinaryFrame,
               "binary WebSocket frame of " + std::to_string(data.size()) + " bytes");
}

void MediaStreamSession::OnText(TimePoint now, std::string_view text) {
  if (!started_ || hung_up()) return;
  AdvancePlayback(now);
  auto parsed = twilio::ParseOutbound(text);
  if (!parsed) {
    AddViolation(Classify(parsed.error()), parsed.error().message);
    return;
  }
  auto check_sid = [&](const StreamSid& sid) {
    if (sid == options_.stream_sid) return true;
    AddViolation(ViolationKind::kWrongStreamSid,
                 "streamSid \"" + sid.str().substr(0, 64) + "\" is not this stream's");
    return false;
  };
  if (auto* media = std::get_if<twilio::OutboundMedia>(&*parsed)) {
    if (!check_sid(media->stream_sid)) return;
    ++stats_.media_received;
    if (!stats_.first_agent_audio) stats_.first_agent_audio = now - start_;
    stats_.media_bytes_received += media->payload.size();
    if (barge_in_ && barge_in_->cleared_at && now < barge_in_->speech_end_at) {
      stats_.barge_ins[barge_in_->record].agent_bytes_after_clear += media->payload.size();
    }
    const Duration added = latency_.OnFrame(now, media->payload.size());
    if (added > kLateFrameThreshold) ++stats_.late_frames;
    if (latency_observer_) latency_observer_(added);
    if (!playback_.PushAudio(now, media->payload)) {
      AddViolation(ViolationKind::kBufferOverflow,
                   "more than 10 minutes of audio buffered (Twilio error 31931)");
    }
  } else if (auto* mark = std::get_if<twilio::OutboundMark>(&*parsed)) {
    if (!check_sid(mark->stream_sid)) return;
    ++stats_.marks_received;
    playback_.PushMark(std::move(mark->name));
  } else if (auto* clear = std::get_if<twilio::ClearMessage>(&*parsed)) {
    if (!check_sid(clear->stream_sid)) return;
    ++stats_.clears;
    auto cleared = playback_.Clear(now, recorder_sink_.get());
    stats_.cleared_bytes += cleared.dropped_bytes;
    EchoMarks(cleared.marks);
    if (barge_in_ && barge_in_->speech_at && !barge_in_->cleared_at) {
      barge_in_->cleared_at = now;
      stats_.barge_ins[barge_in_->record].clear_latency = now - *barge_in_->speech_at;
    }
    // The agent was cut off while the caller spoke: what it had said is not its reply to this
    // turn, which is still to come.
    if (mouth_ == Mouth::kSpeaking) played_at_turn_start_ = playback_.played_bytes();
  }
  AdvancePlayback(now);
}

}  // namespace tempo::caller
