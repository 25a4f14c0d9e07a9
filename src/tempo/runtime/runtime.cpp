#include "tempo/runtime/runtime.hpp"

#include "tempo/audio/wav.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/runtime/call_session.hpp"
#include "tempo/storage/append_log.hpp"
#include "tempo/storage/call_layout.hpp"
#include "tempo/twilio/ids.hpp"
#include "tempo/twilio/signature.hpp"
#include "tempo/twilio/twiml.hpp"
#include "tempo/twilio/voice_request.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tempo::runtime {
namespace {

metrics::Counter& Webhooks(std::string_view route, std::string_view result) {
  return metrics::Registry::Global().AddCounter(
      "tempo_twilio_webhooks_total", "Twilio webhooks by route and result",
      {{"route", std::string(route)}, {"result", std::string(result)}});
}

net::Response Twiml(std::string body) {
  net::Response r;
  r.headers.Set("Content-Type", "text/xml; charset=utf-8");
  r.body = std::move(body);
  return r;
}

std::string SayAndHangup(std::string_view text) {
  twilio::TwimlResponse t;
  t.Say(std::string(text));
  t.Hangup();
  return t.ToXml();
}

/// Takes a message: `say`, the beep, up to two minutes (ended by '#'), then the recording's
/// action. Used when the agent's voicemail tool ran and when a transfer found nobody.
void TakeMessage(twilio::TwimlResponse& t, std::string say, const std::string& action) {
  if (!say.empty()) t.Say(std::move(say));
  t.Record({.action = action + "?step=voicemail-done",
            .finish_on_key = "#",
            .max_length_s = 120,
            .play_beep = true});
  t.Hangup();
}

metrics::Counter& Refused(std::string_view reason) {
  return metrics::Registry::Global().AddCounter("tempo_calls_refused_total",
                                                "Calls refused before they started, by reason",
                                                {{"reason", std::string(reason)}});
}

// The label of a refused call in the webhook and refusal counters.
std::string_view RefusalName(Admission a) {
  switch (a) {
    case Admission::kOrgAtLimit:
      return "org_at_limit";
    case Admission::kMemoryLow:
      return "memory_low";
    case Admission::kServerAtLimit:
    case Admission::kAdmitted:
      break;
  }
  return "server_at_limit";
}

metrics::Gauge& Headroom() {
  static metrics::Gauge& gauge = metrics::Registry::Global().AddGauge(
      "tempo_calls_headroom",
      "New calls this server takes before it answers busy (max-calls minus the calls answered "
      "or streaming)");
  return gauge;
}

metrics::Counter& SpoolQuarantined() {
  return metrics::Registry::Global().AddCounter(
      "tempo_spool_quarantined_total",
      "Spool files at start-up that named no valid call and were moved to spool/quarantine");
}

FinishedCalls::Options UploadQueue() {
  FinishedCalls::Options options;
  options.name = "upload";
  options.done = "stored";
  return options;
}

}  // namespace

Runtime::Runtime(RuntimeOptions options, const AgentDirectory& agents,
                 engine::EngineRegistry& engines, storage::ObjectStore& store, const Clock& clock,
                 RunBlocking run_blocking)
    : options_(std::move(options)),
      agents_(agents),
      engines_(engines),
      store_(store),
      clock_(clock),
      run_blocking_(std::move(run_blocking)),
      finished_(options_.data_dir / "spool" / "finished", FinishedCalls::Options{}),
      uploads_(options_.data_dir / "spool" / "upload", UploadQueue()) {
  UpdateHeadroomLocked();  // scraped from the start, not only after the first call
  // Before any worker runs: a stop between an entry's rename and the write-ahead file's removal
  // left both. The entry (with the call's real outcome) wins; were the write-ahead file still
  // there once a worker has taken the entry, RecoverSpool would relabel the call as
  // interrupted. A call waiting for its upload keeps its recording in the spool.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(SpoolDir(), ec)) {
    const auto& wal = entry.path();
    if (wal.extension() != ".wal") continue;
    const CallSid call(wal.stem().string());
    if (finished_.Has(call)) {
      auto wav = wal;
      wav.replace_extension(".wav");
      std::filesystem::remove(wav, ec);
      std::filesystem::remove(wal, ec);
    } else if (uploads_.Has(call)) {
      std::filesystem::remove(wal, ec);
    }
  }
  uploads_.Start([this](const CallRecord& entry) -> Result<void> {
    CallRecord record = entry;
    const auto wav = SpoolDir() / (record.info.call_sid.str() + ".wav");
    TEMPO_TRY(StoreArtifacts(record, wav, /*recording_may_be_stored=*/true));
    CallFinished(record, [] {});
    return Ok();
  });
}

Runtime::~Runtime() = default;

void Runtime::AddRoutes(net::Router& router) {
  router.Add(net::Method::kPost, "/agent/{agentId}/incoming-call",
             [this](const net::Request& r) { return IncomingCall(r); });
  router.Add(net::Method::kPost, "/agent/{agentId}/call-ended",
             [this](const net::Request& r) { return CallEnded(r); });
  router.AddWebSocket("/agent/{agentId}/media-stream",
                      [this](const net::Request& r, std::shared_ptr<net::WebSocket> socket) {
                        return MediaStream(r, std::move(socket));
                      });
}

std::string Runtime::WsBase() const {
  if (options_.public_url.rfind("https://", 0) == 0)
    return "wss://" + options_.public_url.substr(8);
  if (options_.public_url.rfind("http://", 0) == 0) return "ws://" + options_.public_url.substr(7);
  return options_.public_url;
}

std::optional<net::Response> Runtime::CheckSignature(const agent::AgentConfig& agent,
                                                     const net::Request& request,
                                                     const std::string& url,
                                                     const twilio::FormParams& params) {
  if (agent.twilio_auth_token.empty()) {
    TEMPO_LOG_LIMITED(runtime, warn,
                      "agent {} has no twilioAuthToken, so its webhooks cannot be verified and "
                      "are refused",
                      agent.agent_id);
    return net::Response::Error(403, "unverifiable",
                                "this agent has no Twilio auth token configured");
  }
  const auto signature = request.headers.Find("X-Twilio-Signature");
  if (!signature || signature->empty()) {
    return net::Response::Error(403, "missing_signature", "X-Twilio-Signature is required");
  }
  if (!twilio::ValidateRequest(agent.twilio_auth_token, url, params, *signature)) {
    TEMPO_LOG_LIMITED(runtime, warn, "forged or stale Twilio signature for agent {} on {}",
                      agent.agent_id, request.path);
    return net::Response::Error(403, "bad_signature", "X-Twilio-Signature does not match");
  }
  return std::nullopt;
}

net::Response Runtime::IncomingCall(const net::Request& request) {
  const AgentId agent_id{std::string(request.PathParam("agentId"))};
  auto params = twilio::ParseForm(request.body);
  if (!params) {
    Webhooks("incoming-call", "bad_request").Inc();
    return net::Response::Error(400, "bad_form", params.error().message);
  }
  const auto agent = agents_.Find(agent_id);
  if (!agent) {
    Webhooks("incoming-call", "unknown_agent").Inc();
    return Twiml(SayAndHangup("Sorry, this number is not in service. Goodbye."));
  }
  if (auto denied =
          CheckSignature(*agent, request, options_.public_url + request.target, *params)) {
    Webhooks("incoming-call", "forbidden").Inc();
    return *denied;
  }
  if (!agent->enabled) {
    Webhooks("incoming-call", "disabled_agent").Inc();
    return Twiml(
        SayAndHangup("Sorry, this line is not available right now. Please call again later."));
  }
  auto voice = twilio::ParseVoiceRequest(*params);
  if (!voice) {
    Webhooks("incoming-call", "bad_request").Inc();
    return net::Response::Error(400, "bad_request", voice.error().message);
  }
  if (const Admission a = ExpectCall(agent->agent_id, voice->call_sid, voice->from, voice->to);
      a != Admission::kAdmitted) {
    Webhooks("incoming-call", RefusalName(a)).Inc();
    if (a != Admission::kOrgAtLimit) {
      // The server is full: a busy signal at once (the call is not answered, so not billed),
      // and Twilio's fallback URL or the caller's retry takes over.
      twilio::TwimlResponse busy;
      busy.Reject(twilio::RejectReason::kBusy);
      return Twiml(busy.ToXml());
    }
    return Twiml(SayAndHangup(
        "Sorry, all of our lines are busy right now. Please call again in a few minutes."));
  }
  const std::string& call_sid = voice->call_sid.str();
  const std::string& from = voice->from;
  const std::string& to = voice->to;

  const std::string base = fmt::format("/agent/{}", agent->agent_id);
  twilio::TwimlResponse t;
  t.ConnectStream(
      {.action = options_.public_url + base + "/call-ended"},
      {.url = WsBase() + base + "/media-stream",
       .parameters = {
           {"agentId", agent->agent_id.str()}, {"callSid", call_sid}, {"from", from}, {"to", to}}});
  Webhooks("incoming-call", "connected").Inc();
  return Twiml(t.ToXml());
}

net::Response Runtime::CallEnded(const net::Request& request) {
  const AgentId agent_id{std::string(request.PathParam("agentId"))};
  auto params = twilio::ParseForm(request.body);
  if (!params) return net::Response::Error(400, "bad_form", params.error().message);
  const auto agent = agents_.Find(agent_id);
  if (!agent) return Twiml(SayAndHangup("Goodbye."));
  if (auto denied =
          CheckSignature(*agent, request, options_.public_url + request.target, *params)) {
    Webhooks("call-ended", "forbidden").Inc();
    return *denied;
  }
  auto voice = twilio::ParseVoiceRequest(*params);
  if (!voice) {
    Webhooks("call-ended", "bad_request").Inc();
    return net::Response::Error(400, "bad_request", voice.error().message);
  }
  const std::string& dial_status = voice->dial_call_status;
  std::string step;
  if (request.query.find("step=dial-done") != std::string::npos) step = "dial-done";
  if (request.query.find("step=voicemail-done") != std::string::npos) step = "voicemail-done";

  const std::string action = options_.public_url + fmt::format("/agent/{}/call-ended", agent_id);
  twilio::TwimlResponse t;
  if (step == "voicemail-done") {
    t.Say("Thank you for your message. " + agent->ClosingLine());
    t.Hangup();
    Webhooks("call-ended", "voicemail_done").Inc();
    return Twiml(t.ToXml());
  }
  if (step == "dial-done") {
    if (dial_status == "completed" || dial_status == "answered") {
      t.Hangup();
    } else {
      // The transfer did not connect: take a message instead.
      TakeMessage(t, "Sorry, nobody is available right now. Please leave a message after the beep.",
                  action);
    }
    Webhooks("call-ended", "dial_done").Inc();
    return Twiml(t.ToXml());
  }

  std::optional<NextStep> next;
  {
    std::lock_guard lock(mutex_);
    if (auto it = next_steps_.find(voice->call_sid); it != next_steps_.end()) {
      next = std::move(it->second.first);
      next_steps_.erase(it);
    }
  }
  const NextStep s = next.value_or(NextStep{});
  switch (s.kind) {
    case NextStep::Kind::kHangup:
      t.Hangup();
      break;
    case NextStep::Kind::kSayHangup:
      t.Say(s.say);
      t.Hangup();
      break;
    case NextStep::Kind::kDial: {
      if (!s.say.empty()) t.Say(s.say);
      twilio::DialTarget target = s.target.rfind("sip:", 0) == 0
                                      ? twilio::DialTarget{twilio::DialSip{.uri = s.target}}
                                      : twilio::DialTarget{twilio::DialNumber{.number = s.target}};
      t.Dial({.action = action + "?step=dial-done", .timeout_s = 20, .answer_on_bridge = true},
             {target});
      break;
    }
    case NextStep::Kind::kVoicemail:
      TakeMessage(t, s.say, action);
      break;
  }
  Webhooks("call-ended", "answered").Inc();
  return Twiml(t.ToXml());
}

net::UpgradeDecision Runtime::MediaStream(const net::Request& request,
                                          std::shared_ptr<net::WebSocket> socket) {
  const AgentId agent_id{std::string(request.PathParam("agentId"))};
  const auto agent = agents_.Find(agent_id);
  if (!agent) {
    Webhooks("media-stream", "unknown_agent").Inc();
    return net::Response::Error(404, "unknown_agent", "no such agent");
  }
  // Twilio signs the upgrade over the wss:// URL with no parameters.
  if (auto denied = CheckSignature(*agent, request, WsBase() + request.target, {})) {
    Webhooks("media-stream", "forbidden").Inc();
    return *denied;
  }
  {
    std::lock_guard lock(mutex_);
    if (shutting_down_) {
      return net::Response::Error(503, "shutting_down", "the server is shutting down");
    }
  }
  Webhooks("media-stream", "accepted").Inc();
  return std::shared_ptr<net::WebSocketListener>(
      CallSession::Create(*this, agent, std::move(socket)));
}

std::shared_ptr<net::WebSocketListener> Runtime::AcceptAuthenticatedStream(
    std::shared_ptr<const agent::AgentConfig> agent, std::shared_ptr<net::WebSocket> socket) {
  Webhooks("media-stream", "accepted").Inc();
  return CallSession::Create(*this, std::move(agent), std::move(socket));
}

Admission Runtime::AdmitLocked(const std::optional<OrgId>& org) const {
  if (answered_.size() >= options_.max_pending_calls) return Admission::kServerAtLimit;
  if (options_.max_calls != 0 && answered_.size() + sessions_.size() >= options_.max_calls) {
    return Admission::kServerAtLimit;
  }
  if (org && options_.max_calls_per_org != 0) {
    const auto it = org_calls_.find(*org);
    if (it != org_calls_.end() && it->second >= options_.max_calls_per_org) {
      return Admission::kOrgAtLimit;
    }
  }
  return Admission::kAdmitted;
}

void Runtime::ReleaseLocked(const std::optional<OrgId>& org) {
  if (!org) return;
  if (auto it = org_calls_.find(*org); it != org_calls_.end() && --it->second == 0) {
    org_calls_.erase(it);
  }
}

Admission Runtime::ExpectCall(const AgentId& agent, const CallSid& call, std::string from,
                              std::string to) {
  const auto now = clock_.Now();
  auto org = agents_.OrgOf(agent);
  const bool memory_low = options_.memory_low && options_.memory_low();  // reads files: unlocked
  std::lock_guard lock(mutex_);
  ForgetExpired(now);
  if (auto it = answered_.find(call); it != answered_.end() && it->second.agent_id == agent) {
    // Twilio retried the webhook: the same call, answered again, counted once.
    it->second.answered_at = now;
    answered_order_.emplace_back(now, call);
    return Admission::kAdmitted;
  }
  const Admission a = memory_low ? Admission::kMemoryLow : AdmitLocked(org);
  if (a != Admission::kAdmitted) {
    Refused(RefusalName(a)).Inc();
    return a;
  }
  if (auto it = answered_.find(call); it != answered_.end()) {
    ReleaseLocked(it->second.org);  // the sid now belongs to another agent's answer
    answered_.erase(it);
  }
  if (org) ++org_calls_[*org];
  answered_[call] = {agent, std::move(org), std::move(from), std::move(to), now};
  answered_order_.emplace_back(now, call);
  UpdateHeadroomLocked();
  return Admission::kAdmitted;
}

void Runtime::UpdateHeadroomLocked() const {
  if (options_.max_calls == 0) return;
  const size_t used = answered_.size() + sessions_.size();
  Headroom().Set(static_cast<double>(used >= options_.max_calls ? 0 : options_.max_calls - used));
}

std::optional<Runtime::AnsweredCall> Runtime::ClaimCall(const AgentId& agent, const CallSid& call) {
  std::lock_guard lock(mutex_);
  const auto it = answered_.find(call);
  if (it == answered_.end() || it->second.agent_id != agent) return std::nullopt;
  auto answered = std::move(it->second);
  answered_.erase(it);
  ReleaseLocked(answered.org);  // Register counts it again while it streams
  UpdateHeadroomLocked();
  return answered;
}

void Runtime::ForgetExpired(std::chrono::steady_clock::time_point now) {
  // Called with mutex_ held. Amortised O(1) per call: each order entry is popped once.
  while (!answered_order_.empty() && now - answered_order_.front().first > options_.answer_ttl) {
    const auto& [at, sid] = answered_order_.front();
    if (auto it = answered_.find(sid); it != answered_.end() && it->second.answered_at == at) {
      ReleaseLocked(it->second.org);
      answered_.erase(it);
    }
    answered_order_.pop_front();
  }
  UpdateHeadroomLocked();
  constexpr auto kNextStepTtl = std::chrono::minutes(10);
  while (!next_step_order_.empty() && now - next_step_order_.front().first > kNextStepTtl) {
    const auto& [at, sid] = next_step_order_.front();
    if (auto it = next_steps_.find(sid); it != next_steps_.end() && it->second.second == at) {
      next_steps_.erase(it);
    }
    next_step_order_.pop_front();
  }
}

void Runtime::SetNextStep(const CallSid& call, NextStep step) {
  const auto now = clock_.Now();
  std::lock_guard lock(mutex_);
  ForgetExpired(now);
  if (next_steps_.size() >= options_.max_pending_calls && !next_steps_.contains(call)) {
    // Bounded: without a next step Twilio's call-ended request simply hangs up.
    TEMPO_LOG_LIMITED(runtime, warn, "too many calls waiting for their next step; {} hangs up",
                      call);
    return;
  }
  next_steps_[call] = {std::move(step), now};
  next_step_order_.emplace_back(now, call);
}

void Runtime::Register(const std::shared_ptr<CallSession>& session, std::optional<OrgId> org) {
  std::lock_guard lock(mutex_);
  if (org) ++org_calls_[*org];
  sessions_[session.get()] = {session, std::move(org)};
  UpdateHeadroomLocked();
}

void Runtime::Unregister(const CallSession* session) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(session); it != sessions_.end()) {
    ReleaseLocked(it->second.org);
    sessions_.erase(it);
  }
  UpdateHeadroomLocked();
}

size_t Runtime::active_calls() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

Runtime::Capacity Runtime::capacity() const {
  std::lock_guard lock(mutex_);
  return {options_.max_calls, answered_.size() + sessions_.size()};
}

size_t Runtime::SpoolBacklog() const {
  size_t n = uploads_.Backlog();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(SpoolDir(), ec)) {
    if (entry.path().extension() == ".wal") ++n;
  }
  return n;
}

void Runtime::Shutdown() {
  std::vector<std::shared_ptr<CallSession>> live;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [ptr, entry] : sessions_) {
      if (auto s = entry.session.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->RequestEnd("shutdown", "server shutting down");
}

void Runtime::SetCallFinishedHook(CallFinishedHook hook) { finished_.Start(std::move(hook)); }

Result<void> Runtime::StoreArtifacts(CallRecord& record, const std::filesystem::path& wav,
                                     bool recording_may_be_stored) {
  TEMPO_ASSIGN_OR_RETURN(const storage::CallLocation at,
                         storage::LocateCall(record.info.agent_id, record.info.call_sid));
  using storage::CallArtifact;
  TEMPO_TRY(store_.EnsureBucket(at.bucket));
  std::error_code ec;
  bool has_recording = !wav.empty() && std::filesystem::exists(wav, ec);
  if (has_recording) {
    TEMPO_TRY(store_.PutFile(at.bucket, at.Key(CallArtifact::kRecording), wav));
  } else if (recording_may_be_stored) {
    // An earlier attempt may have stored (and so consumed) the recording before failing.
    auto stored = store_.Exists(at.bucket, at.Key(CallArtifact::kRecording));
    TEMPO_TRY(stored);
    has_recording = *stored;
  }
  const bool interrupted = record.end.outcome == "interrupted";
  TEMPO_TRY(store_.Put(at.bucket, at.Key(CallArtifact::kTranscript),
                       record.TranscriptJson(interrupted ? "recovered" : "complete")));
  TEMPO_TRY(
      store_.Put(at.bucket, at.Key(CallArtifact::kMetadata), record.MetadataJson(has_recording)));
  record.has_recording = has_recording;
  record.has_transcript = true;
  return Ok();
}

void Runtime::CallNotStored(const CallRecord& record, const std::function<void()>& remove_wal) {
  if (auto kept = uploads_.Record(record); !kept) {
    TEMPO_LOG(runtime, error,
              "[call={}] cannot keep the call for a later upload ({}); its write-ahead file "
              "stays in the spool for the next start",
              record.info.call_sid, kept.error().message);
    return;
  }
  remove_wal();
  TEMPO_LOG(runtime, warn, "[call={}] artefacts not stored yet; retrying until they are",
            record.info.call_sid);
  uploads_.Wake();
}

void Runtime::CallFinished(const CallRecord& record, const std::function<void()>& remove_wal) {
  if (!finished_.started()) {  // nothing indexes calls here (`tempovoice agent`)
    remove_wal();
    return;
  }
  if (auto recorded = finished_.Record(record); !recorded) {
    // Without its entry the write-ahead file is the call's only trace: it goes only once the
    // call is indexed, else the next start recovers the call from it.
    TEMPO_LOG(runtime, error, "[call={}] cannot keep the finished call for indexing: {}",
              record.info.call_sid, recorded.error().message);
    if (finished_.Deliver(record)) remove_wal();
    return;
  }
  remove_wal();
  (void)finished_.Deliver(record);
}

namespace {

/// Moves a spool file that names no valid call (and its recording) out of the way, so it is
/// reported once and never blocks or repeats a recovery. Kept, not deleted: it may be evidence.
void Quarantine(const std::filesystem::path& wal, std::string_view why) {
  std::error_code ec;
  const auto dir = wal.parent_path() / "quarantine";
  std::filesystem::create_directories(dir, ec);
  for (const char* ext : {".wal", ".wav"}) {
    auto from = wal;
    from.replace_extension(ext);
    if (std::filesystem::exists(from, ec)) {
      std::filesystem::rename(from, dir / from.filename(), ec);
    }
  }
  SpoolQuarantined().Inc();
  // The file name is only printed escaped: it came from the disk, not from us.
  TEMPO_LOG(runtime, warn, "spool: {:?} {}; moved to spool/quarantine", wal.filename().string(),
            why);
}

}  // namespace

Result<size_t> Runtime::RecoverSpool() {
  const auto spool = SpoolDir();
  std::error_code ec;
  // Calls open their recording here as soon as they start.
  std::filesystem::create_directories(spool, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", spool.string(), ec.message()));
  std::vector<std::filesystem::path> wals;
  for (const auto& entry : std::filesystem::directory_iterator(spool, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == ".wal") {
      wals.push_back(entry.path());
    }
  }
  std::sort(wals.begin(), wals.end());
  size_t recovered = 0;
  for (const auto& wal : wals) {
    auto lines = storage::AppendLog::ReadLines(wal);
    if (!lines) {
      TEMPO_LOG(runtime, warn, "spool: {:?} cannot be read: {}", wal.filename().string(),
                lines.error().message);
      continue;
    }
    auto record = RecordFromWal(*lines);
    if (!record) {
      Quarantine(wal, "is not a call log");
      continue;
    }
    // The ids inside name the artefacts: a file whose ids are not a real call's, or that
    // does not carry its own call's name, is not trusted with a path.
    const auto& info = record->info;
    auto location = storage::LocateCall(info.agent_id, info.call_sid);
    if (!location || !twilio::IsSid(info.call_sid.view(), twilio::SidKind::kCall) ||
        wal.stem().string() != info.call_sid.str()) {
      Quarantine(wal, "does not name a valid call");
      continue;
    }
    record->end.outcome = "interrupted";
    record->end.reason = "the server stopped during the call";
    auto wav = wal;
    wav.replace_extension(".wav");
    if (std::filesystem::exists(wav, ec)) {
      // The WAV header was patched every second while recording; whatever followed is still
      // playable audio once the sizes are fixed from the file length.
      (void)audio::RepairWavFile(wav);
    }
    if (auto stored = StoreArtifacts(*record, wav, /*recording_may_be_stored=*/false); !stored) {
      // Kept for the upload worker, which retries while the server runs.
      TEMPO_LOG(runtime, error, "[call={}] spool: not stored yet: {}", info.call_sid,
                stored.error().message);
      CallNotStored(*record, [&] { std::filesystem::remove(wal, ec); });
      continue;
    }
    CallFinished(*record, [&] { std::filesystem::remove(wal, ec); });
    TEMPO_LOG(runtime, info, "[call={} agent={}] recovered {} turns after a crash", info.call_sid,
              info.agent_id, record->turns.size());
    ++recovered;
  }
  return recovered;
}

}  // namespace tempo::runtime
