#pragma once

// Test-only: drives a LocalEngine session with real synthetic speech over a simulated phone
// line (flite -> 8 kHz mu-law via tempo::audio), on a fake clock and a thread-safe fake
// executor, and recognises the agent's replies back through the same line. Deterministic: fixed
// voices, LCG noise, no dither; the test waits for the engine's workers after every frame.

#include "tempo/agent/agent_config.hpp"
#include "tempo/agent/demo_agent.hpp"
#include "tempo/audio/g711.hpp"
#include "tempo/audio/resampler.hpp"
#include "tempo/base/clock.hpp"
#include "tempo/base/executor.hpp"
#include "tempo/engine/local/dialogue.hpp"
#include "tempo/engine/local/lm_builder.hpp"
#include "tempo/engine/local/local_engine.hpp"
#include "tempo/engine/local/recognizer.hpp"
#include "tempo/engine/local/tts.hpp"
#include "tempo/knowledge/words.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace tempo::engine::local::harness {

using std::chrono::milliseconds;

/// A test clock that moves when told to (Advance). In kWallDuringWork mode it also runs with
/// the wall clock between Advance() calls, so the engine's own processing time shows up in the
/// timings while the audio timeline stays simulated (the e2e runner's latency figures).
class TestClock final : public Clock {
 public:
  enum class Mode : uint8_t { kFake, kWallDuringWork };
  explicit TestClock(Mode mode = Mode::kFake) : mode_(mode) {}

  [[nodiscard]] Steady::time_point Now() const override {
    std::lock_guard lock(mu_);
    auto t = Steady::time_point{} + elapsed_;
    if (mode_ == Mode::kWallDuringWork) t += Steady::now() - advanced_at_;
    last_ = std::max(last_, t);
    return last_;
  }
  [[nodiscard]] Wall::time_point WallNow() const override {
    return Wall::time_point{} +
           std::chrono::duration_cast<Wall::duration>(Now().time_since_epoch());
  }
  void Advance(Steady::duration d) {
    std::lock_guard lock(mu_);
    elapsed_ += d;
    advanced_at_ = Steady::now();
  }

 private:
  Mode mode_;
  mutable std::mutex mu_;
  Steady::duration elapsed_{};
  Steady::time_point advanced_at_ = Steady::now();
  mutable Steady::time_point last_{};
};

/// An executor whose posted work and timers wait in tables until its driver runs them: a test
/// step against a test clock (RunReady), or a thread against the real clock (RunUntil). Post()
/// is thread-safe because the engine's workers post results from their threads.
class QueueExecutor final : public Executor {
 public:
  using TimePoint = Clock::Steady::time_point;

  class QueueTimer final : public Timer {
   public:
    explicit QueueTimer(QueueExecutor& ex) : ex_(ex) {}
    ~QueueTimer() override { Cancel(); }
    void ExpireAt(TimePoint when, std::function<void(bool)> cb) override {
      Cancel();
      std::lock_guard lock(ex_.mu_);
      id_ = ++ex_.next_timer_;
      ex_.timers_[id_] = {when, std::move(cb)};
    }
    void Cancel() override {
      std::function<void(bool)> cb;
      {
        std::lock_guard lock(ex_.mu_);
        auto it = ex_.timers_.find(id_);
        if (it == ex_.timers_.end()) return;
        cb = std::move(it->second.second);
        ex_.timers_.erase(it);
      }
      ex_.Post([cb = std::move(cb)] { cb(true); });
    }

   private:
    QueueExecutor& ex_;
    uint64_t id_ = 0;
  };

  void Post(std::function<void()> fn) override {
    {
      std::lock_guard lock(mu_);
      posted_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }
  std::unique_ptr<Timer> MakeTimer() override { return std::make_unique<QueueTimer>(*this); }

  /// Runs posted work and the timers due by `now()` until none is left; returns how many ran.
  int RunReady(const std::function<TimePoint()>& now) {
    int ran = 0;
    for (;;) {
      std::unique_lock lock(mu_);
      auto job = TakeLocked(now());
      lock.unlock();
      if (!job) return ran;
      ++ran;
      job();
    }
  }

  /// Runs posted work and due timers on the real clock, waiting for them, until `until`.
  void RunUntil(TimePoint until) {
    for (;;) {
      std::unique_lock lock(mu_);
      std::function<void()> job;
      while (!(job = TakeLocked(Clock::Steady::now()))) {
        const auto now = Clock::Steady::now();
        if (now >= until) return;
        auto wake = until;
        for (const auto& [id, timer] : timers_) wake = std::min(wake, timer.first);
        cv_.wait_until(lock, wake);
      }
      lock.unlock();
      job();
    }
  }

 private:
  // The next job: posted work first, then the earliest timer due by `now`. Empty if none.
  std::function<void()> TakeLocked(TimePoint now) {
    if (!posted_.empty()) {
      auto fn = std::move(posted_.front());
      posted_.pop_front();
      return fn;
    }
    auto due = timers_.end();
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second.first <= now &&
          (due == timers_.end() || it->second.first < due->second.first)) {
        due = it;
      }
    }
    if (due == timers_.end()) return {};
    auto cb = std::move(due->second.second);
    timers_.erase(due);
    return [cb = std::move(cb)] { cb(false); };
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> posted_;
  std::map<uint64_t, std::pair<TimePoint, std::function<void(bool)>>> timers_;
  uint64_t next_timer_ = 0;
};

/// One agent turn as the observer saw it.
struct AgentTurn {
  std::vector<int16_t> pcm;  // at the session's output rate
  std::string text;
  Clock::Steady::time_point first_audio_at;
};

/// Records every session event with the fake clock's time.
class Recorder final : public SessionObserver {
 public:
  explicit Recorder(const Clock& clock, int output_rate) : clock_(clock), rate_(output_rate) {}

  void OnAudio(std::span<const int16_t> pcm) override {
    if (!current_) {
      current_.emplace();
      current_->first_audio_at = clock_.Now();
    }
    current_->pcm.insert(current_->pcm.end(), pcm.begin(), pcm.end());
    const auto duration = milliseconds(int64_t(pcm.size()) * 1000 / rate_);
    playing_until = std::max(playing_until, clock_.Now()) + duration;
  }
  void OnTranscript(const Transcript& t) override {
    transcripts.push_back(t);
    if (t.role == Role::kAgent) {
      if (!current_) {
        current_.emplace();
        current_->first_audio_at = clock_.Now();
      }
      if (!current_->text.empty()) current_->text += ' ';
      current_->text += t.text;
    }
  }
  void OnToolCall(const ToolCall& call) override { tools.push_back(call); }
  void OnInterrupted() override {
    interruptions.push_back(clock_.Now());
    playing_until = clock_.Now();
    if (current_) {
      current_->text += " [interrupted]";
      turns.push_back(std::move(*current_));
      current_.reset();
    }
  }
  void OnAgentTurnEnd() override {
    if (current_) turns.push_back(std::move(*current_));
    current_.reset();
  }
  void OnError(const Error& error) override { errors.push_back(error.message); }

  [[nodiscard]] bool Playing() const {
    return current_.has_value() || clock_.Now() < playing_until;
  }

  std::vector<Transcript> transcripts;
  std::vector<ToolCall> tools;
  std::vector<Clock::Steady::time_point> interruptions;
  std::vector<AgentTurn> turns;
  std::vector<std::string> errors;
  Clock::Steady::time_point playing_until{};

 private:
  const Clock& clock_;
  int rate_;
  std::optional<AgentTurn> current_;
};

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

/// Whole-buffer resampling through tempo::audio::Resampler (tail flushed).
inline std::vector<int16_t> Resample(std::span<const int16_t> in, int from, int to) {
  if (from == to) return {in.begin(), in.end()};
  auto r = audio::Resampler::Create(from, to);
  std::vector<int16_t> out;
  r->Process(in, out);
  r->Flush(out);
  return out;
}

/// The phone line: to 8 kHz, optional noise at `snr_db` below the speech RMS (nullopt: only a
/// faint -70 dBFS hiss, as a real line has), G.711 mu-law there and back.
inline std::vector<int16_t> PhoneLine(std::span<const int16_t> pcm, int rate,
                                      std::optional<double> snr_db, uint32_t seed) {
  std::vector<int16_t> narrow = Resample(pcm, rate, 8000);
  double sum = 0;
  for (int16_t s : narrow) sum += double(s) * s;
  const double speech_rms = std::sqrt(sum / double(std::max<std::size_t>(1, narrow.size())));
  const double noise_rms = snr_db ? speech_rms / std::pow(10.0, *snr_db / 20.0) : 10.0;
  const std::vector<int16_t> noise = Noise(narrow.size(), noise_rms, seed);
  for (std::size_t i = 0; i < narrow.size(); ++i) {
    narrow[i] = static_cast<int16_t>(std::clamp(int(narrow[i]) + noise[i], -32768, 32767));
  }
  std::vector<uint8_t> mulaw(narrow.size());
  audio::MulawEncode(narrow, mulaw);
  audio::MulawDecode(mulaw, narrow);
  return narrow;
}

/// Line noise alone (no speech) for `ms` milliseconds, at `rms` (mu-law round trip).
inline std::vector<int16_t> LineNoise(int ms, double rms, uint32_t seed) {
  std::vector<int16_t> pcm = Noise(std::size_t(ms) * 8, rms, seed);
  std::vector<uint8_t> mulaw(pcm.size());
  audio::MulawEncode(pcm, mulaw);
  audio::MulawDecode(mulaw, pcm);
  return pcm;
}

/// A caller line as the agent receives it: 8 kHz after the phone line.
inline std::vector<int16_t> CallerSpeech(const std::string& text, std::string_view voice,
                                         std::optional<double> snr_db = std::nullopt,
                                         uint32_t seed = 7) {
  auto synth = Synthesizer::Create(voice);
  auto pcm = synth->SynthesizeAll(text);
  return PhoneLine(*pcm, synth->sample_rate_hz(), snr_db, seed);
}

/// Drives one session frame by frame.
class Call {
 public:
  Call(LocalEngine& engine, const agent::AgentConfig& agent, std::string from = "+15550100",
       TestClock::Mode mode = TestClock::Mode::kFake)
      : engine_(engine), agent_(agent), clock_(mode) {
    SessionParams params;
    params.agent = &agent_;
    params.call_sid = CallSid("CAtest");
    params.from = std::move(from);
    params.to = "+15550199";
    params.executor = &executor_;
    params.clock = &clock_;
    auto rate = Synthesizer::Create(agent.voice_id)->sample_rate_hz();
    recorder_ = std::make_unique<Recorder>(clock_, rate);
    auto s = engine_.Open(params, *recorder_);
    if (s) session_ = std::move(*s);
  }
  ~Call() {
    if (session_) session_->Close();
    Settle();
    session_.reset();
    Settle();
  }

  [[nodiscard]] bool ok() const { return session_ != nullptr; }
  SpeechSession& session() { return *session_; }
  Recorder& events() { return *recorder_; }
  TestClock& clock() { return clock_; }
  [[nodiscard]] int output_rate() const { return session_->output_sample_rate(); }

  void Start() {
    session_->Start();
    Settle();
  }

  int RunReady() {
    return executor_.RunReady([this] { return clock_.Now(); });
  }

  /// Waits for the engine's workers and runs what they posted, until nothing moves.
  void Settle() {
    for (int i = 0; i < 1000; ++i) {
      engine_.WaitIdle();
      if (RunReady() == 0) {
        engine_.WaitIdle();
        if (RunReady() == 0) return;
      }
    }
  }

  /// Feeds 8 kHz audio in 20 ms frames, advancing the clock by 20 ms per frame.
  void Feed(std::span<const int16_t> pcm8k) {
    for (std::size_t at = 0; at + 160 <= pcm8k.size(); at += 160) {
      clock_.Advance(milliseconds(20));
      session_->SendAudio(pcm8k.subspan(at, 160));
      Settle();
    }
  }

  /// Feeds line hiss until the agent has finished speaking (and `extra` more), at most `limit`.
  void WaitForAgent(milliseconds extra = milliseconds(300),
                    milliseconds limit = milliseconds(60000)) {
    const auto deadline = clock_.Now() + limit;
    while (clock_.Now() < deadline && recorder_->Playing()) Feed(LineNoise(20, 10.0, seed_++));
    Feed(LineNoise(int(extra.count()), 10.0, seed_++));
  }

  /// Says `speech8k` (with 300 ms of lead hiss and the trailing silence that ends the turn),
  /// then waits for the agent to answer. Returns the index of the first new agent turn.
  std::size_t Say(std::span<const int16_t> speech8k) {
    const std::size_t before = recorder_->turns.size();
    Feed(LineNoise(300, 10.0, seed_++));
    Feed(speech8k);
    // Trailing silence until a reply starts (or 3 s).
    for (int i = 0; i < 150 && recorder_->turns.size() == before && !recorder_->Playing(); ++i) {
      Feed(LineNoise(20, 10.0, seed_++));
    }
    WaitForAgent();
    return before;
  }

 private:
  LocalEngine& engine_;
  agent::AgentConfig agent_;
  TestClock clock_;
  QueueExecutor executor_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<SpeechSession> session_;
  uint32_t seed_ = 1000;
};

/// Everything the agent may say for `agent`: the greeting, KB answers, tool lines, fallbacks.
inline std::vector<std::string> PossibleReplies(const agent::AgentConfig& agent) {
  std::vector<std::string> out;
  out.push_back(Dialogue(agent, "").Greeting().text);
  for (const auto& e : agent.knowledge_base) out.push_back(e.answer);
  for (const char* line :
       {"goodbye", "i want a human", "leave a message", "what is the meaning of life"}) {
    Dialogue fresh(agent, "");
    out.push_back(fresh.OnCallerText(line).text);
  }
  out.push_back(Dialogue(agent, "").OnSilence().text);
  out.push_back("Is there anything else I can help you with?");
  for (const char* when : {"", " tomorrow", " tomorrow at three", " tomorrow morning",
                           " monday morning", " tomorrow at three p m", " friday at two p m"}) {
    Dialogue fresh(agent, "+15550100");
    out.push_back(fresh.OnCallerText(std::string("call me back") + when).text);
  }
  {
    // The callback's questions: no time, then no number (twice), then a number.
    Dialogue d(agent, "+15550100");
    (void)d.OnCallerText("call me back");
    out.push_back(d.OnCallerText("any time").text);
    Dialogue n(agent, "anonymous");
    out.push_back(n.OnCallerText("call me back tomorrow").text);
    out.push_back(n.OnCallerText("what").text);
    out.push_back(n.OnCallerText("what").text);
  }
  const Dialogue with_rules(agent, "");
  for (const auto& rule : with_rules.guardrails()) {
    Dialogue d(agent, "");
    out.push_back(d.OnCallerText("can you " + rule.forbidden).text);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// Word-level edit distance / reference length.
inline double WordErrorRate(const std::vector<std::string>& ref,
                            const std::vector<std::string>& hyp) {
  std::vector<std::size_t> prev(hyp.size() + 1), cur(hyp.size() + 1);
  for (std::size_t j = 0; j <= hyp.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= ref.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= hyp.size(); ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return ref.empty() ? double(hyp.size()) : double(prev[hyp.size()]) / double(ref.size());
}

/// Recognises agent replies heard over the phone line with a JSGF grammar of the agent's
/// possible replies (falling back to an LM over the same sentences when the grammar search comes
/// back empty), and says which reply it was.
class ReplyListener {
 public:
  static std::optional<ReplyListener> Create(const std::vector<std::string>& replies,
                                             const std::filesystem::path& cache_dir) {
    auto files = BuildOrLoadCached(replies, WithGrammarWords({}), cache_dir);
    if (!files) return std::nullopt;
    RecognizerConfig config;
    config.domain = *files;
    auto rec = Recognizer::Create(config);
    if (!rec) return std::nullopt;
    std::string jsgf = "#JSGF V1.0;\ngrammar replies;\npublic <reply> = ";
    std::vector<std::vector<std::string>> normalized;
    for (std::size_t i = 0; i < replies.size(); ++i) {
      normalized.push_back(knowledge::NormalizeWords(replies[i]));
      std::string alt;
      for (const auto& w : normalized.back()) alt += (alt.empty() ? "" : " ") + w;
      jsgf += fmt::format("{}( {} )", i == 0 ? "" : " | ", alt);
    }
    jsgf += ";\n";
    if (!rec->AddGrammar("replies", jsgf)) return std::nullopt;
    return ReplyListener(std::move(*rec), replies, std::move(normalized));
  }

  struct Heard {
    std::string text;
    std::optional<std::size_t> reply;  // index into the replies
    double wer = 1.0;                  // against that reply
  };

  /// `pcm` at `rate`: one agent turn as the session emitted it.
  Heard Listen(std::span<const int16_t> pcm, int rate) {
    // Through the line back to the caller, then 16 kHz for the decoder, with hiss around it.
    std::vector<int16_t> line = PhoneLine(pcm, rate, std::nullopt, 99);
    std::vector<int16_t> padded = LineNoise(300, 10.0, 5);
    padded.insert(padded.end(), line.begin(), line.end());
    const auto tail = LineNoise(300, 10.0, 6);
    padded.insert(padded.end(), tail.begin(), tail.end());
    std::vector<int16_t> wide = Resample(padded, 8000, 16000);
    Heard heard;
    for (std::string_view search : {std::string_view("replies"), kDomainSearch}) {
      (void)rec_.SelectSearch(search);
      (void)rec_.StartUtterance();
      (void)rec_.Process(wide);
      auto hyp = rec_.EndUtterance();
      if (hyp && !hyp->text.empty()) {
        heard.text = hyp->text;
        break;
      }
    }
    const std::vector<std::string> words = knowledge::NormalizeWords(heard.text);
    for (std::size_t i = 0; i < normalized_.size(); ++i) {
      const double wer = WordErrorRate(normalized_[i], words);
      if (wer < heard.wer) {
        heard.wer = wer;
        heard.reply = i;
      }
    }
    if (heard.wer > 0.2) heard.reply.reset();
    return heard;
  }

  [[nodiscard]] const std::vector<std::string>& replies() const { return replies_; }
  /// Index of `text` among the replies.
  [[nodiscard]] std::optional<std::size_t> IndexOf(std::string_view text) const {
    auto it = std::find(replies_.begin(), replies_.end(), text);
    if (it == replies_.end()) return std::nullopt;
    return std::size_t(it - replies_.begin());
  }

 private:
  ReplyListener(Recognizer rec, std::vector<std::string> replies,
                std::vector<std::vector<std::string>> normalized)
      : rec_(std::move(rec)), replies_(std::move(replies)), normalized_(std::move(normalized)) {}

  Recognizer rec_;
  std::vector<std::string> replies_;
  std::vector<std::vector<std::string>> normalized_;
};

/// The dental-clinic agent the tests speak to: the demo agent `serve` creates, with a test id
/// and transfer number.
inline agent::AgentConfig DentalAgent() {
  agent::AgentConfig a = agent::MakeDemoAgent("local");
  a.agent_id = AgentId("dental");
  a.transfer_phone_number = "+15550123";
  return a;
}

}  // namespace tempo::engine::local::harness
