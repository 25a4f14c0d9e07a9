#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/caller/latency.hpp"
#include "tempo/caller/playback.hpp"
#include "tempo/caller/recorder.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::caller {

/// 8 kHz μ-law audio, shared read-only between calls (a load test speaks the same clips).
using MulawClip = std::shared_ptr<const std::vector<uint8_t>>;

/// The 20 ms frames of a clip that hold speech: from the first to the last frame whose level
/// is above kSpeechFloorDbfs, `end` one past it. Empty when the clip is all silence.
struct SpeechSpan {
  std::size_t first = 0;
  std::size_t end = 0;
  [[nodiscard]] bool empty() const { return end <= first; }
  bool operator==(const SpeechSpan&) const = default;
};

/// The level (RMS of a 20 ms frame, relative to full scale) above which a frame is speech: 5 dB
/// above flite's quiet lead-in before the first word (up to -45 dBFS), below a word's onset.
inline constexpr double kSpeechFloorDbfs = -40.0;

/// Where the speech is in 8 kHz μ-law audio, frame by frame (160 bytes; a last partial frame is
/// measured as sent, padded with silence).
SpeechSpan FindSpeech(std::span<const uint8_t> mulaw);

/// One caller turn.
struct CallerTurn {
  CallerTurn() = default;
  /// Finds the speech in `clip` once here: a load test shares its turns between calls.
  explicit CallerTurn(MulawClip clip,
                      std::optional<std::chrono::milliseconds> interrupt_after = std::nullopt);

  MulawClip clip;  ///< silence padding included
  /// A barge-in: the turn starts once the agent's audio has been playing this long since the
  /// previous turn ended (or the stream started), without waiting for the agent to finish.
  std::optional<std::chrono::milliseconds> interrupt_after;
  SpeechSpan speech;  ///< in `clip`
};

/// What the caller says, turn by turn.
struct CallerScript {
  enum class Repeat { kOnce, kLoop };
  std::vector<CallerTurn> turns;
  Repeat repeat = Repeat::kOnce;
};

/// A key press at a time from the start of the stream.
struct DtmfPress {
  char digit = '1';
  Clock::Steady::duration at{};
};

/// kRealTime: one 20 ms frame every 20 ms, as Twilio sends. kFast: the caller's speech goes out
/// as fast as the socket takes it (silence between turns stays real-time so that the agent's
/// replies and marks still take their real time).
enum class Pacing { kRealTime, kFast };

struct SessionOptions {
  AccountSid account_sid;
  CallSid call_sid;
  StreamSid stream_sid;
  std::map<std::string, std::string> custom_parameters;  ///< from <Parameter>
  CallerScript script;
  std::vector<DtmfPress> dtmf;
  Pacing pacing = Pacing::kRealTime;
  /// Before the first turn, how long to wait for the agent's greeting to start.
  Clock::Steady::duration greeting_timeout = std::chrono::seconds(6);
  /// After each turn, how long to wait for the agent's reply to finish.
  Clock::Steady::duration reply_timeout = std::chrono::seconds(20);
  /// The agent's turn is over after this much quiet following its audio.
  Clock::Steady::duration reply_quiet = std::chrono::seconds(1);
  /// The caller hangs up at this time after the stream opened, whatever the script says.
  std::optional<Clock::Steady::duration> hangup_after;
  Clock::Steady::duration max_duration = std::chrono::minutes(10);
};

/// A way the server broke the Media Streams protocol (Twilio logs these as 31951 and ignores
/// the message; 31931 for the buffer).
enum class ViolationKind {
  kNotJson,
  kUnknownEvent,
  kBadBase64,
  kInvalidMessage,  ///< missing or extra fields, wrong types
  kWrongStreamSid,
  kBinaryFrame,
  kBufferOverflow,  ///< more than 10 minutes of audio buffered
};
std::string_view ToString(ViolationKind kind);

struct ViolationRecord {
  ViolationKind kind;
  uint64_t count = 0;
  std::string first_detail;
};

/// Why the caller hung up.
enum class HangupReason { kScriptDone, kHangupAfter, kMaxDuration, kRequested };
std::string_view ToString(HangupReason reason);

/// A barge-in turn as it happened.
struct BargeIn {
  uint64_t turn = 0;  ///< its number among the turns spoken, from 1
  std::chrono::milliseconds interrupt_after{};
  /// The agent's audio was playing when the caller's speech began.
  bool agent_was_speaking = false;
  /// The first `clear` after the caller's speech began, less the time that speech went out;
  /// nullopt when none came before the turn was sent (or the turn holds no speech).
  std::optional<Clock::Steady::duration> clear_latency;
  /// Agent audio (μ-law bytes) received after that clear while the caller was still talking,
  /// up to the end of the turn's speech: the agent should have stopped.
  uint64_t agent_bytes_after_clear = 0;
};

struct SessionStats {
  /// From the stream's start to the agent's first audio (the greeting's latency); nullopt when
  /// the agent never spoke.
  std::optional<Clock::Steady::duration> first_agent_audio;
  uint64_t frames_sent = 0;
  uint64_t dtmf_sent = 0;
  uint64_t turns_spoken = 0;
  uint64_t media_received = 0;
  uint64_t media_bytes_received = 0;
  uint64_t marks_received = 0;
  uint64_t marks_echoed = 0;
  uint64_t clears = 0;
  uint64_t cleared_bytes = 0;
  uint64_t late_frames = 0;  ///< agent frames with added latency > 20 ms
  std::vector<BargeIn> barge_ins;
};

/// The Twilio side of one bidirectional Media Stream, sans-I/O. The driver passes in time and
/// the server's messages, sends what TakeOutgoing() returns in order, and calls Tick() at
/// NextWakeup(). It plays the caller's script as 20 ms μ-law `media` frames with Twilio's
/// counters (waiting for the agent's replies, or talking over them: barge-in), presses DTMF keys,
/// simulates Twilio's playback buffer (mark echoes, clear), records both sides on request, measures
/// the agent's frame latency and reports protocol violations. Not thread-safe: use it from one
/// strand.
class MediaStreamSession {
 public:
  using TimePoint = Clock::Steady::time_point;
  using Duration = Clock::Steady::duration;

  explicit MediaStreamSession(SessionOptions options);
  ~MediaStreamSession();
  MediaStreamSession(const MediaStreamSession&) = delete;
  MediaStreamSession& operator=(const MediaStreamSession&) = delete;

  /// Optional sinks (not owned; must outlive the session).
  void set_recorder(CallRecorder* recorder) { recorder_ = recorder; }
  /// Called with the added latency of each agent media frame.
  void set_latency_observer(std::function<void(Duration)> observer) {
    latency_observer_ = std::move(observer);
  }

  /// The socket is open: queues `connected` and `start`.
  void Start(TimePoint now);
  /// A text message from the server.
  void OnText(TimePoint now, std::string_view text);
  /// A binary message from the server (always a violation).
  void OnBinary(TimePoint now, std::string_view data);
  /// Sends what is due (media frames, DTMF, mark echoes) and runs the turn-taking.
  void Tick(TimePoint now);
  /// The caller hangs up: queues `stop`. The driver then closes the socket (1000).
  void HangUp(TimePoint now, HangupReason reason);

  /// When Tick() should run next.
  [[nodiscard]] TimePoint NextWakeup() const;
  /// Moves the queued messages into `out` (cleared first), in send order.
  void TakeOutgoing(std::vector<std::string>& out);

  [[nodiscard]] bool started() const { return started_; }
  [[nodiscard]] bool hung_up() const { return hangup_reason_.has_value(); }
  [[nodiscard]] std::optional<HangupReason> hangup_reason() const { return hangup_reason_; }
  [[nodiscard]] const SessionStats& stats() const { return stats_; }
  [[nodiscard]] const std::vector<ViolationRecord>& violations() const { return violations_; }
  [[nodiscard]] uint64_t violation_count() const;
  [[nodiscard]] const PlaybackBuffer& playback() const { return playback_; }
  [[nodiscard]] double agent_audio_seconds() const {
    return static_cast<double>(playback_.played_bytes()) / 8000.0;
  }
  [[nodiscard]] const SessionOptions& options() const { return options_; }

 private:
  enum class Mouth { kWaitingForAgent, kSpeaking, kDone };

  /// A barge-in turn being spoken: when its speech went out and when the agent was cleared.
  struct OpenBargeIn {
    std::size_t record = 0;  // in stats_.barge_ins
    std::optional<TimePoint> speech_at;
    TimePoint speech_end_at{};
    std::optional<TimePoint> cleared_at;
  };

  void UpdateMouth(TimePoint now);
  void BeginWait(TimePoint now, Duration timeout);
  void SendFrame(TimePoint now);
  void SendDueDtmf(TimePoint now);
  void AdvancePlayback(TimePoint now);
  void EchoMarks(std::vector<std::string>& marks);
  void AddViolation(ViolationKind kind, std::string_view detail);
  [[nodiscard]] TimePoint FrameDue(uint64_t frame) const;
  uint64_t NextSequence() { return sequence_++; }

  class RecorderSink;

  SessionOptions options_;
  TimePoint start_{};
  bool started_ = false;
  std::optional<HangupReason> hangup_reason_;
  uint64_t sequence_ = 1;
  uint64_t next_frame_ = 0;  // media-clock index of the next frame (chunk - 1)
  std::vector<std::string> outgoing_;
  std::vector<std::string> marks_scratch_;

  Mouth mouth_ = Mouth::kWaitingForAgent;
  std::size_t turn_index_ = 0;
  std::size_t turn_offset_ = 0;
  TimePoint wait_deadline_{};
  uint64_t played_at_turn_start_ = 0;
  uint64_t played_at_wait_start_ = 0;
  std::optional<OpenBargeIn> barge_in_;
  std::size_t next_dtmf_ = 0;

  PlaybackBuffer playback_;
  BurstLatencyTracker latency_;
  std::function<void(Duration)> latency_observer_;
  CallRecorder* recorder_ = nullptr;
  std::unique_ptr<RecorderSink> recorder_sink_;
  SessionStats stats_;
  std::vector<ViolationRecord> violations_;
};

}  // namespace tempo::caller
