#include "tempo/engine/local/vad.hpp"

#include <algorithm>
#include <string>
#include <webrtc/modules/audio_processing/include/audio_processing.h>
#include <webrtc/modules/interface/module_common_types.h>

namespace tempo::engine::local {
namespace {

constexpr std::size_t kHalfFrameSamples = kVadFrameSamples / 2;  // 10 ms: the APM frame size

// webrtc's VoiceDetectionImpl maps likelihoods onto the VAD modes in reverse order.
webrtc::VoiceDetection::Likelihood LikelihoodFor(VadMode mode) {
  switch (mode) {
    case VadMode::kQuality:
      return webrtc::VoiceDetection::kHighLikelihood;
    case VadMode::kLowBitrate:
      return webrtc::VoiceDetection::kModerateLikelihood;
    case VadMode::kAggressive:
      return webrtc::VoiceDetection::kLowLikelihood;
    case VadMode::kVeryAggressive:
      return webrtc::VoiceDetection::kVeryLowLikelihood;
  }
  return webrtc::VoiceDetection::kLowLikelihood;
}

}  // namespace

struct Vad::Impl {
  std::unique_ptr<webrtc::AudioProcessing> apm;
  webrtc::AudioFrame frame;
};

Vad::Vad(std::unique_ptr<Impl> impl, VadMode mode) : impl_(std::move(impl)), mode_(mode) {}
Vad::Vad(Vad&&) noexcept = default;
Vad& Vad::operator=(Vad&&) noexcept = default;
Vad::~Vad() = default;

Result<Vad> Vad::Create(VadMode mode) {
  auto impl = std::make_unique<Impl>();
  impl->apm.reset(webrtc::AudioProcessing::Create());
  if (!impl->apm) return Internal("webrtc AudioProcessing::Create failed");
  webrtc::VoiceDetection* vd = impl->apm->voice_detection();
  if (vd->Enable(true) != webrtc::AudioProcessing::kNoError ||
      vd->set_likelihood(LikelihoodFor(mode)) != webrtc::AudioProcessing::kNoError ||
      vd->set_frame_size_ms(10) != webrtc::AudioProcessing::kNoError) {
    return Internal("webrtc voice detection could not be configured");
  }
  impl->frame.sample_rate_hz_ = kVadSampleRateHz;
  impl->frame.num_channels_ = 1;
  impl->frame.samples_per_channel_ = kHalfFrameSamples;
  return Vad(std::move(impl), mode);
}

Result<FrameClass> Vad::Classify(std::span<const int16_t> frame) {
  if (frame.size() != kVadFrameSamples) {
    return InvalidArgument("vad frame must be " + std::to_string(kVadFrameSamples) +
                           " samples (20 ms at 8 kHz), got " + std::to_string(frame.size()));
  }
  bool voiced = false;
  for (std::size_t half = 0; half < 2; ++half) {
    webrtc::AudioFrame& f = impl_->frame;
    // ProcessStream may rewrite these, so they are set for every 10 ms frame.
    f.sample_rate_hz_ = kVadSampleRateHz;
    f.num_channels_ = 1;
    f.samples_per_channel_ = kHalfFrameSamples;
    std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(half * kHalfFrameSamples),
                kHalfFrameSamples, f.data_);
    if (int rc = impl_->apm->ProcessStream(&f); rc != webrtc::AudioProcessing::kNoError) {
      return Internal("webrtc ProcessStream failed with code " + std::to_string(rc));
    }
    voiced = voiced || impl_->apm->voice_detection()->stream_has_voice();
  }
  return voiced ? FrameClass::kSpeech : FrameClass::kNonSpeech;
}

Result<Endpointer> Endpointer::Create(const EndpointerConfig& config) {
  const int f = config.frame_ms;
  if (f <= 0 || config.start_frames <= 0 || config.hangover_ms <= 0 ||
      config.min_utterance_ms < 0 || config.max_utterance_ms <= 0) {
    return InvalidArgument(
        "endpointer: frame_ms, start_frames, hangover_ms and max_utterance_ms "
        "must be positive, min_utterance_ms non-negative");
  }
  if (config.hangover_ms % f != 0 || config.min_utterance_ms % f != 0 ||
      config.max_utterance_ms % f != 0) {
    return InvalidArgument("endpointer: durations must be multiples of frame_ms");
  }
  if (config.max_utterance_ms < config.start_frames * f) {
    return InvalidArgument("endpointer: max_utterance_ms shorter than the start window");
  }
  return Endpointer(config);
}

Endpointer::Endpointer(const EndpointerConfig& config)
    : start_frames_(config.start_frames),
      hangover_frames_(config.hangover_ms / config.frame_ms),
      min_speech_frames_(config.min_utterance_ms / config.frame_ms),
      max_segment_frames_(config.max_utterance_ms / config.frame_ms) {}

void Endpointer::Reset() {
  in_speech_ = false;
  frames_seen_ = 0;
  run_speech_ = 0;
  run_silence_ = 0;
  speech_frames_in_segment_ = 0;
  segment_start_ = -1;
  segment_end_ = -1;
}

EndpointEvent Endpointer::Close() {
  in_speech_ = false;
  run_speech_ = 0;
  run_silence_ = 0;
  return speech_frames_in_segment_ < min_speech_frames_ ? EndpointEvent::kFalseStart
                                                        : EndpointEvent::kSpeechEnd;
}

EndpointEvent Endpointer::Push(FrameClass frame) {
  const int64_t index = frames_seen_++;
  const bool speech = frame == FrameClass::kSpeech;
  if (!in_speech_) {
    run_speech_ = speech ? run_speech_ + 1 : 0;
    if (run_speech_ < start_frames_) return EndpointEvent::kNone;
    in_speech_ = true;
    segment_start_ = index - start_frames_ + 1;
    segment_end_ = index + 1;
    speech_frames_in_segment_ = start_frames_;
    run_silence_ = 0;
    return EndpointEvent::kSpeechStart;
  }
  if (speech) {
    ++speech_frames_in_segment_;
    segment_end_ = index + 1;
    run_silence_ = 0;
  } else {
    ++run_silence_;
  }
  if (run_silence_ >= hangover_frames_) return Close();
  if (index + 1 - segment_start_ >= max_segment_frames_) return Close();
  return EndpointEvent::kNone;
}

}  // namespace tempo::engine::local
