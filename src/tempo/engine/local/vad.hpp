#pragma once

#include "tempo/base/result.hpp"

#include <cstdint>
#include <memory>
#include <span>

namespace tempo::engine::local {

/// Telephone-side VAD operates on 20 ms frames of 8 kHz mono int16 (one Twilio media frame).
inline constexpr int kVadSampleRateHz = 8000;
inline constexpr int kVadFrameMs = 20;
inline constexpr std::size_t kVadFrameSamples = 160;

/// WebRTC VAD aggressiveness: higher modes reject more noise and miss more weak speech.
/// kAggressive (2) suits clean phone lines, kVeryAggressive (3) noisy ones.
enum class VadMode : uint8_t {
  kQuality = 0,
  kLowBitrate = 1,
  kAggressive = 2,
  kVeryAggressive = 3
};

enum class FrameClass : uint8_t { kNonSpeech, kSpeech };

/// Voice activity detector over WebRTC's VAD, reached through the public
/// webrtc::AudioProcessing::voice_detection() API of webrtc-audio-processing 0.3 (the low-level
/// WebRtcVad_* functions are exported but have no installed header, so they are not used).
/// Each 20 ms frame is fed as two 10 ms frames; it is speech if either half is.
///
/// Thread-compatible: one instance per call, used from one thread at a time.
class Vad {
 public:
  /// Errors: kInternal if the WebRTC audio processing module cannot be created or configured.
  static Result<Vad> Create(VadMode mode = VadMode::kAggressive);

  Vad(Vad&&) noexcept;
  Vad& operator=(Vad&&) noexcept;
  ~Vad();

  /// Classifies one frame of exactly kVadFrameSamples 8 kHz samples.
  /// Errors: kInvalidArgument on a wrong frame size; kInternal if WebRTC rejects the frame.
  Result<FrameClass> Classify(std::span<const int16_t> frame);

  [[nodiscard]] VadMode mode() const { return mode_; }

 private:
  struct Impl;
  Vad(std::unique_ptr<Impl> impl, VadMode mode);

  std::unique_ptr<Impl> impl_;
  VadMode mode_;
};

/// Endpointer settings, in milliseconds of audio (multiples of frame_ms).
struct EndpointerConfig {
  int frame_ms = kVadFrameMs;
  /// Consecutive speech frames that open a segment (2 x 20 ms = 40 ms).
  int start_frames = 2;
  /// Non-speech time after the last speech frame that closes a segment (end of turn).
  int hangover_ms = 400;
  /// Segments with less speech than this are reported as kFalseStart (clicks, coughs, pops).
  int min_utterance_ms = 120;
  /// A segment is closed with kSpeechEnd once it is this long, so a stuck-open line (constant
  /// noise) still produces turns the recognizer can finalise.
  int max_utterance_ms = 30000;
};

enum class EndpointEvent : uint8_t {
  kNone,
  /// start_frames consecutive speech frames: the caller started talking (barge-in trigger).
  kSpeechStart,
  /// hangover_ms of non-speech after a long-enough segment: the caller's turn ended.
  kSpeechEnd,
  /// The segment opened by kSpeechStart ended with less than min_utterance_ms of speech:
  /// discard its audio and resume whatever the start interrupted.
  kFalseStart,
};

/// Turn-taking state machine over per-frame VAD decisions. Pure logic (no audio, no clock):
/// time is counted in frames. Thread-compatible.
class Endpointer {
 public:
  /// Errors: kInvalidArgument if a field is non-positive or not a whole number of frames apart.
  static Result<Endpointer> Create(const EndpointerConfig& config = {});

  /// Consumes the decision for the next frame and reports what it completed.
  EndpointEvent Push(FrameClass frame);

  /// Back to the initial state (frame counter included).
  void Reset();

  [[nodiscard]] bool in_speech() const { return in_speech_; }
  /// Number of frames pushed since creation or Reset().
  [[nodiscard]] int64_t frames_seen() const { return frames_seen_; }
  /// Index of the first speech frame of the current or last segment (-1 before any).
  [[nodiscard]] int64_t segment_start_frame() const { return segment_start_; }
  /// One past the last speech frame of the current or last segment (-1 before any).
  [[nodiscard]] int64_t segment_end_frame() const { return segment_end_; }
  /// True once the open segment holds min_utterance_ms of speech, i.e. it can no longer end as
  /// kFalseStart. Start the recognizer here rather than at kSpeechStart: a decoded-then-discarded
  /// click still shifts the decoder's adaptive cepstral mean and hurts the next utterance.
  [[nodiscard]] bool segment_confirmed() const {
    return in_speech_ && speech_frames_in_segment_ >= min_speech_frames_;
  }

 private:
  explicit Endpointer(const EndpointerConfig& config);

  EndpointEvent Close();

  int start_frames_;
  int hangover_frames_;
  int min_speech_frames_;
  int max_segment_frames_;
  bool in_speech_ = false;
  int64_t frames_seen_ = 0;
  int run_speech_ = 0;
  int run_silence_ = 0;
  int64_t speech_frames_in_segment_ = 0;
  int64_t segment_start_ = -1;
  int64_t segment_end_ = -1;
};

}  // namespace tempo::engine::local
