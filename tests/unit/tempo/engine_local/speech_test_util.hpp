#pragma once

// Test-only helpers: a deterministic simulated phone line (16 k -> 8 k, G.711 mu-law round trip,
// 8 k -> 16 k with speexdsp), silence/noise generators and a VAD-driven turn runner.

#include "tempo/engine/local/recognizer.hpp"
#include "tempo/engine/local/tts.hpp"
#include "tempo/engine/local/vad.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <speex/speex_resampler.h>
#include <string>
#include <vector>

namespace tempo::engine::local::testing {

/// G.711 mu-law (ITU-T reference algorithm, bias 0x84, clip 32635).
inline uint8_t MulawEncode(int16_t sample) {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  int s = sample;
  const int sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s = std::min(s, kClip) + kBias;
  int exponent = 7;
  for (int mask = 0x4000; (s & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  const int mantissa = (s >> (exponent + 3)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

inline int16_t MulawDecode(uint8_t code) {
  const int u = ~code & 0xFF;
  const int t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
  return static_cast<int16_t>((u & 0x80) != 0 ? 0x84 - t : t - 0x84);
}

/// Whole-buffer resampling through speexdsp's streaming API (quality 5, no dither: deterministic).
/// The filter delay is removed at the start and flushed at the end, so output length is
/// in.size() * out_rate / in_rate.
inline std::vector<int16_t> Resample(std::span<const int16_t> in, int in_rate, int out_rate) {
  if (in_rate == out_rate) return {in.begin(), in.end()};
  int err = 0;
  SpeexResamplerState* st = speex_resampler_init(1, static_cast<spx_uint32_t>(in_rate),
                                                 static_cast<spx_uint32_t>(out_rate), 5, &err);
  speex_resampler_skip_zeros(st);
  const std::size_t want =
      in.size() * static_cast<std::size_t>(out_rate) / static_cast<std::size_t>(in_rate);
  std::vector<int16_t> src(in.begin(), in.end());
  src.resize(src.size() + static_cast<std::size_t>(speex_resampler_get_input_latency(st)) + 16, 0);
  std::vector<int16_t> out(want + 64);
  spx_uint32_t in_len = static_cast<spx_uint32_t>(src.size());
  spx_uint32_t out_len = static_cast<spx_uint32_t>(out.size());
  speex_resampler_process_int(st, 0, src.data(), &in_len, out.data(), &out_len);
  speex_resampler_destroy(st);
  out.resize(want);
  return out;
}

/// TTS audio at `rate` -> what the agent decodes from a Twilio mu-law stream (8 kHz).
inline std::vector<int16_t> PhoneChannel(std::span<const int16_t> pcm, int rate) {
  std::vector<int16_t> narrow = Resample(pcm, rate, kVadSampleRateHz);
  for (auto& s : narrow) s = MulawDecode(MulawEncode(s));
  return narrow;
}

/// Deterministic approximately-Gaussian noise (sum of 4 uniforms from an LCG).
inline std::vector<int16_t> Noise(std::size_t n, double rms, uint32_t seed) {
  std::vector<int16_t> out(n);
  uint32_t x = seed;
  const double scale = rms / std::sqrt(4.0 / 12.0);
  for (auto& s : out) {
    double sum = 0;
    for (int k = 0; k < 4; ++k) {
      x = x * 1664525u + 1013904223u;
      sum += static_cast<double>(x >> 8) / static_cast<double>(1u << 24) - 0.5;
    }
    s = static_cast<int16_t>(std::clamp(sum * scale, -32768.0, 32767.0));
  }
  return out;
}

/// 8 kHz caller audio: lead silence + speech + trail silence, padded to whole 20 ms frames,
/// with a real line's faint hiss (about -70 dBFS) instead of digital zeros, re-quantised to
/// mu-law. Digital-zero pauses are unlike any phone line and upset the decoder's features.
inline std::vector<int16_t> PadForTurn(std::span<const int16_t> speech8k, int lead_ms = 600,
                                       int trail_ms = 1000) {
  std::vector<int16_t> out(static_cast<std::size_t>(lead_ms * 8), 0);
  out.insert(out.end(), speech8k.begin(), speech8k.end());
  out.resize(out.size() + static_cast<std::size_t>(trail_ms * 8), 0);
  out.resize((out.size() + kVadFrameSamples - 1) / kVadFrameSamples * kVadFrameSamples, 0);
  const std::vector<int16_t> hiss = Noise(out.size(), 10.0, 12345);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int mixed = std::clamp(out[i] + hiss[i], -32768, 32767);
    out[i] = MulawDecode(MulawEncode(static_cast<int16_t>(mixed)));
  }
  return out;
}

struct TurnOutcome {
  std::vector<std::string> texts;  ///< one per kSpeechEnd
  int starts = 0;
  int false_starts = 0;
};

/// Runs 8 kHz caller audio through VAD + endpointer and the recognizer, as the agent would:
/// decoding starts once the segment is confirmed (enough speech not to be a click), with audio
/// from 200 ms before the detected start; the utterance ends at kSpeechEnd.
inline Result<TurnOutcome> RunTurn(std::span<const int16_t> call8k, Vad& vad, Endpointer& ep,
                                   Recognizer& rec) {
  constexpr int64_t kPrerollFrames = 10;
  const std::vector<int16_t> wide = Resample(call8k, kVadSampleRateHz, kRecognizerSampleRateHz);
  const std::size_t wide_frame = kVadFrameSamples * 2;
  auto wide_span = [&](int64_t frame) {
    return std::span<const int16_t>(wide).subspan(static_cast<std::size_t>(frame) * wide_frame,
                                                  wide_frame);
  };
  TurnOutcome outcome;
  bool decoding = false;
  const auto frames = static_cast<int64_t>(call8k.size() / kVadFrameSamples);
  for (int64_t i = 0; i < frames; ++i) {
    auto frame = call8k.subspan(static_cast<std::size_t>(i) * kVadFrameSamples, kVadFrameSamples);
    TEMPO_ASSIGN_OR_RETURN(FrameClass cls, vad.Classify(frame));
    const EndpointEvent event = ep.Push(cls);
    if (event == EndpointEvent::kSpeechStart) ++outcome.starts;
    if (event == EndpointEvent::kFalseStart) ++outcome.false_starts;
    if (!decoding && ep.segment_confirmed()) {
      decoding = true;
      TEMPO_TRY(rec.StartUtterance());
      for (int64_t f = std::max<int64_t>(0, ep.segment_start_frame() - kPrerollFrames); f < i;
           ++f) {
        TEMPO_TRY(rec.Process(wide_span(f)));
      }
    }
    if (decoding) TEMPO_TRY(rec.Process(wide_span(i)));
    if (decoding && (event == EndpointEvent::kSpeechEnd || i + 1 == frames)) {
      decoding = false;
      TEMPO_ASSIGN_OR_RETURN(Hypothesis hyp, rec.EndUtterance());
      outcome.texts.push_back(hyp.text);
    }
  }
  return outcome;
}

/// A small dental-clinic agent corpus: knowledge base, tool phrases and common call phrases.
inline std::vector<std::string> DentalCorpus() {
  return {
      "What are your opening hours?",
      "What are your hours?",
      "When are you open?",
      "Are you open on Saturday?",
      "We are open from 9 to 5, Monday to Friday.",
      "We are open on Saturday from 9 to 1.",
      "What is your address?",
      "Where is the clinic?",
      "Where are you located?",
      "The clinic is at 42 Main Street, next to the bank.",
      "How much does a cleaning cost?",
      "How much is a cleaning?",
      "What is the price of a cleaning?",
      "A cleaning costs 80 dollars.",
      "How much does teeth whitening cost?",
      "How much is teeth whitening?",
      "What is the price of whitening?",
      "Teeth whitening costs 250 dollars.",
      "How much is a checkup?",
      "What is the price of a checkup?",
      "A checkup costs 60 dollars.",
      "I would like to book an appointment.",
      "I want to book an appointment for next Tuesday.",
      "Can I make an appointment?",
      "I would like to talk to a human.",
      "Can I speak to a person?",
      "Let me talk to someone.",
      "I want to speak to a human please.",
      "Can I leave a message?",
      "I would like to leave a message.",
      "Please call me back.",
      "Call me back tomorrow at 3 pm.",
      "Can you call me back tomorrow morning?",
      "Please call me back tomorrow afternoon.",
      "My number is 5 5 5 0 1 9 8.",
      "Goodbye.",
      "Thank you, goodbye.",
      "Bye.",
      "Yes.",
      "Yes please.",
      "Yeah.",
      "No.",
      "No thank you.",
      "No thanks.",
      "That is all, thank you.",
      "I have a toothache.",
      "Is it an emergency?",
      "Do you take insurance?",
  };
}

}  // namespace tempo::engine::local::testing
