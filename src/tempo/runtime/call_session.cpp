#include "tempo/runtime/call_session.hpp"

#include "tempo/audio/frame_pacer.hpp"
#include "tempo/audio/g711.hpp"
#include "tempo/audio/mixer.hpp"
#include "tempo/audio/resampler.hpp"
#include "tempo/audio/wav.hpp"
#include "tempo/base/contain.hpp"
#include "tempo/base/failpoint.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/knowledge/knowledge_index.hpp"
#include "tempo/storage/append_log.hpp"
#include "tempo/storage/call_layout.hpp"
#include "tempo/twilio/media_stream.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <sstream>

namespace tempo::runtime {
namespace {

using Ms = std::chrono::milliseconds;

/// Process-wide call metrics (bounded labels: outcome and reason sets are fixed in code).
struct Stats {
  metrics::Registry& r = metrics::Registry::Global();
  metrics::Gauge& active = r.AddGauge("tempo_calls_active", "Calls with an open media stream");
  metrics::Counter& started =
      r.AddCounter("tempo_calls_started_total", "Calls whose stream started");
  metrics::Counter& frames_in = r.AddCounter("tempo_media_frames_total",
                                             "Media messages by direction", {{"direction", "in"}});
  metrics::Counter& frames_out = r.AddCounter(
      "tempo_media_frames_total", "Media messages by direction", {{"direction", "out"}});
  metrics::Counter& late = r.AddCounter("tempo_media_late_frames_total",
                                        "Outbound frames sent more than 5 ms after they were due");
  metrics::Counter& barge_ins =
      r.AddCounter("tempo_barge_ins_total", "Agent speech interrupted by the caller");
  metrics::Counter& store_failures =
      r.AddCounter("tempo_call_artifact_failures_total", "Call artefacts that could not be stored");
  metrics::Histogram& turn_latency =
      r.AddHistogram("tempo_turn_latency_seconds", "Caller stopped speaking to first agent audio",
                     metrics::LatencyBucketsSeconds());

  metrics::Counter& Finished(const std::string& outcome) {
    return r.AddCounter("tempo_calls_finished_total", "Calls finished, by outcome",
                        {{"outcome", outcome}});
  }
  metrics::Counter& Exception(std::string_view where) {
    return r.AddCounter("tempo_call_exceptions_total",
                        "Exceptions in per-call work; each ended its own call only",
                        {{"where", std::string(where)}});
  }
  metrics::Counter& BadMessage(std::string_view reason) {
    return r.AddCounter("tempo_media_bad_messages_total",
                        "Invalid media-stream messages received, by reason",
                        {{"reason", std::string(reason)}});
  }
};

Stats& GetStats() {
  static Stats stats;
  return stats;
}

/// Maps a parse error to a metric reason (a fixed set).

/// The first `fraction` of the words of `text` (what the caller heard of an interrupted turn).
std::string CutWords(const std::string& text, double fraction) {
  if (fraction >= 1.0) return text;
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(std::move(w));
  const auto keep = static_cast<size_t>(std::ceil(fraction * static_cast<double>(words.size())));
  std::string out;
  for (size_t i = 0; i < keep && i < words.size(); ++i) {
    if (!out.empty()) out += ' ';
    out += words[i];
  }
  return out;
}

/// An agent utterance: text from the engine, audio queued and sent for it. (At namespace
/// scope: clang cannot default-construct a nested struct with member initializers inside its
/// enclosing class.)
struct AgentTurn {
  std::string text;
  int64_t start_ms = -1;
  int64_t queued_ms = 0;
  int64_t sent_ms = 0;
  std::string mark;
};

}  // namespace

struct CallSession::Impl {
  Impl(Runtime& runtime, std::shared_ptr<const agent::AgentConfig> agent_config,
       std::shared_ptr<net::WebSocket> socket)
      : rt(runtime),
        agent(std::move(agent_config)),
        ws(std::move(socket)),
        clock(runtime.clock()) {}

  enum class State { kAwaitingStart, kActive, kRejected, kFinished };

  Runtime& rt;
  std::shared_ptr<const agent::AgentConfig> agent;
  /// Built at the first search_knowledge_base of the call (most calls never search).
  std::optional<knowledge::KnowledgeIndex> knowledge_index;
  std::shared_ptr<net::WebSocket> ws;
  const Clock& clock;
  std::weak_ptr<CallSession> self;
  CallSession* owner = nullptr;

  State state = State::kAwaitingStart;
  twilio::InboundEvent event;
  std::vector<int16_t> pcm8k;
  std::vector<int16_t> pcm_engine;
  std::vector<int16_t> agent8k;
  std::array<int16_t, audio::kMulawFrameBytes> frame_pcm{};
  std::string out_json;
  std::vector<uint8_t> batch;  // the frames of one outbound media message
  std::optional<audio::Resampler> in_resampler;
  std::optional<audio::Resampler> out_resampler;
  std::unique_ptr<engine::SpeechSession> engine;

  audio::FrameQueue queue;
  std::optional<audio::FramePacer> pacer;
  std::unique_ptr<Timer> pace_timer;
  bool pace_armed = false;
  std::unique_ptr<Timer> guard_timer;
  std::unique_ptr<Timer> drain_timer;

  std::optional<audio::StereoMixer> mixer;
  std::filesystem::path wav_path;
  std::filesystem::path wal_path;
  storage::CallLocation location;  // set once the start's ids are validated

  CallRecord record;
  std::optional<AgentTurn> current_turn;
  std::deque<AgentTurn> sent_turns;  // waiting for their mark echo
  int turn_counter = 0;
  int64_t caller_stopped_ms = -1;
  bool got_stop = false;

  // Write-ahead chain: lines are appended in order by one blocking job at a time.
  std::optional<storage::AppendLog> wal;  // holds no descriptor: only the file's path
  size_t wal_lines_written = 0;           // on the blocking pool
  std::vector<std::string> wal_pending;
  bool wal_busy = false;
  bool store_when_idle = false;

  // Ending.
  bool ending = false;  // no more engine input; close once the queue has played
  std::string end_outcome;
  std::string end_reason;
  uint32_t bad_messages = 0;
  Clock::Steady::time_point t0;

  int64_t NowMs() const { return std::chrono::duration_cast<Ms>(clock.Now() - t0).count(); }
  std::shared_ptr<CallSession> Self() const { return self.lock(); }

  // ---------------------------------------------------------------- failure containment
  bool crashed = false;          // an exception already ended this call
  bool store_requested = false;  // StoreArtifacts ran (or is queued)

  /// Runs per-call work. An exception there ends this call, and only this call: it is counted
  /// and logged, the caller hears an apology (the call-ended TwiML), and whatever the call has
  /// so far is stored. `where` is a fixed label (the metric's).
  template <class F>
  void Guard(std::string_view where, F&& work) noexcept {
    Contain(std::forward<F>(work), [&](std::string_view what) { Crashed(where, what); });
  }

  void Crashed(std::string_view where, std::string_view what) noexcept {
    try {
      GetStats().Exception(where).Inc();
      TEMPO_LOG(runtime, error, "[call={} agent={}] {} threw: {}", record.info.call_sid,
                agent->agent_id, where, what);
      switch (state) {
        case State::kAwaitingStart:
          Reject(1011, "internal error");
          break;
        case State::kActive:
          if (!std::exchange(crashed, true)) {
            Fail(Internal(fmt::format("internal error in {}: {}", where, what)));
          } else {
            ws->Close(1011, "internal error");
          }
          break;
        case State::kFinished:
          // It threw while finishing: store what there is, once.
          if (!store_requested) StoreArtifacts();
          break;
        case State::kRejected:
          break;
      }
    } catch (...) {
      // Nothing more can be done for this call; the process and the other calls go on.
    }
  }

  // ---------------------------------------------------------------- inbound
  void OnText(std::string_view text) {
    if (state == State::kFinished || state == State::kRejected) return;
    if (auto parsed = twilio::ParseInboundInto(text, event); !parsed) {
      const auto fault = twilio::FaultOf(parsed.error());
      Bad(twilio::ToString(fault), parsed.error().message);
      // A start whose ids are not Twilio's cannot name a call: refuse the stream, saying why.
      if (fault == twilio::FrameFault::kBadSid && state == State::kAwaitingStart) {
        Reject(1008, "invalid Twilio sid in start");
      }
      return;
    }
    std::visit([this](auto& message) { Handle(message); }, event);
  }

  void Handle(twilio::ConnectedMessage&) {}

  void Handle(twilio::StartMessage& start) {
    if (state != State::kAwaitingStart) {
      Bad("duplicate_start", "a second start event");
      return;
    }
    auto answered = rt.ClaimCall(agent->agent_id, start.call_sid);
    if (!answered) {
      Bad("unknown_call",
          fmt::format("start for call {} that this agent did not answer", start.call_sid));
      Reject(1008, "unknown call");
      return;
    }
    if (!agent->twilio_account_sid.empty() && start.account_sid != agent->twilio_account_sid) {
      Bad("wrong_account", "start from another Twilio account");
      Reject(1008, "wrong account");
      return;
    }
    const auto& f = start.media_format;
    if (f.encoding != "audio/x-mulaw" || f.sample_rate != 8000 || f.channels != 1) {
      Bad("unsupported_format",
          fmt::format("media format {} {} Hz x{}", f.encoding, f.sample_rate, f.channels));
      Reject(1003, "unsupported media format");
      return;
    }
    t0 = clock.Now();
    auto& info = record.info;
    info.call_sid = start.call_sid;
    info.stream_sid = start.stream_sid;
    info.agent_id = agent->agent_id;
    info.account_sid = start.account_sid;
    info.from = answered->from;
    info.to = answered->to;
    info.engine = agent->engine;
    info.started_at_ms = std::chrono::duration_cast<Ms>(clock.WallNow().time_since_epoch()).count();
    state = State::kActive;
    // The parser checked the sid's form; the layout checks it again before any name is built.
    auto located = storage::LocateCall(info.agent_id, info.call_sid);
    if (!located) {
      Bad("bad_sid", located.error().message);
      Reject(1008, "invalid call");
      return;
    }
    location = std::move(*located);
    GetStats().started.Inc();
    GetStats().active.Add(1);
    rt.Register(Self(), answered->org);
    TEMPO_LOG(runtime, info, "[call={} agent={}] stream {} started", info.call_sid, info.agent_id,
              info.stream_sid);

    const auto spool = rt.SpoolDir();
    wal_path = spool / (info.call_sid.str() + ".wal");
    AppendWal(WalHeaderLine(info));

    if (agent->enable_recording) OpenRecording(spool / (info.call_sid.str() + ".wav"));

    pacer.emplace(clock.Now(), audio::FramePacer::Options{.lead = rt.options().playback_lead});
    pace_timer = ws->executor().MakeTimer();
    guard_timer = ws->executor().MakeTimer();
    guard_timer->ExpireAt(t0 + std::chrono::seconds(agent->max_session_duration),
                          [weak = self](bool cancelled) {
                            if (auto s = weak.lock(); s && !cancelled) {
                              s->impl_->Guard("guard_timer", [&] { s->impl_->SessionTimeUp(); });
                            }
                          });

    engine::SpeechEngine* kind = rt.engines().Find(agent->engine);
    if (kind == nullptr) {
      Fail(Internal(fmt::format("engine '{}' is not available", agent->engine)));
      return;
    }
    engine::SessionParams params;
    params.agent = agent.get();
    params.call_sid = info.call_sid;
    params.from = info.from;
    params.to = info.to;
    params.executor = &ws->executor();
    params.clock = &clock;
    params.parameters = start.custom_parameters;
    auto session = kind->Open(params, *owner);
    if (!session) {
      Fail(session.error());
      return;
    }
    engine = std::move(*session);
    auto in = audio::Resampler::Create(8000, engine->input_sample_rate());
    auto out = audio::Resampler::Create(engine->output_sample_rate(), 8000);
    if (!in || !out) {
      Fail(Internal("engine sample rates are not supported"));
      return;
    }
    in_resampler.emplace(std::move(*in));
    out_resampler.emplace(std::move(*out));
    engine->Start();
  }

  void Handle(twilio::MediaMessage& media) {
    if (state == State::kAwaitingStart) {
      Bad("media_before_start", "media before start");
      return;
    }
    if (media.stream_sid != record.info.stream_sid) {
      Bad("wrong_stream_sid", "media for another stream");
      return;
    }
    if (media.track != twilio::Track::kInbound) {
      Bad("wrong_track", "media on the outbound track");
      return;
    }
    ++record.stats.frames_in;
    GetStats().frames_in.Inc();
    pcm8k.resize(media.payload.size());
    audio::MulawDecode(media.payload, pcm8k);
    if (mixer) Record(audio::MixChannel::kCaller, Ms(media.timestamp_ms), pcm8k);
    if (ending || !engine) return;
    pcm_engine.clear();
    in_resampler->Process(pcm8k, pcm_engine);
    if (!pcm_engine.empty()) engine->SendAudio(pcm_engine);
  }

  void Handle(twilio::DtmfMessage& dtmf) {
    if (!CheckStream(dtmf.stream_sid)) return;
    if (engine && !ending) engine->SendDtmf(dtmf.digit);
  }

  void Handle(twilio::MarkMessage& mark) {
    if (!CheckStream(mark.stream_sid)) return;
    ++record.stats.marks_played;
    // Marks come back in order; turns before this one were cleared or already finished.
    while (!sent_turns.empty()) {
      AgentTurn turn = std::move(sent_turns.front());
      sent_turns.pop_front();
      const bool match = turn.mark == mark.name;
      if (match) {
        FinishAgentTurn(turn, /*heard_ms=*/turn.queued_ms);
        if (engine) engine->OnPlayed(Ms(turn.queued_ms));
        break;
      }
      FinishAgentTurn(turn, turn.sent_ms);
    }
    MaybeCloseAfterDrain();
  }

  void Handle(twilio::StopMessage& stop) {
    if (!CheckStream(stop.stream_sid)) return;
    got_stop = true;
    if (end_outcome.empty()) {
      end_outcome = "completed";
      end_reason = "caller hung up";
    }
    ws->Close(1000, "stream stopped");
  }

  bool CheckStream(const StreamSid& sid) {
    if (state == State::kAwaitingStart) {
      Bad("event_before_start", "event before start");
      return false;
    }
    if (sid != record.info.stream_sid) {
      Bad("wrong_stream_sid", "event for another stream");
      return false;
    }
    return true;
  }

  void OnBinary() { Bad("binary_frame", "binary WebSocket frame (Twilio sends text only)"); }

  void Bad(std::string_view reason, std::string_view detail) {
    auto& counter = GetStats().BadMessage(reason);
    counter.Inc();
    ++record.stats.bad_input[std::string(reason)];
    // Rate-limited per reason across the process: the 1st, 2nd, 4th, 8th, ... occurrence.
    if (const uint64_t n = counter.Value(); (n & (n - 1)) == 0) {
      TEMPO_LOG(runtime, warn,
                "[call={} agent={}] invalid media-stream message ({}): {} "
                "(occurrence {})",
                record.info.call_sid, agent->agent_id, reason, detail, n);
    }
    if (++bad_messages > rt.options().max_bad_messages && state == State::kActive) {
      EndNow("error", "too many invalid messages", 1008);
    }
  }

  // ---------------------------------------------------------------- recording
  void OpenRecording(std::filesystem::path path) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);  // normally made at start-up
    auto writer = audio::WavWriter::Open(path, 8000, 2);
    if (!writer) {
      TEMPO_LOG(runtime, error, "[call={}] recording disabled: {}", record.info.call_sid,
                writer.error().message);
      return;
    }
    auto m = audio::StereoMixer::Create(std::move(*writer));
    if (!m) return;
    mixer.emplace(std::move(*m));
    wav_path = std::move(path);
  }

  void Record(audio::MixChannel channel, Ms at, std::span<const int16_t> pcm) {
    if (auto ok = mixer->Add(channel, at, pcm); !ok) {
      TEMPO_LOG(runtime, error, "[call={}] recording stopped: {}", record.info.call_sid,
                ok.error().message);
      mixer.reset();
    }
  }

  // ---------------------------------------------------------------- outbound
  void OnAudio(std::span<const int16_t> pcm) {
    if (state != State::kActive || ending) return;
    if (!current_turn) current_turn.emplace();
    if (current_turn->start_ms < 0) current_turn->start_ms = NowMs();
    if (caller_stopped_ms >= 0) {
      const int64_t latency = NowMs() - caller_stopped_ms;
      record.stats.turn_latencies_ms.push_back(latency);
      GetStats().turn_latency.Observe(double(latency) / 1000.0);
      caller_stopped_ms = -1;
    }
    agent8k.clear();
    out_resampler->Process(pcm, agent8k);
    queue.PushPcm(agent8k);
    current_turn->queued_ms += static_cast<int64_t>(agent8k.size() / 8);
    Pump();
  }

  void OnAgentTurnEnd() {
    if (state != State::kActive || !current_turn) return;
    current_turn->mark = fmt::format("turn-{}", ++turn_counter);
    queue.PushMark(current_turn->mark);
    sent_turns.push_back(std::move(*current_turn));
    current_turn.reset();
    Pump();
  }

  /// Sends every frame that is due (and the marks between them), then re-arms the timer.
  void Pump() {
    if (pace_armed || state != State::kActive) return;
    const auto now = clock.Now();
    while (!queue.empty()) {
      if (!queue.FrontIsFrame()) {
        auto item = queue.Pop();
        if (!item) {  // only a partial frame is left: wait for more audio or the turn's end
          break;
        }
        SendMark(std::get<audio::Mark>(*item).name);
        continue;
      }
      if (now < pacer->NextDue()) break;
      // This frame is due; the next ones (up to frames_per_message) ride in the same message.
      batch.clear();
      for (uint32_t n = 0; n < rt.options().frames_per_message && queue.FrontIsFrame(); ++n) {
        const auto playout = pacer->NextDue() + rt.options().playback_lead;
        auto item = queue.Pop();
        const auto& frame = std::get<audio::MulawFrame>(*item);
        batch.insert(batch.end(), frame.begin(), frame.end());
        FramePlayed(frame, playout);
        const auto late_before = pacer->late_frames();
        pacer->FrameSent(now);
        if (pacer->late_frames() != late_before) {
          ++record.stats.late_frames;
          GetStats().late.Inc();
        }
      }
      twilio::WriteOutboundMedia(record.info.stream_sid.view(), batch, out_json);
      ws->SendText(out_json);
    }
    if (queue.frames_queued() > 0) {
      pace_armed = true;
      pace_timer->ExpireAt(pacer->NextDue(), [weak = self](bool cancelled) {
        auto s = weak.lock();
        if (!s || cancelled) return;
        auto& impl = *s->impl_;
        impl.Guard("pace_timer", [&] {
          impl.pace_armed = false;
          TEMPO_FAILPOINT("runtime.pace_timer", impl.record.info.call_sid.view());
          impl.Pump();
        });
      });
    } else {
      pacer->Idle();
      MaybeCloseAfterDrain();
    }
  }

  /// Accounts for one 20 ms frame handed to Twilio, to be played at `playout`.
  void FramePlayed(const audio::MulawFrame& frame, Clock::Steady::time_point playout) {
    ++record.stats.frames_out;
    GetStats().frames_out.Inc();
    AttributeSentFrame();
    if (mixer) {
      audio::MulawDecode(frame, frame_pcm);
      Record(audio::MixChannel::kAgent, std::chrono::duration_cast<Ms>(playout - t0), frame_pcm);
    }
  }

  /// Credits 20 ms of sent audio to the oldest turn that still has unsent audio.
  void AttributeSentFrame() {
    for (auto& t : sent_turns) {
      if (t.sent_ms < t.queued_ms) {
        t.sent_ms += 20;
        return;
      }
    }
    if (current_turn && current_turn->sent_ms < current_turn->queued_ms)
      current_turn->sent_ms += 20;
  }

  void SendMark(const std::string& name) {
    out_json.clear();
    twilio::SerializeTo(twilio::OutboundEvent{twilio::OutboundMark{record.info.stream_sid, name}},
                        out_json);
    ws->SendText(out_json);
    ++record.stats.marks_sent;
  }

  void OnInterrupted() {
    if (state != State::kActive) return;
    ++record.stats.interruptions;
    GetStats().barge_ins.Inc();
    out_json.clear();
    twilio::SerializeTo(twilio::OutboundEvent{twilio::ClearMessage{record.info.stream_sid}},
                        out_json);
    ws->SendText(out_json);
    queue.Clear();
    if (pace_armed) {
      pace_timer->Cancel();
      pace_armed = false;
    }
    pacer->Idle();
    // What was sent, less what was still buffered at Twilio (the lead), was heard.
    const int64_t lead = rt.options().playback_lead.count();
    for (auto& turn : sent_turns) FinishAgentTurn(turn, std::max<int64_t>(0, turn.sent_ms - lead));
    sent_turns.clear();
    if (current_turn) {
      FinishAgentTurn(*current_turn, std::max<int64_t>(0, current_turn->sent_ms - lead));
      current_turn.reset();
    }
    if (out_resampler) out_resampler->Reset();
  }

  void FinishAgentTurn(const AgentTurn& t, int64_t heard_ms) {
    if (t.text.empty() && t.queued_ms == 0) return;
    Turn turn;
    turn.role = engine::Role::kAgent;
    const double fraction = t.queued_ms > 0 ? double(heard_ms) / double(t.queued_ms) : 1.0;
    turn.interrupted = fraction < 1.0;
    turn.text = CutWords(t.text, fraction);
    turn.start_ms = t.start_ms < 0 ? NowMs() : t.start_ms;
    turn.end_ms = turn.start_ms + heard_ms;
    AddTurn(std::move(turn));
  }

  void AddTurn(Turn turn) {
    if (!agent->enable_transcription) turn.text = turn.text.empty() ? "" : "[not transcribed]";
    AppendWal(WalTurnLine(turn));
    record.turns.push_back(std::move(turn));
    if (static_cast<int>(record.turns.size()) >= agent->max_conversation_length && !ending) {
      EndAfterPlayback(
          {NextStep::Kind::kSayHangup,
           "We have reached the length limit for this call. " + agent->ClosingLine(), ""},
          "guardrail", "max conversation length");
    }
  }

  void OnTranscript(const engine::Transcript& t) {
    if (state != State::kActive) return;
    if (t.role == engine::Role::kAgent) {
      if (!current_turn) current_turn.emplace();
      if (t.is_final) {
        if (!current_turn->text.empty()) current_turn->text += ' ';
        current_turn->text += t.text;
      }
      return;
    }
    if (!t.is_final) return;
    caller_stopped_ms = t.end.count();
    AddTurn({engine::Role::kCaller, t.text, t.start.count(), t.end.count(), false});
  }

  // ---------------------------------------------------------------- tools
  void OnToolCall(const engine::ToolCall& call) {
    if (state != State::kActive) return;
    ToolEvent event{call.name, call.arguments_json, NowMs()};
    AppendWal(WalToolLine(event));
    record.tools.push_back(event);
    const auto args = nlohmann::json::parse(call.arguments_json, nullptr, false);
    nlohmann::json result = {{"status", "ok"}};
    if (call.name == "end_call") {
      EndAfterPlayback({NextStep::Kind::kHangup, "", ""}, "ended_by_agent", "end_call tool");
    } else if (call.name == "transfer_call") {
      std::string target = agent->transfer_phone_number;
      if (target.empty()) target = agent->sip_endpoint;
      if (target.empty()) {
        result = {{"status", "error"}, {"error", "no transfer number is configured"}};
      } else {
        EndAfterPlayback({NextStep::Kind::kDial, "Please hold while I connect you.", target},
                         "transferred", "transfer_call tool");
      }
    } else if (call.name == "voicemail") {
      EndAfterPlayback({NextStep::Kind::kVoicemail,
                        "Please leave your message after the beep. Press the pound key when "
                        "you are done.",
                        ""},
                       "voicemail", "voicemail tool");
    } else if (call.name == "schedule_callback") {
      if (args.is_object()) {
        for (const auto& [k, v] : args.items()) {
          record.callback[k] = v.is_string() ? v.get<std::string>() : v.dump();
        }
      }
      if (!record.callback.contains("phone")) record.callback["phone"] = record.info.from;
    } else if (call.name == "search_knowledge_base") {
      result = SearchKnowledge(args);
    } else {
      result = {{"status", "error"}, {"error", "unknown tool"}};
    }
    if (engine) engine->SendToolResult({call.id, call.name, result.dump()});
  }

  /// The knowledge base's best entries for the model's query (BM25, as the local engine answers),
  /// or an empty list with what to say instead: the model must not make an answer up.
  nlohmann::json SearchKnowledge(const nlohmann::json& args) {
    constexpr std::size_t kMostResults = 3;
    const auto query = args.find("query");  // end() for anything but an object
    if (query == args.end() || !query->is_string() || query->get<std::string>().empty()) {
      return {{"status", "error"}, {"error", "query must be a non-empty string"}};
    }
    if (!knowledge_index) knowledge_index.emplace(agent->knowledge_base);
    nlohmann::json results = nlohmann::json::array();
    for (const auto& match : knowledge_index->Top(query->get<std::string>(),
                                                  knowledge::kMinAnswerScore, kMostResults)) {
      const auto& entry = agent->knowledge_base[match.entry];
      results.push_back({{"question", entry.question}, {"answer", entry.answer}});
    }
    nlohmann::json out = {{"status", "ok"}, {"results", results}};
    if (results.empty()) {
      out["note"] =
          "Nothing in the knowledge base answers this. Say you don't know, and offer to transfer "
          "the caller or to have someone call back.";
    }
    return out;
  }

  // ---------------------------------------------------------------- ending
  void SessionTimeUp() {
    if (state != State::kActive || ending) return;
    EndAfterPlayback({NextStep::Kind::kSayHangup,
                      "We have reached the time limit for this call. " + agent->ClosingLine(), ""},
                     "guardrail", "max session duration");
  }

  void Fail(const Error& error) {
    TEMPO_LOG(runtime, error, "[call={} agent={}] ending the call: {}", record.info.call_sid,
              agent->agent_id, error.message);
    rt.SetNextStep(record.info.call_sid,
                   {NextStep::Kind::kSayHangup,
                    "We are sorry, we are having technical difficulties. Please call again "
                    "later.",
                    ""});
    EndNow("error", error.message, 1011);
  }

  /// Ends once the queued agent audio has played (or the drain timeout passes).
  void EndAfterPlayback(NextStep step, std::string outcome, std::string reason) {
    if (ending) return;
    ending = true;
    end_outcome = std::move(outcome);
    end_reason = std::move(reason);
    rt.SetNextStep(record.info.call_sid, std::move(step));
    if (current_turn) OnAgentTurnEnd();
    drain_timer = ws->executor().MakeTimer();
    drain_timer->ExpireAt(clock.Now() + rt.options().drain_timeout, [weak = self](bool cancelled) {
      if (auto s = weak.lock(); s && !cancelled) {
        s->impl_->Guard("drain_timer", [&] { s->impl_->ws->Close(1000, "call ended"); });
      }
    });
    MaybeCloseAfterDrain();
  }

  void MaybeCloseAfterDrain() {
    if (!ending || state != State::kActive) return;
    if (!queue.empty() || !sent_turns.empty()) return;
    ws->Close(1000, "call ended");
  }

  void EndNow(std::string outcome, std::string reason, uint16_t code) {
    if (end_outcome.empty()) {
      end_outcome = std::move(outcome);
      end_reason = std::move(reason);
    }
    ending = true;
    ws->Close(code, end_reason);
  }

  void Reject(uint16_t code, const char* reason) {
    state = State::kRejected;
    ws->Close(code, reason);
  }

  void OnClose(const net::CloseInfo& info) {
    if (state != State::kActive) {
      state = State::kFinished;
      return;
    }
    if (end_outcome.empty()) {
      end_outcome = got_stop ? "completed" : "dropped";
      end_reason = got_stop ? "caller hung up"
                            : fmt::format("media stream closed without stop ({})", info.code);
    }
    Finish();
  }

  void Finish() {
    state = State::kFinished;
    for (auto* timer : {pace_timer.get(), guard_timer.get(), drain_timer.get()}) {
      if (timer != nullptr) timer->Cancel();
    }
    if (engine) {
      engine->Close();
      engine.reset();
    }
    for (auto& turn : sent_turns) FinishAgentTurn(turn, turn.sent_ms);
    sent_turns.clear();
    if (current_turn) FinishAgentTurn(*current_turn, current_turn->sent_ms);
    current_turn.reset();
    record.end.outcome = end_outcome;
    record.end.reason = end_reason;
    record.end.ended_at_ms =
        std::chrono::duration_cast<Ms>(clock.WallNow().time_since_epoch()).count();
    record.stats.late_frames = pacer ? pacer->late_frames() : 0;
    if (mixer) {
      if (auto ok = mixer->Finish(); !ok) {
        TEMPO_LOG(runtime, error, "[call={}] recording: {}", record.info.call_sid,
                  ok.error().message);
      }
    }
    GetStats().active.Add(-1);
    GetStats().Finished(end_outcome).Inc();
    rt.Unregister(owner);
    TEMPO_LOG(runtime, info, "[call={} agent={}] finished: {} ({}), {} turns", record.info.call_sid,
              agent->agent_id, end_outcome, end_reason, record.turns.size());
    if (wal_busy) {
      store_when_idle = true;
    } else {
      StoreArtifacts();
    }
  }

  // ---------------------------------------------------------------- durability
  void AppendWal(std::string line) {
    wal_pending.push_back(std::move(line));
    PumpWal();
  }

  void PumpWal() {
    if (wal_busy || wal_pending.empty()) return;
    wal_busy = true;
    rt.Blocking([s = Self(), lines = std::move(wal_pending)]() mutable {
      auto& impl = *s->impl_;
      Result<void> written = Ok();
      try {
        written = impl.WriteWal(lines);
      } catch (const std::exception& e) {
        GetStats().Exception("write_ahead").Inc();
        written = Internal(e.what());
      }
      if (!written) {
        TEMPO_LOG_LIMITED(runtime, error, "[call={}] write-ahead file: {}",
                          impl.record.info.call_sid, written.error().message);
      }
      // Without its write-ahead file a crash would lose the call: one that cannot even
      // create it ends now, with an apology, instead of running unprotected.
      const bool lost = !written && !impl.wal;
      auto& executor = impl.ws->executor();
      executor.Post([s = std::move(s), lost, error = written ? Error{} : written.error()] {
        auto& i = *s->impl_;
        i.Guard("write_ahead", [&] {
          i.wal_busy = false;
          if (lost && i.state == State::kActive) {
            i.Fail(Unavailable("cannot create the call's write-ahead file: " + error.message));
          }
          if (i.store_when_idle) {
            i.store_when_idle = false;
            i.StoreArtifacts();
          } else {
            i.PumpWal();
          }
        });
      });
    });
    wal_pending.clear();
  }

  /// On the blocking pool: appends `lines` to the write-ahead file (created on first use; it
  /// holds no descriptor between appends).
  Result<void> WriteWal(const std::vector<std::string>& lines) {
    if (!wal) {
      auto log = storage::AppendLog::Create(wal_path);
      if (!log) return log.error();
      wal = std::move(*log);
    }
    if (auto ok = wal->AppendLines(lines); !ok) {
      // The header is the first line: a file without it does not protect the call.
      if (wal_lines_written == 0) {
        wal->Remove();
        wal.reset();
      }
      return ok;
    }
    wal_lines_written += lines.size();
    return Ok();
  }

  void StoreArtifacts() {
    store_requested = true;
    rt.Blocking([s = Self()] {
      auto& impl = *s->impl_;
      try {
        impl.StoreArtifactsNow();
      } catch (const std::exception& e) {
        // The write-ahead file stays in the spool: the next start recovers the call.
        GetStats().Exception("store_artifacts").Inc();
        GetStats().store_failures.Inc();
        TEMPO_LOG(runtime, error, "[call={}] storing the call's artefacts threw: {}",
                  impl.record.info.call_sid, e.what());
      }
    });
  }

  /// On the blocking pool.
  void StoreArtifactsNow() {
    auto remove_wal = [this] {
      std::error_code ec;
      std::filesystem::remove(wal_path, ec);
    };
    if (auto stored = rt.StoreArtifacts(record, wav_path, /*recording_may_be_stored=*/false);
        !stored) {
      GetStats().store_failures.Inc();
      TEMPO_LOG(runtime, error, "[call={}] could not store the call's artefacts: {}",
                record.info.call_sid, stored.error().message);
      rt.CallNotStored(record, remove_wal);
      return;
    }
    // Everything is stored: once the call is queued for indexing, the write-ahead file has
    // done its job.
    rt.CallFinished(record, remove_wal);
  }
};

std::shared_ptr<CallSession> CallSession::Create(Runtime& runtime,
                                                 std::shared_ptr<const agent::AgentConfig> agent,
                                                 std::shared_ptr<net::WebSocket> socket) {
  auto impl = std::make_unique<Impl>(runtime, std::move(agent), std::move(socket));
  auto* raw = impl.get();
  std::shared_ptr<CallSession> session(new CallSession(std::move(impl)));
  raw->self = session;
  raw->owner = session.get();
  return session;
}

CallSession::CallSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CallSession::~CallSession() = default;

void CallSession::OnText(std::string_view message) {
  impl_->Guard("media_stream", [&] { impl_->OnText(message); });
}
void CallSession::OnBinary(std::string_view) {
  impl_->Guard("media_stream", [&] { impl_->OnBinary(); });
}
void CallSession::OnClose(const net::CloseInfo& info) {
  impl_->Guard("close", [&] { impl_->OnClose(info); });
}
void CallSession::OnAudio(std::span<const int16_t> pcm) {
  impl_->Guard("engine_audio", [&] { impl_->OnAudio(pcm); });
}
void CallSession::OnTranscript(const engine::Transcript& t) {
  impl_->Guard("engine_transcript", [&] { impl_->OnTranscript(t); });
}
void CallSession::OnToolCall(const engine::ToolCall& call) {
  impl_->Guard("tool_call", [&] { impl_->OnToolCall(call); });
}
void CallSession::OnInterrupted() {
  impl_->Guard("engine_interrupted", [&] { impl_->OnInterrupted(); });
}
void CallSession::OnAgentTurnEnd() {
  impl_->Guard("engine_turn_end", [&] { impl_->OnAgentTurnEnd(); });
}
void CallSession::OnError(const Error& error) {
  impl_->Guard("engine_error", [&] { impl_->Fail(error); });
}
void CallSession::OnUsage(const engine::Usage& usage) {
  impl_->Guard("engine_usage", [&] { impl_->record.stats.usage = usage; });
}

void CallSession::RequestEnd(std::string outcome, std::string reason) {
  impl_->ws->executor().Post(
      [s = shared_from_this(), outcome = std::move(outcome), reason = std::move(reason)]() mutable {
        auto& impl = *s->impl_;
        impl.Guard("end_request", [&] {
          if (impl.state != Impl::State::kActive) return;
          impl.EndNow(std::move(outcome), std::move(reason), 1001);
        });
      });
}

}  // namespace tempo::runtime
