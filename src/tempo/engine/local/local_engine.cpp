#include "tempo/engine/local/local_engine.hpp"

#include "tempo/audio/resampler.hpp"
#include "tempo/base/contain.hpp"
#include "tempo/base/failpoint.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/engine/local/grammars.hpp"
#include "tempo/engine/local/recognizer.hpp"
#include "tempo/engine/local/tts.hpp"
#include "tempo/engine/local/work_pool.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace tempo::engine::local {

using Ms = std::chrono::milliseconds;

namespace {

constexpr int kInputRate = kVadSampleRateHz;  // the runtime hands us 8 kHz, like the phone line
constexpr int64_t kPrerollFrames = 10;        // 200 ms of audio before the detected start

/// What Prepare() produces for one agent (shared by its calls, immutable).
struct PreparedAgent {
  ModelFiles files;
  uint64_t hash = 0;
};

double FrameDbfs(std::span<const int16_t> frame) {
  double sum = 0.0;
  for (const int16_t s : frame) sum += double(s) * double(s);
  const double rms = std::sqrt(sum / double(std::max<std::size_t>(1, frame.size())));
  return 20.0 * std::log10(std::max(rms, 1.0) / 32768.0);
}

Ms Since(Clock::Steady::time_point from, Clock::Steady::time_point to) {
  return std::chrono::duration_cast<Ms>(to - from);
}

}  // namespace

struct LocalEngine::Impl {
  LocalEngineOptions options;
  std::mutex mu;
  std::map<uint64_t, std::shared_ptr<const PreparedAgent>> prepared;
  // Last member, destroyed first: it finishes queued jobs, which may still use the others.
  WorkPool pool;

  explicit Impl(LocalEngineOptions o)
      : options(std::move(o)),
        pool(options.worker_threads != 0 ? options.worker_threads
                                         : std::max(1u, std::thread::hardware_concurrency())) {}

  Result<std::shared_ptr<const PreparedAgent>> PrepareShared(const agent::AgentConfig& agent) {
    std::size_t bytes = 0;
    for (const auto& e : agent.knowledge_base) bytes += e.question.size() + e.answer.size();
    if (agent.knowledge_base.size() > kMaxKnowledgeEntries || bytes > kMaxKnowledgeBytes) {
      return ResourceExhausted(fmt::format(
          "local engine: the knowledge base has {} entries / {} bytes; the limit is {} entries "
          "and {} bytes",
          agent.knowledge_base.size(), bytes, kMaxKnowledgeEntries, kMaxKnowledgeBytes));
    }
    const std::vector<std::string> corpus = DialogueCorpus(agent);
    const LmBuildOptions lm = WithGrammarWords(options.lm);
    const uint64_t hash = ModelContentHash(corpus, lm);
    std::lock_guard lock(mu);
    if (auto it = prepared.find(hash); it != prepared.end()) return it->second;
    TEMPO_ASSIGN_OR_RETURN(ModelFiles files, BuildOrLoadCached(corpus, lm, options.cache_dir));
    auto p = std::make_shared<PreparedAgent>(PreparedAgent{std::move(files), hash});
    // Agents change rarely; a bound keeps a process with churning configs from growing.
    if (prepared.size() >= 256) prepared.clear();
    prepared.emplace(hash, p);
    return std::shared_ptr<const PreparedAgent>(std::move(p));
  }
};

namespace {

/// The executor a session posts to, closed when the session goes so workers stop posting.
struct ExecutorLink {
  std::mutex mu;
  Executor* executor = nullptr;
  bool closed = false;

  void Post(std::function<void()> fn) {
    std::lock_guard lock(mu);
    if (!closed) executor->Post(std::move(fn));
  }
  void Close() {
    std::lock_guard lock(mu);
    closed = true;
  }
};

/// Decoder-side state; touched only by jobs of the session's ASR queue.
struct AsrState {
  std::optional<Recognizer> recognizer;
  std::optional<audio::Resampler> upsampler;
  std::vector<int16_t> wide;
  /// The utterance's 16 kHz audio, kept only when a closed grammar decodes it a second time.
  std::vector<int16_t> utterance;
  std::string_view grammar;  // empty: no second pass for this utterance
  bool failed = false;
  std::string call_sid;  // for failpoints
};

/// The closed grammar for what the dialogue expects (empty for an open question).
std::string_view GrammarFor(Expect expect) {
  switch (expect) {
    case Expect::kYesNo:
      return kYesNoGrammar;
    case Expect::kDigits:
      return kDigitsGrammar;
    case Expect::kTime:
      return kTimeGrammar;
    case Expect::kOpen:
      break;
  }
  return {};
}

/// One utterance decoded: with the domain LM, and with a closed grammar when one was expected.
struct Decoded {
  Hypothesis open;
  std::optional<Hypothesis> closed;
};

/// Pause after the last keyed digit that ends a number entry without '#'.
constexpr Ms kDigitPause{3000};

class LocalSession;

/// Executor-side state of one call. Posted callbacks hold a weak_ptr to it.
struct Core : std::enable_shared_from_this<Core> {
  Core(std::shared_ptr<LocalEngine::Impl> engine, const SessionParams& params,
       SessionObserver& observer, Synthesizer synthesizer, Vad vad, Endpointer endpointer)
      : engine(std::move(engine)),
        params(params),
        observer(observer),
        options(this->engine->options),
        dialogue(*params.agent, params.from, options.dialogue),
        synthesizer(synthesizer),
        vad(std::move(vad)),
        endpointer(endpointer),
        asr_queue(std::make_shared<SerialQueue>(this->engine->pool)),
        tts_queue(std::make_shared<SerialQueue>(this->engine->pool)),
        link(std::make_shared<ExecutorLink>()),
        asr(std::make_shared<AsrState>()),
        generation(std::make_shared<std::atomic<uint64_t>>(0)),
        started_at(params.clock->Now()) {
    link->executor = params.executor;
  }

  std::shared_ptr<LocalEngine::Impl> engine;
  SessionParams params;
  SessionObserver& observer;
  const LocalEngineOptions& options;
  Dialogue dialogue;
  Synthesizer synthesizer;
  Vad vad;
  Endpointer endpointer;
  std::shared_ptr<SerialQueue> asr_queue;
  std::shared_ptr<SerialQueue> tts_queue;
  std::shared_ptr<ExecutorLink> link;
  std::shared_ptr<AsrState> asr;
  std::shared_ptr<std::atomic<uint64_t>> generation;  // bumped on barge-in: stops synthesis
  std::unique_ptr<Timer> silence_timer;
  std::unique_ptr<Timer> digit_timer;

  Clock::Steady::time_point started_at;
  std::optional<Clock::Steady::time_point> first_frame_at;
  std::vector<int16_t> pending_input;
  std::deque<std::vector<int16_t>> recent;  // frames from segment start - pre-roll
  int64_t recent_first_frame = 0;
  Clock::Steady::time_point speech_end_at{};
  double noise_floor_db = -70.0;
  bool decoding = false;
  int awaiting_hypotheses = 0;
  bool closed = false;
  bool failed = false;

  // Speaking.
  bool speaking = false;  // synthesis of the current reply not finished
  uint64_t speaking_generation = 0;
  Clock::Steady::time_point playing_until{};
  std::optional<ToolRequest> pending_tool;
  std::optional<TurnTiming> timing;

  Ms Offset(Clock::Steady::time_point t) const { return Since(started_at, t); }
  Clock::Steady::time_point Now() const { return params.clock->Now(); }

  template <typename F>
  void PostToExecutor(F&& fn) {
    link->Post([weak = weak_from_this(), fn = std::forward<F>(fn)]() mutable {
      if (auto self = weak.lock(); self && !self->closed) {
        self->Guarded("callback", [&] { fn(*self); });
      }
    });
  }

  /// Runs executor-side work of this call. What it throws ends this call through the
  /// observer (the runtime apologises and stores the artefacts); the executor and every
  /// other call go on.
  template <typename F>
  void Guarded(std::string_view stage, F&& work) noexcept {
    Contain(std::forward<F>(work), [&](std::string_view what) { Threw(stage, what); });
  }

  void Threw(std::string_view stage, std::string_view what) noexcept {
    try {
      CountException(stage);
      TEMPO_LOG(engine, error, "[call={}] local engine: {} threw: {}", params.call_sid, stage,
                what);
      Fail(Internal(fmt::format("local engine: {} failed: {}", stage, what)));
    } catch (...) {
      // The runtime's own guard ends the call if this could not.
    }
  }

  static void CountException(std::string_view stage) {
    metrics::Registry::Global()
        .AddCounter("tempo_engine_exceptions_total",
                    "Exceptions in a speech engine's per-call work; each ended its own call",
                    {{"engine", "local"}, {"stage", std::string(stage)}})
        .Inc();
  }

  /// A worker job of `queue` threw: the queue has dropped its other jobs; end the call.
  void OnWorkerException(const std::shared_ptr<SerialQueue>& queue, std::string_view stage) {
    queue->SetExceptionHandler(
        [link = link, weak = weak_from_this(), stage = std::string(stage)](std::string_view what) {
          CountException(stage);
          TEMPO_LOG_LIMITED(engine, error, "local engine: a {} job threw: {}", stage, what);
          link->Post([weak, message = fmt::format("local engine: {} failed: {}", stage, what)] {
            if (auto s = weak.lock(); s && !s->closed) s->Fail(Internal(message));
          });
        });
  }

  void Fail(Error error) {
    if (closed || failed) return;
    failed = true;
    ++*generation;
    if (silence_timer) silence_timer->Cancel();
    observer.OnError(error);
  }

  // ------------------------------------------------------------------ start
  void Start() {
    OnWorkerException(asr_queue, "speech recognition");
    OnWorkerException(tts_queue, "speech synthesis");
    asr->call_sid = params.call_sid.str();
    // The decoder is made on a worker: agent preparation and ps_init take milliseconds.
    // A raw pointer: the pool (a member of *engine) outlives its jobs, and a job must never
    // hold the last reference to the engine (its destructor joins the worker threads).
    asr_queue->Post([engine = engine.get(), agent = *params.agent, asr = asr,
                     model_dir = options.model_dir, self = weak_from_this(), link = link] {
      auto fail = [&](Error e) {
        asr->failed = true;
        link->Post([self, e] {
          if (auto s = self.lock(); s && !s->closed) s->Fail(e);
        });
      };
      auto prepared = engine->PrepareShared(agent);
      if (!prepared) return fail(prepared.error());
      RecognizerConfig config;
      config.model_dir = model_dir;
      config.domain = (*prepared)->files;
      auto rec = Recognizer::Create(config);
      if (!rec) return fail(rec.error());
      auto up = audio::Resampler::Create(kInputRate, kRecognizerSampleRateHz);
      if (!up) return fail(up.error());
      asr->recognizer.emplace(std::move(*rec));
      asr->upsampler.emplace(std::move(*up));
    });
    Speak(dialogue.Greeting());
  }

  // ------------------------------------------------------------------ input
  void SendAudio(std::span<const int16_t> pcm) {
    if (closed || failed) return;
    pending_input.insert(pending_input.end(), pcm.begin(), pcm.end());
    std::size_t used = 0;
    while (pending_input.size() - used >= kVadFrameSamples) {
      OnFrame(std::span<const int16_t>(pending_input).subspan(used, kVadFrameSamples));
      used += kVadFrameSamples;
      if (closed || failed) return;
    }
    pending_input.erase(pending_input.begin(), pending_input.begin() + long(used));
  }

  bool IsSpeech(std::span<const int16_t> frame) {
    auto cls = vad.Classify(frame);
    const double db = FrameDbfs(frame);
    // Minimum-following noise floor: drops at once, rises 0.2 dB per frame (10 dB/s), so
    // steady noise stops counting as speech within a few seconds while pauses between words
    // keep it down during speech.
    noise_floor_db = db < noise_floor_db ? db : noise_floor_db + 0.2;
    const bool loud =
        db >= options.min_speech_dbfs && db >= noise_floor_db + options.noise_margin_db;
    return cls && *cls == FrameClass::kSpeech && loud;
  }

  void OnFrame(std::span<const int16_t> frame) {
    const auto now = Now();
    if (!first_frame_at) first_frame_at = now;
    const int64_t index = endpointer.frames_seen();
    const FrameClass cls = IsSpeech(frame) ? FrameClass::kSpeech : FrameClass::kNonSpeech;
    const EndpointEvent event = endpointer.Push(cls);

    recent.emplace_back(frame.begin(), frame.end());
    if (!endpointer.in_speech()) {
      // Keep only what a future segment's pre-roll can need.
      const std::size_t keep = std::size_t(kPrerollFrames) + 8;
      while (recent.size() > keep) {
        recent.pop_front();
        ++recent_first_frame;
      }
    }

    if (event == EndpointEvent::kSpeechStart) OnSpeechStart();
    if (cls == FrameClass::kSpeech && endpointer.in_speech()) speech_end_at = now;

    if (!decoding && endpointer.segment_confirmed()) {
      decoding = true;
      const int64_t from =
          std::max(recent_first_frame, endpointer.segment_start_frame() - kPrerollFrames);
      std::vector<int16_t> audio;
      for (int64_t f = from; f <= index; ++f) {
        const auto& fr = recent[std::size_t(f - recent_first_frame)];
        audio.insert(audio.end(), fr.begin(), fr.end());
      }
      PostDecode(std::move(audio), DecodeStep::kStart, {}, GrammarFor(dialogue.expecting()));
    } else if (decoding) {
      PostDecode({frame.begin(), frame.end()}, DecodeStep::kContinue);
    }

    if (event == EndpointEvent::kSpeechEnd || event == EndpointEvent::kFalseStart) {
      // The next segment starts from a fresh buffer.
      const std::size_t keep = std::size_t(kPrerollFrames);
      while (recent.size() > keep) {
        recent.pop_front();
        ++recent_first_frame;
      }
    }
    if (event == EndpointEvent::kSpeechEnd && decoding) {
      decoding = false;
      ++awaiting_hypotheses;
      TurnTiming t;
      t.speech_end_audio = Ms(endpointer.segment_end_frame() * kVadFrameMs);
      t.endpoint_at = now;
      t.speech_end_at = speech_end_at;
      const Ms start = Offset(*first_frame_at) + Ms(endpointer.segment_start_frame() * kVadFrameMs);
      const Ms end = Offset(*first_frame_at) + t.speech_end_audio;
      PostDecode({}, DecodeStep::kEnd, [t, start, end](Core& self, Decoded d) mutable {
        self.OnHypothesis(std::move(d), t, start, end);
      });
    } else if (event == EndpointEvent::kFalseStart) {
      ArmSilenceTimer();
    }
  }

  enum class DecodeStep : uint8_t { kStart, kContinue, kEnd };

  void PostDecode(std::vector<int16_t> pcm8k, DecodeStep step,
                  std::function<void(Core&, Decoded)> on_result = {},
                  std::string_view grammar = {}) {
    asr_queue->Post([asr = asr, pcm8k = std::move(pcm8k), step, grammar, link = link,
                     self = weak_from_this(), on_result = std::move(on_result)]() mutable {
      auto deliver = [&](Result<Decoded> decoded) {
        link->Post(
            [self, decoded = std::move(decoded), on_result = std::move(on_result)]() mutable {
              auto s = self.lock();
              if (!s || s->closed) return;
              if (!decoded) return s->Fail(decoded.error());
              if (on_result) s->Guarded("dialogue", [&] { on_result(*s, std::move(*decoded)); });
            });
      };
      if (asr->failed) return;
      Recognizer& rec = *asr->recognizer;
      if (step == DecodeStep::kStart) {
        TEMPO_FAILPOINT("local.asr", asr->call_sid);
        asr->upsampler->Reset();
        asr->utterance.clear();
        asr->grammar = grammar;
        if (auto ok = rec.StartUtterance(); !ok) return deliver(ok.error());
      }
      auto feed = [&] {
        if (auto ok = rec.Process(asr->wide); !ok) return ok;
        if (!asr->grammar.empty()) {
          asr->utterance.insert(asr->utterance.end(), asr->wide.begin(), asr->wide.end());
        }
        return Result<void>(Ok());
      };
      if (!pcm8k.empty()) {
        asr->wide.clear();
        asr->upsampler->Process(pcm8k, asr->wide);
        if (auto ok = feed(); !ok) return deliver(ok.error());
      }
      if (step == DecodeStep::kEnd) {
        asr->wide.clear();
        asr->upsampler->Flush(asr->wide);
        if (!asr->wide.empty()) (void)feed();
        auto open = rec.EndUtterance();
        if (!open) return deliver(open.error());
        Decoded decoded{std::move(*open), std::nullopt};
        if (!asr->grammar.empty()) {
          auto closed = DecodeClosed(*asr);
          if (!closed) return deliver(closed.error());
          decoded.closed = std::move(*closed);
        }
        deliver(std::move(decoded));
      }
    });
  }

  /// Decodes the kept utterance again with its closed grammar (a closed grammar decodes faster
  /// than the domain LM). A failure there only loses the second opinion, never the turn; only
  /// failing to switch back to the domain search is an error (the call cannot go on).
  static Result<std::optional<Hypothesis>> DecodeClosed(AsrState& asr) {
    Recognizer& rec = *asr.recognizer;
    std::optional<Hypothesis> out;
    if (rec.SelectSearch(asr.grammar) && rec.StartUtterance()) {
      const bool fed = rec.Process(asr.utterance).has_value();
      auto hyp = rec.EndUtterance();  // closes the utterance even when feeding failed
      if (fed && hyp) out = std::move(*hyp);
    }
    asr.utterance.clear();
    asr.grammar = {};
    TEMPO_TRY(rec.SelectSearch(kDomainSearch));
    return out;
  }

  void OnSpeechStart() {
    if (silence_timer) silence_timer->Cancel();
    if (speaking || Now() < playing_until) Interrupt();
  }

  void Interrupt() {
    ++*generation;
    speaking = false;
    playing_until = Now();
    observer.OnInterrupted();
    // The decision stands even if its words were cut short (e.g. a transfer).
    if (pending_tool) EmitTool(*std::exchange(pending_tool, std::nullopt));
  }

  void OnHypothesis(Decoded decoded, TurnTiming t, Ms start, Ms end) {
    --awaiting_hypotheses;
    if (dialogue.ended()) return;
    t.hypothesis_at = Now();
    TEMPO_FAILPOINT("local.dialogue", params.call_sid.view());
    const Hypothesis& hyp = decoded.open;
    t.caller_text = hyp.text;
    if (decoded.closed) t.closed_text = decoded.closed->text;
    Reply reply = dialogue.OnCallerText(hyp.text, t.closed_text);
    // The transcript shows what the reply was based on.
    const std::string& said = reply.from_closed_grammar ? t.closed_text : hyp.text;
    if (!said.empty()) observer.OnTranscript({Role::kCaller, said, true, start, end});
    t.intent = reply.intent;
    if (reply.text.empty()) {
      ArmSilenceTimer();
      return;
    }
    timing = t;
    Speak(std::move(reply));
  }

  // ------------------------------------------------------------------ output
  void Speak(Reply reply) {
    if (reply.text.empty()) return;
    // A newer reply replaces one still being synthesised.
    const uint64_t gen = ++*generation;
    speaking = true;
    speaking_generation = gen;
    pending_tool = std::move(reply.tool);
    if (silence_timer) silence_timer->Cancel();
    tts_queue->Post([synth = synthesizer, text = std::move(reply.text), gen, current = generation,
                     self = weak_from_this(), link = link, sid = params.call_sid.str()] {
      TEMPO_FAILPOINT("local.tts", sid);
      for (std::string& chunk : SplitIntoChunks(text)) {
        if (current->load() != gen) return;
        std::vector<int16_t> pcm;
        auto ok = synth.Synthesize(chunk, [&](std::span<const int16_t> part, int) {
          pcm.insert(pcm.end(), part.begin(), part.end());
        });
        if (current->load() != gen) return;
        link->Post([self, gen, ok, chunk = std::move(chunk), pcm = std::move(pcm)]() mutable {
          auto s = self.lock();
          if (!s || s->closed) return;
          if (!ok) return s->Fail(ok.error());
          s->Guarded("speech output", [&] { s->OnChunk(gen, chunk, pcm); });
        });
      }
      link->Post([self, gen] {
        if (auto s = self.lock(); s && !s->closed) {
          s->Guarded("speech output", [&] { s->OnSpeakDone(gen); });
        }
      });
    });
  }

  void OnChunk(uint64_t gen, const std::string& text, std::span<const int16_t> pcm) {
    if (gen != speaking_generation || !speaking || pcm.empty()) return;
    const auto now = Now();
    const auto duration = Ms(int64_t(pcm.size()) * 1000 / synthesizer.sample_rate_hz());
    const auto begin = std::max(now, playing_until);
    playing_until = begin + duration;
    observer.OnTranscript({Role::kAgent, text, true, Offset(begin), Offset(playing_until)});
    observer.OnAudio(pcm);
    if (timing) {
      timing->first_audio_at = now;
      if (options.on_turn) options.on_turn(*timing);
      timing.reset();
    }
  }

  void OnSpeakDone(uint64_t gen) {
    if (gen != speaking_generation || !speaking) return;
    speaking = false;
    observer.OnAgentTurnEnd();
    if (pending_tool) EmitTool(*std::exchange(pending_tool, std::nullopt));
    if (closed) return;
    ArmSilenceTimer();
  }

  void EmitTool(const ToolRequest& tool) {
    static std::atomic<uint64_t> counter{0};
    observer.OnToolCall({fmt::format("local-{}", ++counter), tool.name, tool.arguments_json});
  }

  void OnToolResult(const ToolResult& result) {
    const auto json = nlohmann::json::parse(result.content_json, nullptr, false);
    const bool failed_tool = json.is_object() && json.value("status", "") == "error";
    if (!failed_tool || closed) return;
    Reply reply = dialogue.OnToolFailed(result.name);
    Speak(std::move(reply));
  }

  // ------------------------------------------------------------------ keypad
  void OnDtmf(char digit) {
    if (closed || failed) return;
    Reply reply = dialogue.OnDtmf(digit);
    const bool collecting = dialogue.collecting_digits();
    if (collecting || !reply.text.empty()) {
      // A key the dialogue takes cuts the agent short, as on any phone menu.
      if (silence_timer) silence_timer->Cancel();
      if (speaking || Now() < playing_until) Interrupt();
    }
    if (collecting) {
      if (!digit_timer) digit_timer = params.executor->MakeTimer();
      digit_timer->ExpireAt(Now() + kDigitPause, [weak = weak_from_this()](bool cancelled) {
        auto s = weak.lock();
        if (!s || cancelled || s->closed) return;
        s->Guarded("keypad timer", [&] {
          Reply r = s->dialogue.OnDtmfPause();
          if (r.text.empty()) return s->ArmSilenceTimer();
          s->Speak(std::move(r));
        });
      });
    } else if (digit_timer) {
      digit_timer->Cancel();
    }
    if (!reply.text.empty()) {
      Speak(std::move(reply));
    } else if (!collecting) {
      ArmSilenceTimer();
    }
  }

  // ------------------------------------------------------------------ silence
  void ArmSilenceTimer() {
    if (closed || failed || dialogue.ended() || speaking) return;
    if (!silence_timer) silence_timer = params.executor->MakeTimer();
    const auto when = std::max(Now(), playing_until) + options.silence_timeout;
    silence_timer->ExpireAt(when, [weak = weak_from_this()](bool cancelled) {
      auto s = weak.lock();
      if (!s || cancelled || s->closed) return;
      s->Guarded("silence timer", [&] {
        TEMPO_FAILPOINT("local.timer", s->params.call_sid.view());
        s->OnSilenceTimeout();
      });
    });
  }

  void OnSilenceTimeout() {
    if (speaking || decoding || awaiting_hypotheses > 0 || endpointer.in_speech() ||
        dialogue.collecting_digits()) {
      return;
    }
    if (Now() < playing_until) return ArmSilenceTimer();
    Speak(dialogue.OnSilence());
  }

  void Close() {
    if (closed) return;
    closed = true;
    ++*generation;
    link->Close();
    if (silence_timer) silence_timer->Cancel();
    if (digit_timer) digit_timer->Cancel();
  }
};

class LocalSession final : public SpeechSession {
 public:
  explicit LocalSession(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~LocalSession() override { core_->Close(); }

  int input_sample_rate() const override { return kInputRate; }
  int output_sample_rate() const override { return core_->synthesizer.sample_rate_hz(); }
  void Start() override { core_->Start(); }
  void SendAudio(std::span<const int16_t> pcm) override { core_->SendAudio(pcm); }
  void SendDtmf(char digit) override { core_->OnDtmf(digit); }
  void SendToolResult(const ToolResult& result) override { core_->OnToolResult(result); }
  void OnPlayed(Ms /*played*/) override {
    // Twilio played the turn to its end: nothing of it is still audible.
    if (!core_->speaking) core_->playing_until = std::min(core_->playing_until, core_->Now());
  }
  void Close() override { core_->Close(); }

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace

LocalEngine::LocalEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LocalEngine::~LocalEngine() = default;

Result<std::unique_ptr<LocalEngine>> LocalEngine::Create(LocalEngineOptions options) {
  const auto hmm = options.model_dir / "en-us" / "mdef";
  if (!std::filesystem::exists(hmm)) {
    return NotFound(
        fmt::format("local engine: acoustic model {} is missing (install the Debian "
                    "package pocketsphinx-en-us)",
                    hmm.string()));
  }
  if (options.cache_dir.empty()) {
    options.cache_dir = std::filesystem::temp_directory_path() / "tempovoice-lm";
  }
  if (options.hangover.count() <= 0 || options.hangover.count() % kVadFrameMs != 0) {
    return InvalidArgument("local engine: hangover must be a positive multiple of 20 ms");
  }
  return std::unique_ptr<LocalEngine>(new LocalEngine(std::make_unique<Impl>(std::move(options))));
}

Result<void> LocalEngine::Prepare(const agent::AgentConfig& agent) {
  TEMPO_TRY(impl_->PrepareShared(agent));
  return Ok();
}

Result<std::unique_ptr<SpeechSession>> LocalEngine::Open(const SessionParams& params,
                                                         SessionObserver& observer) {
  if (params.agent == nullptr || params.executor == nullptr || params.clock == nullptr) {
    return InvalidArgument("local engine: a session needs an agent, an executor and a clock");
  }
  TEMPO_ASSIGN_OR_RETURN(Synthesizer synth, Synthesizer::Create(params.agent->voice_id));
  TEMPO_ASSIGN_OR_RETURN(Vad vad, Vad::Create(impl_->options.vad_mode));
  EndpointerConfig ep;
  ep.hangover_ms = int(impl_->options.hangover.count());
  TEMPO_ASSIGN_OR_RETURN(Endpointer endpointer, Endpointer::Create(ep));
  auto core = std::make_shared<Core>(impl_, params, observer, synth, std::move(vad), endpointer);
  return std::unique_ptr<SpeechSession>(std::make_unique<LocalSession>(std::move(core)));
}

void LocalEngine::WaitIdle() { impl_->pool.WaitIdle(); }

std::unique_ptr<SpeechEngine> MakeLocalEngine(LocalEngineOptions options) {
  auto engine = LocalEngine::Create(std::move(options));
  if (!engine) {
    TEMPO_LOG(engine, error, "local engine unavailable: {}", engine.error().message);
    return nullptr;
  }
  return std::move(*engine);
}

}  // namespace tempo::engine::local
