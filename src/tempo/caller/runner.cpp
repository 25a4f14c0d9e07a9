#include "tempo/caller/runner.hpp"

#include "tempo/caller/twiml_reader.hpp"

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <random>
#include <utility>
#include <variant>

namespace tempo::caller {
namespace {

using SteadyClock = Clock::Steady;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

/// Resolves a TwiML URL attribute against the URL of the document that holds it (Twilio
/// accepts relative action and Redirect URLs).
std::string ResolveUrl(std::string_view base, std::string_view ref) {
  if (ref.find("://") != std::string_view::npos) return std::string(ref);
  const size_t scheme_end = base.find("://");
  if (scheme_end == std::string_view::npos) return std::string(ref);
  const size_t path_start = base.find('/', scheme_end + 3);
  const std::string_view origin = base.substr(0, path_start);
  if (!ref.empty() && ref.front() == '/') return std::string(origin) + std::string(ref);
  std::string_view path = path_start == std::string_view::npos ? "/" : base.substr(path_start);
  path = path.substr(0, path.find('?'));
  path = path.substr(0, path.rfind('/') + 1);
  return std::string(origin) + std::string(path) + std::string(ref);
}

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

class CallDriver final : public CallHandle,
                         public net::WebSocketListener,
                         public std::enable_shared_from_this<CallDriver> {
 public:
  CallDriver(net::ClientContext& context, CallConfig config, std::function<void(CallReport)> done,
             std::function<void(SteadyClock::duration)> on_latency)
      : context_(context),
        executor_(context.MakeExecutor()),
        config_(std::move(config)),
        done_(std::move(done)),
        on_latency_(std::move(on_latency)) {
    if (config_.identity.call_sid.empty()) {
      config_.identity.call_sid = CallSid(RandomSid("CA", Rng()));
    }
    report_.call_sid = config_.identity.call_sid.str();
  }

  void Begin() {
    executor_->Post([self = shared_from_this()]() {
      self->started_at_ = SteadyClock::now();
      self->Request(self->config_.webhook_url, "POST", VoiceWebhookParams(self->config_.identity));
    });
  }

  void RequestHangup() override {
    executor_->Post([self = shared_from_this()]() {
      self->hangup_requested_ = true;
      if (self->session_ && self->session_->started() && !self->session_->hung_up()) {
        self->session_->HangUp(SteadyClock::now(), HangupReason::kRequested);
        self->Flush();
      }
    });
  }

  void OnText(std::string_view message) override {
    if (!session_) return;
    session_->OnText(SteadyClock::now(), message);
    Flush();
  }

  void OnBinary(std::string_view message) override {
    if (!session_) return;
    session_->OnBinary(SteadyClock::now(), message);
  }

  void OnClose(const net::CloseInfo& info) override {
    if (timer_) timer_->Cancel();
    ws_.reset();
    report_.close_code = info.code;
    report_.stream_closed_by_server = !session_->hung_up() && info.by_peer;
    CollectSession();
    if (session_->hung_up()) {
      report_.hangup_reason = std::string(ToString(*session_->hangup_reason()));
      Finish(CallOutcome::kCallerHungUp);
      return;
    }
    if (hangup_requested_) {
      report_.hangup_reason = std::string(ToString(HangupReason::kRequested));
      Finish(CallOutcome::kCallerHungUp);
      return;
    }
    // The server ended the stream: Twilio requests the <Connect action> or goes on with the
    // next verb.
    if (!connect_action_.empty()) {
      Request(connect_action_, connect_method_, CallbackParams(config_.identity, "in-progress"));
      return;
    }
    RunVerbs();
  }

 private:
  void Request(const std::string& url, const std::string& method, twilio::FormParams params) {
    if (++documents_ > config_.max_documents) {
      Fail(fmt::format("more than {} TwiML documents (a redirect loop?)", config_.max_documents));
      return;
    }
    net::ClientRequest request;
    if (method == "GET") {
      // Twilio appends the parameters to the query and signs the full URL alone.
      request.method = net::Method::kGet;
      const std::string query = twilio::FormEncode(params);
      request.url = url + (url.find('?') == std::string::npos ? "?" : "&") + query;
      request.headers.Set("X-Twilio-Signature",
                          twilio::ComputeSignature(config_.auth_token, request.url, {}));
    } else {
      SignedPost post = SignFormPost(url, params, config_.auth_token);
      request.method = net::Method::kPost;
      request.url = std::move(post.url);
      request.body = std::move(post.body);
      request.headers = std::move(post.headers);
    }
    request.headers.Set("Accept", "*/*");
    request.headers.Set("Cache-Control", "max-age=259200");
    request.headers.Set("User-Agent", "TwilioProxy/1.1");
    request.tls_verify = config_.tls_verify;
    document_url_ = url;
    context_.Fetch(
        std::move(request),
        [self = shared_from_this()](Result<net::Response> result) {
          self->OnDocument(std::move(result));
        },
        executor_.get());
  }

  void OnDocument(Result<net::Response> result) {
    if (hangup_requested_) {
      report_.hangup_reason = std::string(ToString(HangupReason::kRequested));
      Finish(CallOutcome::kCallerHungUp);
      return;
    }
    if (!result) {
      Fail(fmt::format("request to {} failed: {}", document_url_, result.error().message));
      return;
    }
    if (result->status != 200) {
      Fail(fmt::format("{} answered HTTP {}", document_url_, result->status));
      return;
    }
    auto doc = ParseTwiml(result->body);
    if (!doc) {
      Fail(fmt::format("{} answered bad TwiML: {}", document_url_, doc.error().message));
      return;
    }
    for (auto& w : doc->warnings) report_.twiml_warnings.push_back(std::move(w));
    verbs_ = std::move(doc->verbs);
    verb_base_url_ = document_url_;
    next_verb_ = 0;
    RunVerbs();
  }

  void RunVerbs() {
    while (next_verb_ < verbs_.size()) {
      const Verb& verb = verbs_[next_verb_++];
      report_.verbs.push_back(Describe(verb));
      if (std::holds_alternative<HangupVerb>(verb)) {
        Finish(CallOutcome::kAgentHungUp);
        return;
      }
      if (const auto* reject = std::get_if<RejectVerb>(&verb)) {
        report_.reject_reason = reject->reason.empty() ? "rejected" : reject->reason;
        Finish(CallOutcome::kRejected);
        return;
      }
      if (const auto* redirect = std::get_if<RedirectVerb>(&verb)) {
        if (redirect->url.empty()) continue;
        Request(ResolveUrl(verb_base_url_, redirect->url), redirect->method,
                CallbackParams(config_.identity, "in-progress"));
        return;
      }
      if (const auto* dial = std::get_if<DialVerb>(&verb)) {
        if (!dial->targets.empty()) report_.transfer_target = dial->targets.front().value;
        Finish(CallOutcome::kTransferred);
        return;
      }
      if (std::holds_alternative<RecordVerb>(verb)) {
        Finish(CallOutcome::kVoicemail);
        return;
      }
      if (const auto* connect = std::get_if<ConnectVerb>(&verb)) {
        if (!connect->stream || connect->stream->url.empty()) continue;
        OpenStream(*connect);
        return;
      }
    }
    Finish(CallOutcome::kTwimlEnded);
  }

  void OpenStream(const ConnectVerb& connect) {
    connect_action_ =
        connect.action.empty() ? std::string() : ResolveUrl(verb_base_url_, connect.action);
    connect_method_ = connect.method;
    SessionOptions options = config_.session;
    options.account_sid = config_.identity.account_sid;
    options.call_sid = config_.identity.call_sid;
    options.stream_sid = StreamSid(RandomSid("MZ", Rng()));
    options.custom_parameters.clear();
    for (const auto& [name, value] : connect.stream->parameters) {
      options.custom_parameters[name] = value;
    }
    report_.stream_sid = options.stream_sid.str();
    stream_requested_ = true;
    session_ = std::make_unique<MediaStreamSession>(std::move(options));
    if (on_latency_) {
      session_->set_latency_observer(on_latency_);
    } else {
      session_->set_latency_observer(
          [this](SteadyClock::duration d) { histogram_.Record(d / std::chrono::microseconds(1)); });
    }

    net::WebSocketConnectOptions ws;
    ws.url = connect.stream->url;
    ws.headers = SignWebSocketUpgrade(ws.url, config_.auth_token);
    ws.tls_verify = config_.tls_verify;
    ws.executor = executor_.get();
    context_.ConnectWebSocket(
        std::move(ws),
        [self = shared_from_this()](std::shared_ptr<net::WebSocket> socket) {
          return self->OnOpen(std::move(socket));
        },
        [self = shared_from_this()](Error error) { self->Fail("media stream: " + error.message); });
  }

  std::shared_ptr<net::WebSocketListener> OnOpen(std::shared_ptr<net::WebSocket> socket) {
    if (hangup_requested_) {
      report_.hangup_reason = std::string(ToString(HangupReason::kRequested));
      Finish(CallOutcome::kCallerHungUp);
      return nullptr;
    }
    ws_ = std::move(socket);
    report_.stream_opened = true;
    const auto now = SteadyClock::now();
    stream_opened_at_ = now;
    if (config_.record_agent || config_.record_stereo) {
      recorder_ = std::make_unique<CallRecorder>(now);
      session_->set_recorder(recorder_.get());
    }
    session_->Start(now);
    Flush();
    ArmTimer();
    return shared_from_this();
  }

  void ArmTimer() {
    if (!timer_) timer_ = executor_->MakeTimer();
    timer_->ExpireAt(session_->NextWakeup(), [weak = weak_from_this()](bool cancelled) {
      if (cancelled) return;
      if (auto self = weak.lock()) self->OnTimer();
    });
  }

  void OnTimer() {
    if (!session_ || session_->hung_up() || !ws_) return;
    session_->Tick(SteadyClock::now());
    Flush();
    if (!session_->hung_up()) ArmTimer();
  }

  void Flush() {
    session_->TakeOutgoing(outgoing_);
    if (!ws_) return;
    for (auto& message : outgoing_) ws_->SendText(std::move(message));
    outgoing_.clear();
    if (session_->hung_up() && !close_sent_) {
      close_sent_ = true;
      if (timer_) timer_->Cancel();
      ws_->Close(1000, "");
    }
  }

  void CollectSession() {
    report_.stream_duration_s += Seconds(SteadyClock::now() - stream_opened_at_);
    const auto& s = session_->stats();
    for (auto barge_in : s.barge_ins) {
      barge_in.turn += report_.stats.turns_spoken;  // numbered over the whole call
      report_.stats.barge_ins.push_back(barge_in);
    }
    report_.stats.frames_sent += s.frames_sent;
    report_.stats.dtmf_sent += s.dtmf_sent;
    report_.stats.turns_spoken += s.turns_spoken;
    report_.stats.media_received += s.media_received;
    report_.stats.media_bytes_received += s.media_bytes_received;
    if (!report_.stats.first_agent_audio) report_.stats.first_agent_audio = s.first_agent_audio;
    report_.stats.marks_received += s.marks_received;
    report_.stats.marks_echoed += s.marks_echoed;
    report_.stats.clears += s.clears;
    report_.stats.cleared_bytes += s.cleared_bytes;
    report_.stats.late_frames += s.late_frames;
    report_.agent_audio_s += session_->agent_audio_seconds();
    for (const auto& v : session_->violations()) report_.violations.push_back(v);
  }

  void Fail(std::string message) {
    report_.error = std::move(message);
    Finish(CallOutcome::kFailed);
  }

  void Finish(CallOutcome outcome) {
    if (finished_) return;
    finished_ = true;
    if (timer_) timer_->Cancel();
    uint64_t agent_media = report_.stats.media_received;
    if (ws_) {
      if (session_) agent_media += session_->stats().media_received;  // not collected yet
      ws_->Close(1000, "");
      ws_.reset();
    }
    // The TwiML asked for a media stream and none ever opened (the server never answered the
    // upgrade, its descriptors ran out): the caller heard nothing, whatever ended the call.
    // Or the stream opened but the agent never spoke on it and the caller gave up (a server
    // that hangs up, transfers or apologises in TwiML did answer).
    if (stream_requested_ && outcome != CallOutcome::kFailed) {
      if (!report_.stream_opened) {
        outcome = CallOutcome::kFailed;
        report_.error = "media stream: never opened before the call ended";
      } else if (agent_media == 0 &&
                 (outcome == CallOutcome::kCallerHungUp || outcome == CallOutcome::kTwimlEnded)) {
        outcome = CallOutcome::kFailed;
        report_.error = "media stream: no agent audio before the call ended";
      }
    }
    report_.outcome = outcome;
    report_.duration_s = Seconds(SteadyClock::now() - started_at_);
    report_.latency = LatencySummary::From(histogram_, report_.stats.late_frames);
    if (recorder_) WriteRecordings();
    auto done = std::move(done_);
    if (done) done(std::move(report_));
  }

  void WriteRecordings() {
    if (config_.record_agent) {
      if (auto r = recorder_->WriteAgentWav(*config_.record_agent); !r) {
        report_.error = "cannot write recording: " + r.error().message;
      }
    }
    if (config_.record_stereo) {
      if (auto r = recorder_->WriteStereoWav(*config_.record_stereo); !r) {
        report_.error = "cannot write recording: " + r.error().message;
      }
    }
  }

  net::ClientContext& context_;
  std::unique_ptr<Executor> executor_;
  CallConfig config_;
  std::function<void(CallReport)> done_;
  std::function<void(SteadyClock::duration)> on_latency_;
  CallReport report_;
  LatencyHistogram histogram_;  // this call's own frames (unused when on_latency_ is set)

  SteadyClock::time_point started_at_{};
  bool stream_requested_ = false;  // the TwiML had <Connect><Stream>
  SteadyClock::time_point stream_opened_at_{};
  int documents_ = 0;
  std::string document_url_;
  std::string verb_base_url_;
  std::vector<Verb> verbs_;
  std::size_t next_verb_ = 0;
  std::string connect_action_;
  std::string connect_method_ = "POST";

  std::unique_ptr<MediaStreamSession> session_;
  std::unique_ptr<CallRecorder> recorder_;
  std::shared_ptr<net::WebSocket> ws_;
  std::unique_ptr<Timer> timer_;
  std::vector<std::string> outgoing_;
  bool close_sent_ = false;
  bool hangup_requested_ = false;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<CallHandle> StartCall(net::ClientContext& context, CallConfig config,
                                      std::function<void(CallReport)> done,
                                      std::function<void(Clock::Steady::duration)> on_latency) {
  auto driver = std::make_shared<CallDriver>(context, std::move(config), std::move(done),
                                             std::move(on_latency));
  driver->Begin();
  return driver;
}

CallReport RunCall(CallConfig config) {
  net::ClientContext context(1);
  CallReport out;
  auto handle = StartCall(context, std::move(config), [&out, &context](CallReport report) {
    out = std::move(report);
    context.Stop();
  });
  context.Run();
  return out;
}

LoadReport RunLoad(LoadConfig config) {
  net::ClientContext context(config.threads);
  auto control = context.MakeExecutor();

  struct Shared {
    std::mutex mutex;
    LatencyHistogram histogram;
    LoadReport report;
    uint64_t late_frames = 0;
    std::size_t remaining = 0;
    std::vector<std::shared_ptr<CallHandle>> handles;
    bool ended = false;
  };
  auto shared = std::make_shared<Shared>();
  shared->report.calls_requested = config.calls;
  shared->remaining = config.calls;
  if (config.calls == 0) return shared->report;

  std::unique_ptr<Timer> launch_timer;
  std::unique_ptr<Timer> end_timer;
  std::unique_ptr<Timer> stop_poll;
  std::unique_ptr<Timer> watchdog;
  const auto t0 = SteadyClock::now() + std::chrono::milliseconds(10);
  std::atomic<bool> finished{false};
  bool stopped_early = false;  // control executor only

  auto finish_all = [&]() {
    // On the control executor: stop the timers so that Run() can return.
    if (launch_timer) launch_timer->Cancel();
    if (end_timer) end_timer->Cancel();
    if (stop_poll) stop_poll->Cancel();
    if (watchdog) watchdog->Cancel();
    context.Stop();
  };

  auto on_done = [shared, &control, &finish_all](CallReport r) {
    std::lock_guard lock(shared->mutex);
    auto& agg = shared->report;
    if (r.stream_opened) ++agg.calls_streamed;
    if (r.outcome == CallOutcome::kFailed) {
      ++agg.calls_failed;
      ++agg.errors[r.error];
    } else if (r.outcome == CallOutcome::kRejected) {
      ++agg.calls_refused;
      ++agg.refusals[r.reject_reason];
    } else {
      ++agg.calls_completed;
    }
    ++agg.outcomes[std::string(ToString(r.outcome))];
    agg.frames_sent += r.stats.frames_sent;
    agg.frames_received += r.stats.media_received;
    agg.marks_echoed += r.stats.marks_echoed;
    agg.clears += r.stats.clears;
    agg.agent_audio_s += r.agent_audio_s;
    shared->late_frames += r.stats.late_frames;
    for (const auto& v : r.violations) {
      agg.violations += v.count;
      agg.violation_kinds[std::string(ToString(v.kind))] += v.count;
    }
    if (--shared->remaining == 0) control->Post(finish_all);
  };
  auto on_latency = [shared](SteadyClock::duration d) {
    std::lock_guard lock(shared->mutex);
    shared->histogram.Record(d / std::chrono::microseconds(1));
  };

  std::size_t launched = 0;
  std::function<void()> launch_next;
  launch_next = [&]() {
    // On the control executor.
    const auto now = SteadyClock::now();
    while (launched < config.calls) {
      const auto due =
          t0 + config.ramp * static_cast<int64_t>(launched) / static_cast<int64_t>(config.calls);
      if (due > now) {
        launch_timer->ExpireAt(due, [&](bool cancelled) {
          if (!cancelled) launch_next();
        });
        return;
      }
      ++launched;
      CallConfig call = config.call;
      call.identity.call_sid = CallSid();
      call.record_agent.reset();
      call.record_stereo.reset();
      {
        std::lock_guard lock(shared->mutex);
        if (shared->ended) break;
        ++shared->report.calls_started;
      }
      auto handle = StartCall(context, std::move(call), on_done, on_latency);
      std::lock_guard lock(shared->mutex);
      shared->handles.push_back(std::move(handle));
    }
  };

  // The load's end (its duration, or a stop asked for early), on the control executor: no new
  // call starts, every call hangs up, and the calls get a grace period to finish. A server
  // that never answers must not hang the load generator.
  auto end_load = [&]() {
    std::vector<std::shared_ptr<CallHandle>> handles;
    {
      std::lock_guard lock(shared->mutex);
      if (shared->ended) return;
      shared->ended = true;
      handles = shared->handles;
      const std::size_t never_started = config.calls - shared->report.calls_started;
      shared->remaining -= never_started;
      if (shared->remaining == 0) control->Post(finish_all);
    }
    launch_timer->Cancel();
    end_timer->Cancel();
    stop_poll->Cancel();
    for (auto& h : handles) h->RequestHangup();
    watchdog->ExpireAt(SteadyClock::now() + std::chrono::seconds(30), [&](bool cancelled) {
      if (cancelled) return;
      finished = true;
      context.Abort();
    });
  };
  std::function<void()> poll_stop;
  poll_stop = [&]() {
    if (config.stop->load()) {
      stopped_early = true;
      end_load();
      return;
    }
    stop_poll->ExpireAt(SteadyClock::now() + std::chrono::milliseconds(50), [&](bool cancelled) {
      if (!cancelled) poll_stop();
    });
  };

  control->Post([&]() {
    launch_timer = control->MakeTimer();
    end_timer = control->MakeTimer();
    stop_poll = control->MakeTimer();
    watchdog = control->MakeTimer();
    end_timer->ExpireAt(t0 + config.duration, [&](bool cancelled) {
      if (!cancelled) end_load();
    });
    if (config.stop != nullptr) poll_stop();
    launch_next();
  });

  context.Run();
  std::lock_guard lock(shared->mutex);
  shared->handles.clear();  // the calls' latency observers hold `shared`: break the cycle
  LoadReport report = shared->report;
  report.duration_s = Seconds(SteadyClock::now() - t0);
  report.stopped_early = stopped_early;
  report.latency = LatencySummary::From(shared->histogram, shared->late_frames);
  if (finished) {
    const uint64_t unfinished = shared->remaining;
    report.calls_failed += unfinished;
    if (unfinished > 0) report.errors["did not end within 30 s of the load's end"] += unfinished;
  }
  return report;
}

}  // namespace tempo::caller
