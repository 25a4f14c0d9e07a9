#include "tempo/runtime/runtime.hpp"

#include "tempo/audio/wav.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/runtime/call_session.hpp"
#include "tempo/storage/append_log.hpp"
#include "tempo/twilio/signature.hpp"
#include "tempo/twilio/twiml.hpp"

#include <fmt/format.h>

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

}  // namespace

Runtime::Runtime(RuntimeOptions options, const AgentDirectory& agents,
                 engine::EngineRegistry& engines, storage::ObjectStore& store, const Clock& clock,
                 RunBlocking run_blocking)
    : options_(std::move(options)),
      agents_(agents),
      engines_(engines),
      store_(store),
      clock_(clock),
      run_blocking_(std::move(run_blocking)) {}

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
  std::string call_sid, from, to;
  for (const auto& [k, v] : *params) {
    if (k == "CallSid") call_sid = v;
    if (k == "From") from = v;
    if (k == "To") to = v;
  }
  if (call_sid.empty()) {
    Webhooks("incoming-call", "bad_request").Inc();
    return net::Response::Error(400, "missing_call_sid", "CallSid is required");
  }
  ExpectCall(agent->agent_id, CallSid(call_sid), from, to);

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
  std::string call_sid, dial_status, step;
  for (const auto& [k, v] : *params) {
    if (k == "CallSid") call_sid = v;
    if (k == "DialCallStatus") dial_status = v;
  }
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
      t.Say("Sorry, nobody is available right now. Please leave a message after the beep.");
      t.Record({.action = action + "?step=voicemail-done",
                .finish_on_key = "#",
                .max_length_s = 120,
                .play_beep = true});
      t.Hangup();
    }
    Webhooks("call-ended", "dial_done").Inc();
    return Twiml(t.ToXml());
  }

  std::optional<NextStep> next;
  {
    std::lock_guard lock(mutex_);
    if (auto it = next_steps_.find(CallSid(call_sid)); it != next_steps_.end()) {
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
      if (!s.say.empty()) t.Say(s.say);
      t.Record({.action = action + "?step=voicemail-done",
                .finish_on_key = "#",
                .max_length_s = 120,
                .play_beep = true});
      t.Hangup();
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

void Runtime::ExpectCall(const AgentId& agent, const CallSid& call, std::string from,
                         std::string to) {
  const auto now = clock_.Now();
  std::lock_guard lock(mutex_);
  ForgetExpired(now);
  answered_[call] = {agent, std::move(from), std::move(to), now};
}

std::optional<Runtime::AnsweredCall> Runtime::ClaimCall(const AgentId& agent, const CallSid& call) {
  std::lock_guard lock(mutex_);
  const auto it = answered_.find(call);
  if (it == answered_.end() || it->second.agent_id != agent) return std::nullopt;
  auto answered = std::move(it->second);
  answered_.erase(it);
  return answered;
}

void Runtime::ForgetExpired(std::chrono::steady_clock::time_point now) {
  // Called with mutex_ held. Bounded maps even if streams never start or Twilio never asks.
  for (auto it = answered_.begin(); it != answered_.end();) {
    it = now - it->second.answered_at > options_.answer_ttl ? answered_.erase(it) : std::next(it);
  }
  for (auto it = next_steps_.begin(); it != next_steps_.end();) {
    it = now - it->second.second > std::chrono::minutes(10) ? next_steps_.erase(it) : std::next(it);
  }
}

void Runtime::SetNextStep(const CallSid& call, NextStep step) {
  const auto now = clock_.Now();
  std::lock_guard lock(mutex_);
  next_steps_[call] = {std::move(step), now};
}

void Runtime::Register(const std::shared_ptr<CallSession>& session) {
  std::lock_guard lock(mutex_);
  sessions_[session.get()] = session;
}

void Runtime::Unregister(const CallSession* session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
}

size_t Runtime::active_calls() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void Runtime::Shutdown() {
  std::vector<std::shared_ptr<CallSession>> live;
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->RequestEnd("shutdown", "server shutting down");
}

void Runtime::SetCallFinishedHook(CallFinishedHook hook) {
  std::lock_guard lock(mutex_);
  finished_hook_ = std::move(hook);
}

void Runtime::CallFinished(const CallRecord& record) {
  CallFinishedHook hook;
  {
    std::lock_guard lock(mutex_);
    hook = finished_hook_;
  }
  if (hook) hook(record);
}

Result<size_t> Runtime::RecoverSpool() {
  const auto spool = SpoolDir();
  std::error_code ec;
  // Calls open their recording here as soon as they start.
  std::filesystem::create_directories(spool, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", spool.string(), ec.message()));
  size_t recovered = 0;
  for (const auto& entry : std::filesystem::directory_iterator(spool, ec)) {
    if (entry.path().extension() != ".wal") continue;
    auto lines = storage::AppendLog::ReadLines(entry.path());
    if (!lines) continue;
    auto record = RecordFromWal(*lines);
    if (!record) {
      TEMPO_LOG(runtime, warn, "spool: {} is not a call log; left in place",
                entry.path().filename().string());
      continue;
    }
    record->end.outcome = "interrupted";
    record->end.reason = "the server stopped during the call";
    const std::string bucket = "tempo-agent-transcripts-" + record->info.agent_id.str();
    const std::string prefix = fmt::format("calls/{}/", record->info.call_sid);
    TEMPO_TRY(store_.EnsureBucket(bucket));
    auto wav = entry.path();
    wav.replace_extension(".wav");
    const bool has_recording = std::filesystem::exists(wav, ec);
    if (has_recording) {
      // The WAV header was patched every second while recording; whatever followed is
      // still playable audio once the sizes are fixed from the file length.
      TEMPO_TRY(audio::RepairWavFile(wav));
      TEMPO_TRY(store_.PutFile(bucket, prefix + "recording.wav", wav));
    }
    TEMPO_TRY(store_.Put(bucket, prefix + "transcript.json", record->TranscriptJson("recovered")));
    TEMPO_TRY(store_.Put(bucket, prefix + "metadata.json", record->MetadataJson(has_recording)));
    std::filesystem::remove(entry.path(), ec);
    CallFinished(*record);
    TEMPO_LOG(runtime, info, "[call={} agent={}] recovered {} turns after a crash",
              record->info.call_sid, record->info.agent_id, record->turns.size());
    ++recovered;
  }
  return recovered;
}

}  // namespace tempo::runtime
