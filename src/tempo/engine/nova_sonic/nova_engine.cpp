#include "tempo/engine/nova_sonic/nova_engine.hpp"

#include "tempo/aws/eventstream.hpp"
#include "tempo/aws/sigv4.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <utility>

namespace tempo::engine::nova {
namespace {

namespace es = aws::eventstream;
constexpr std::string_view kMic = "caller-audio";

// Shared by the session and the stream's callbacks (which run on the HTTP/2 client's thread
// and are posted to the call's executor from there): once the session closes, late events
// go nowhere.
struct Link {
  std::mutex mutex;
  Executor* executor = nullptr;
  std::function<void(std::string_view)> on_data;  // on the executor
  std::function<void(Result<void>)> on_close;     // on the executor
  bool open = true;
};

class NovaSession final : public SpeechSession {
 public:
  NovaSession(const NovaOptions& options, net::H2Client& client, const SessionParams& params,
              SessionObserver& observer)
      : options_(options),
        client_(client),
        agent_(*params.agent),
        call_(params.call_sid),
        clock_(*params.clock),
        observer_(observer),
        events_(fmt::format("prompt-{}", params.call_sid)),
        link_(std::make_shared<Link>()) {
    settings_ = options.settings;
    if (IsVoice(agent_.voice_id)) settings_.voice_id = agent_.voice_id;
    link_->executor = params.executor;
  }
  ~NovaSession() override { Close(); }
  NovaSession(const NovaSession&) = delete;
  NovaSession& operator=(const NovaSession&) = delete;

  [[nodiscard]] int input_sample_rate() const override { return settings_.input_sample_rate; }
  [[nodiscard]] int output_sample_rate() const override { return settings_.output_sample_rate; }

  void Start() override {
    started_ = clock_.Now();
    Result<aws::Credentials> credentials = Unavailable("nova sonic: no AWS credentials");
    if (options_.credentials) credentials = options_.credentials();
    if (!credentials) return Fail(credentials.error());
    aws::SignableRequest request;
    request.method = "POST";
    request.path =
        fmt::format("/model/{}/invoke-with-bidirectional-stream", PercentEncode(options_.model_id));
    const std::string authority =
        options_.target.port == 443
            ? options_.target.host
            : fmt::format("{}:{}", options_.target.host, options_.target.port);
    request.headers = {{"host", authority}, {"content-type", "application/vnd.amazon.eventstream"}};
    request.payload_hash = std::string(aws::kStreamingEventsPayload);
    aws::SigningOptions signing;
    signing.region = options_.region;
    signing.service = "bedrock";
    signing.time = clock_.WallNow();
    signing.content_sha256_header = true;
    auto seed = aws::SignRequest(request, *credentials, signing);
    if (!seed) return Fail(seed.error());
    signer_.emplace(*credentials, options_.region, "bedrock", seed->signature);

    net::H2Request h2;
    h2.scheme = options_.target.tls ? "https" : "http";
    h2.authority = authority;
    h2.path = request.path;
    for (const auto& [name, value] : request.headers) {
      std::string lower = Lower(name);
      if (lower != "host") h2.headers.emplace_back(std::move(lower), value);
    }
    link_->on_data = [this](std::string_view bytes) { OnBytes(bytes); };
    link_->on_close = [this](const Result<void>& result) { OnStreamClosed(result); };
    net::H2StreamCallbacks callbacks;
    callbacks.on_headers = [link = link_](int status, const net::H2Headers& /*headers*/) {
      if (status >= 300) {
        Post(link, [link, status] {
          if (link->on_close) {
            link->on_close(Unavailable(fmt::format("bedrock answered HTTP {}", status)));
          }
        });
      }
    };
    callbacks.on_data = [link = link_](std::string_view data) {
      Post(link, [link, bytes = std::string(data)] {
        if (link->on_data) link->on_data(bytes);
      });
    };
    callbacks.on_close = [link = link_](Result<void> result) {
      Post(link, [link, result = std::move(result)]() mutable {
        if (link->on_close) link->on_close(std::move(result));
      });
    };
    stream_ = client_.Open(options_.target, std::move(h2), std::move(callbacks));

    Send(InputEvents::SessionStart(settings_));
    Send(events_.PromptStart(settings_, AgentTools()));
    for (const auto& e : events_.TextBlock("system", "SYSTEM", SystemPrompt(agent_), false)) {
      Send(e);
    }
    Send(events_.AudioStart(kMic, settings_));
    // Nova does not speak unprompted: a typed cue (cross-modal input) makes it greet now.
    const std::string cue = agent_.first_message.empty()
                                ? std::string("The caller has just connected. Greet them.")
                                : fmt::format("The caller has just connected. Greet them with: {}",
                                              agent_.first_message);
    for (const auto& e : events_.TextBlock("greeting", "USER", cue, true)) Send(e);
  }

  void SendAudio(std::span<const int16_t> pcm) override {
    if (!signer_ || closed_) return;
    Send(events_.AudioInput(kMic, pcm));
  }

  void SendDtmf(char digit) override {
    if (!signer_ || closed_) return;
    const std::string name = fmt::format("keypad-{}", ++contents_);
    for (auto& e : events_.TextBlock(
             name, "USER", fmt::format("The caller pressed {} on the keypad.", digit), true)) {
      Send(e);
    }
  }

  void SendToolResult(const ToolResult& result) override {
    if (!signer_ || closed_) return;
    const std::string name = fmt::format("tool-result-{}", ++contents_);
    for (const auto& e : events_.ToolResult(name, result.id, result.content_json)) Send(e);
  }

  void Close() override {
    if (closed_) return;
    closed_ = true;
    {
      std::lock_guard lock(link_->mutex);
      link_->open = false;
    }
    link_->on_data = nullptr;
    link_->on_close = nullptr;
    if (stream_ && signer_) {
      Send(events_.ContentEnd(kMic), /*even_closed=*/true);
      Send(events_.PromptEnd(), true);
      Send(InputEvents::SessionEnd(), true);
      stream_->Write(signer_->Wrap("", clock_.WallNow()), true);
    }
  }

 private:
  static void Post(const std::shared_ptr<Link>& link, std::function<void()> fn) {
    std::lock_guard lock(link->mutex);
    if (link->open && link->executor != nullptr) link->executor->Post(std::move(fn));
  }

  void Send(std::string_view event_json, bool even_closed = false) {
    if (!stream_ || !signer_ || (closed_ && !even_closed)) return;
    es::Message inner;
    inner.headers = {{":message-type", std::string("event")},
                     {":event-type", std::string("chunk")},
                     {":content-type", std::string("application/json")}};
    inner.payload = WrapChunk(event_json);
    auto encoded = es::Encode(inner);
    if (!encoded) return Fail(encoded.error());
    stream_->Write(signer_->Wrap(*encoded, clock_.WallNow()), false);
  }

  void OnBytes(std::string_view bytes) {
    decoder_.Feed(bytes);
    while (!closed_) {
      auto next = decoder_.Next();
      if (!next) return Fail(next.error());
      if (!*next) return;
      const es::Message& m = **next;
      const auto type = m.String(":message-type");
      if (type == "exception" || type == "error") {
        const auto which = m.String(type == "exception" ? ":exception-type" : ":error-code");
        return Fail(Unavailable(fmt::format("bedrock {}: {}", which.value_or("error"), m.payload)));
      }
      auto json = UnwrapChunk(m.payload);
      if (!json) return Fail(json.error());
      auto event = ParseOutputEvent(*json);
      if (!event) return Fail(event.error());
      OnEvent(*event);
    }
  }

  void OnEvent(const OutputEvent& event) {
    if (const auto* start = std::get_if<ContentStart>(&event)) {
      contents_by_id_[start->content_id] = *start;
    } else if (const auto* text = std::get_if<TextOutput>(&event)) {
      if (text->interrupted) return observer_.OnInterrupted();
      const auto it = contents_by_id_.find(text->content_id);
      const std::string role =
          !text->role.empty() ? text->role : (it != contents_by_id_.end() ? it->second.role : "");
      Transcript t;
      t.role = role == "USER" ? Role::kCaller : Role::kAgent;
      t.text = text->text;
      t.is_final = it == contents_by_id_.end() || it->second.stage == Stage::kFinal;
      t.start = t.end = Elapsed();
      observer_.OnTranscript(t);
    } else if (const auto* audio = std::get_if<AudioOutput>(&event)) {
      observer_.OnAudio(audio->pcm);
    } else if (const auto* end = std::get_if<ContentEnd>(&event)) {
      if (end->type == ContentType::kAudio) {
        if (end->stop_reason == "INTERRUPTED") {
          observer_.OnInterrupted();
        } else {
          observer_.OnAgentTurnEnd();
        }
      }
      contents_by_id_.erase(end->content_id);
    } else if (const auto* use = std::get_if<ToolUse>(&event)) {
      observer_.OnToolCall({use->tool_use_id, use->tool_name, use->input_json});
    } else if (const auto* usage = std::get_if<Usage>(&event)) {
      Usage priced = *usage;
      priced.cost_usd = UsageCost(priced, options_.prices);
      observer_.OnUsage(priced);
    }
  }

  void OnStreamClosed(const Result<void>& result) {
    if (closed_) return;
    Fail(result ? Unavailable("bedrock ended the session") : result.error());
  }

  void Fail(const Error& error) {
    if (closed_) return;
    TEMPO_LOG(engine, warn, "[call={}] nova sonic: {}", call_, error.message);
    if (stream_) stream_->Cancel();
    closed_ = true;
    {
      std::lock_guard lock(link_->mutex);
      link_->open = false;
    }
    observer_.OnError(error);
  }

  [[nodiscard]] std::chrono::milliseconds Elapsed() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - started_);
  }

  const NovaOptions& options_;
  net::H2Client& client_;
  const agent::AgentConfig& agent_;
  CallSid call_;
  const Clock& clock_;
  SessionObserver& observer_;
  SessionSettings settings_;
  InputEvents events_;
  std::shared_ptr<Link> link_;
  std::shared_ptr<net::H2Stream> stream_;
  std::optional<es::ChunkSigner> signer_;
  es::Decoder decoder_;
  std::map<std::string, ContentStart> contents_by_id_;
  int contents_ = 0;
  bool closed_ = false;
  Clock::Steady::time_point started_{};
};

class NovaEngine final : public SpeechEngine {
 public:
  explicit NovaEngine(NovaOptions options) : options_(std::move(options)) {}
  [[nodiscard]] std::string_view name() const override { return "nova_sonic"; }
  Result<void> Prepare(const agent::AgentConfig& agent) override {
    if (!agent.voice_id.empty() && !IsVoice(agent.voice_id)) {
      return InvalidArgument(fmt::format("voiceId {:?} is not a Nova Sonic voice", agent.voice_id));
    }
    return Ok();
  }
  Result<std::unique_ptr<SpeechSession>> Open(const SessionParams& params,
                                              SessionObserver& observer) override {
    if (params.agent == nullptr || params.executor == nullptr || params.clock == nullptr) {
      return InvalidArgument("nova sonic: a session needs its agent, executor and clock");
    }
    return std::unique_ptr<SpeechSession>(
        std::make_unique<NovaSession>(options_, Client(), params, observer));
  }

 private:
  // Made at the first call: a server whose agents never use Nova keeps no thread for it.
  net::H2Client& Client() {
    std::call_once(client_once_, [this] { client_ = std::make_unique<net::H2Client>(); });
    return *client_;
  }

  NovaOptions options_;
  std::once_flag client_once_;
  std::unique_ptr<net::H2Client> client_;
};

}  // namespace

double UsageCost(const Usage& usage, const TokenPrices& prices) {
  const auto per_thousand = [](int64_t tokens, double price) {
    return static_cast<double>(tokens) * price / 1000.0;
  };
  return per_thousand(usage.input_speech_tokens, prices.speech_input) +
         per_thousand(usage.output_speech_tokens, prices.speech_output) +
         per_thousand(usage.input_text_tokens, prices.text_input) +
         per_thousand(usage.output_text_tokens, prices.text_output);
}

std::unique_ptr<SpeechEngine> MakeNovaSonicEngine(NovaOptions options) {
  return std::make_unique<NovaEngine>(std::move(options));
}

}  // namespace tempo::engine::nova
