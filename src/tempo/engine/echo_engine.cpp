#include "tempo/engine/echo_engine.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <vector>

namespace tempo::engine {
namespace {

constexpr int kRate = 8000;
constexpr size_t kFrame = 160;  // 20 ms
constexpr int kFrameMs = 20;

std::vector<int16_t> Tone(int hz, int ms) {
  std::vector<int16_t> pcm(static_cast<size_t>(kRate * ms / 1000));
  for (size_t i = 0; i < pcm.size(); ++i) {
    pcm[i] = static_cast<int16_t>(6000 * std::sin(2 * M_PI * hz * double(i) / kRate));
  }
  return pcm;
}

class EchoSession final : public SpeechSession {
 public:
  EchoSession(const SessionParams& params, SessionObserver& observer, const EchoOptions& options)
      : params_(params), observer_(observer), options_(options) {}

  int input_sample_rate() const override { return kRate; }
  int output_sample_rate() const override { return kRate; }

  void Start() override {
    const auto tone = Tone(440, 300);
    Speak(tone, "[tone]");
  }

  void SendAudio(std::span<const int16_t> pcm) override {
    if (closed_) return;
    pending_.insert(pending_.end(), pcm.begin(), pcm.end());
    while (pending_.size() >= kFrame) {
      Frame(std::span<const int16_t>(pending_.data(), kFrame));
      pending_.erase(pending_.begin(), pending_.begin() + kFrame);
    }
  }

  void SendDtmf(char digit) override {
    if (closed_) return;
    observer_.OnTranscript({Role::kCaller, fmt::format("[dtmf {}]", digit), true, Now(), Now()});
    const char* tool = digit == '#'   ? "end_call"
                       : digit == '0' ? "transfer_call"
                       : digit == '*' ? "voicemail"
                                      : nullptr;
    if (tool != nullptr) {
      observer_.OnToolCall({fmt::format("echo-{}", ++tool_calls_), tool, "{}"});
    }
  }

  void SendToolResult(const ToolResult&) override {}
  void Close() override { closed_ = true; }

 private:
  std::chrono::milliseconds Now() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(params_.clock->Now() - started_);
  }

  void Frame(std::span<const int16_t> frame) {
    long sum = 0;
    for (const int16_t s : frame) sum += std::abs(int{s});
    const bool voiced = sum / static_cast<long>(frame.size()) >= options_.speech_level;
    elapsed_ms_ += kFrameMs;

    if (voiced) {
      silence_ms_ = 0;
      if (!in_speech_) {
        in_speech_ = true;
        speech_start_ms_ = elapsed_ms_ - kFrameMs;
        // Barge-in: the caller talks while the echo is still playing on their end.
        if (params_.clock->Now() < playing_until_) {
          playing_until_ = {};
          observer_.OnInterrupted();
        }
      }
    } else if (in_speech_) {
      silence_ms_ += kFrameMs;
    }
    if (in_speech_ && utterance_.size() < MaxSamples()) {
      utterance_.insert(utterance_.end(), frame.begin(), frame.end());
    }
    if (in_speech_ && silence_ms_ >= options_.pause.count()) {
      in_speech_ = false;
      // Trailing silence is not repeated.
      const size_t trailing = std::min(utterance_.size(), size_t(silence_ms_ / kFrameMs) * kFrame);
      utterance_.resize(utterance_.size() - trailing);
      const double seconds = double(utterance_.size()) / kRate;
      const std::chrono::milliseconds start{speech_start_ms_};
      observer_.OnTranscript({Role::kCaller, fmt::format("[speech {:.2f} s]", seconds), true, start,
                              start + std::chrono::milliseconds(long(seconds * 1000))});
      Speak(utterance_, fmt::format("[echo {:.2f} s]", seconds));
      utterance_.clear();
      silence_ms_ = 0;
    }
  }

  size_t MaxSamples() const { return size_t(options_.max_utterance.count()) * kRate / 1000; }

  void Speak(std::span<const int16_t> pcm, const std::string& text) {
    if (pcm.empty()) return;
    const auto now = params_.clock->Now();
    const auto duration = std::chrono::milliseconds(pcm.size() * 1000 / kRate);
    playing_until_ = std::max(playing_until_, now) + duration;
    observer_.OnTranscript({Role::kAgent, text, true, Now(), Now() + duration});
    observer_.OnAudio(pcm);
    observer_.OnAgentTurnEnd();
  }

  SessionParams params_;
  SessionObserver& observer_;
  EchoOptions options_;
  Clock::Steady::time_point started_ = params_.clock->Now();
  Clock::Steady::time_point playing_until_{};
  std::vector<int16_t> pending_;
  std::vector<int16_t> utterance_;
  bool in_speech_ = false;
  bool closed_ = false;
  long elapsed_ms_ = 0;
  long silence_ms_ = 0;
  long speech_start_ms_ = 0;
  int tool_calls_ = 0;
};

class EchoEngine final : public SpeechEngine {
 public:
  explicit EchoEngine(EchoOptions options) : options_(options) {}
  std::string_view name() const override { return "echo"; }
  Result<std::unique_ptr<SpeechSession>> Open(const SessionParams& params,
                                              SessionObserver& observer) override {
    if (params.clock == nullptr) return InvalidArgument("echo engine needs a clock");
    return std::unique_ptr<SpeechSession>(
        std::make_unique<EchoSession>(params, observer, options_));
  }

 private:
  EchoOptions options_;
};

}  // namespace

std::unique_ptr<SpeechEngine> MakeEchoEngine(EchoOptions options) {
  return std::make_unique<EchoEngine>(options);
}

}  // namespace tempo::engine
