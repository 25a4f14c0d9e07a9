#include "tempo/cli/call_command.hpp"

#include "tempo/base/log.hpp"
#include "tempo/caller/runner.hpp"
#include "tempo/caller/script.hpp"
#include "tempo/caller/webhook.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tempo::cli {
namespace {

struct CallSettings {
  std::string url;
  std::string auth_token;
  std::string from = "+15555550100";
  std::string to = "+15555550199";
  std::string account_sid;
  std::string call_sid;
  std::string wav;
  std::vector<std::string> say;
  std::string script;
  std::string voice;
  std::vector<std::string> dtmf;
  std::string record;
  std::string record_stereo;
  bool fast = false;
  bool insecure = false;
  double max_duration_s = 600;
  double hangup_after_s = 0;
  double greeting_timeout_s = 6;
  double reply_timeout_s = 20;
  bool json = false;
  unsigned load = 0;
  double duration_s = 30;
  double ramp_s = 0;
  unsigned threads = 1;
};

std::chrono::milliseconds Ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

/// "123#@5.5" -> presses 1, 2, 3, # from 5.5 s on, 250 ms apart.
Result<std::vector<caller::DtmfPress>> ParseDtmf(const std::string& spec) {
  const auto at = spec.find('@');
  if (at == std::string::npos || at == 0) {
    return InvalidArgument("--dtmf '" + spec + "' is not DIGITS@SECONDS");
  }
  const std::string seconds_text = spec.substr(at + 1);
  double seconds = 0;
  auto [end, ec] =
      std::from_chars(seconds_text.data(), seconds_text.data() + seconds_text.size(), seconds);
  if (ec != std::errc{} || end != seconds_text.data() + seconds_text.size() || seconds < 0) {
    return InvalidArgument("--dtmf '" + spec + "' has a bad time");
  }
  std::vector<caller::DtmfPress> presses;
  for (std::size_t i = 0; i < at; ++i) {
    const char digit = spec[i];
    if (std::string_view("0123456789*#ABCD").find(digit) == std::string_view::npos) {
      return InvalidArgument(fmt::format("--dtmf '{}': '{}' is not a DTMF key", spec, digit));
    }
    presses.push_back(
        {digit, Ms(seconds) + std::chrono::milliseconds(250) * static_cast<int64_t>(i)});
  }
  return presses;
}

Result<caller::CallConfig> BuildConfig(const CallSettings& s) {
  caller::CallConfig config;
  config.webhook_url = s.url;
  if (s.auth_token.empty()) {
    return InvalidArgument(
        "an auth token is needed to sign requests: --auth-token or "
        "TWILIO_AUTH_TOKEN");
  }
  config.auth_token = TwilioAuthToken(s.auth_token);
  std::mt19937_64 rng{std::random_device{}()};
  config.identity.account_sid =
      AccountSid(s.account_sid.empty() ? caller::RandomSid("AC", rng) : s.account_sid);
  config.identity.call_sid = CallSid(s.call_sid);
  config.identity.from = s.from;
  config.identity.to = s.to;
  config.tls_verify = s.insecure ? net::TlsVerify::kInsecure : net::TlsVerify::kVerifyPeer;

  auto& session = config.session;
  session.pacing = s.fast ? caller::Pacing::kFast : caller::Pacing::kRealTime;
  session.max_duration = Ms(s.max_duration_s);
  if (s.hangup_after_s > 0) session.hangup_after = Ms(s.hangup_after_s);
  session.greeting_timeout = Ms(s.greeting_timeout_s);
  session.reply_timeout = Ms(s.reply_timeout_s);
  for (const auto& spec : s.dtmf) {
    TEMPO_ASSIGN_OR_RETURN(auto presses, ParseDtmf(spec));
    session.dtmf.insert(session.dtmf.end(), presses.begin(), presses.end());
  }

  const caller::TurnPadding padding;
  if (!s.wav.empty()) {
    TEMPO_ASSIGN_OR_RETURN(auto clip, caller::LoadWavTurn(s.wav, padding));
    session.script.turns.emplace_back(std::move(clip));
  }
  std::vector<std::string> lines = s.say;
  if (!s.script.empty()) {
    TEMPO_ASSIGN_OR_RETURN(auto file_lines, caller::ReadScriptFile(s.script));
    lines.insert(lines.end(), file_lines.begin(), file_lines.end());
  }
  if (!lines.empty()) {
    TEMPO_ASSIGN_OR_RETURN(auto turns, caller::SynthesizeTurns(lines, s.voice, padding));
    session.script.turns.insert(session.script.turns.end(), turns.begin(), turns.end());
  }
  if (!s.record.empty()) config.record_agent = s.record;
  if (!s.record_stereo.empty()) config.record_stereo = s.record_stereo;
  return config;
}

// Set by SIGTERM or SIGINT during --load: the load ends early, in order (every call hangs up,
// the report is printed). The handler resets itself, so a second signal ends the process at
// once. A lock-free atomic store is async-signal-safe.
std::atomic<bool> g_stop_load{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void StopLoad(int /*signal*/) { g_stop_load.store(true); }

void StopLoadOnSignals() {
  struct sigaction action {};
  action.sa_handler = StopLoad;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

int RunCallCommand(const CallSettings& s) {
  log::Options log_options;
  log_options.format = log::Format::kText;
  log_options.level = spdlog::level::warn;
  log::Init(log_options);

  auto config = BuildConfig(s);
  if (!config) {
    fmt::print(stderr, "tempovoice call: {}\n", config.error().message);
    return 64;
  }
  if (s.load > 0) {
    caller::LoadConfig load;
    load.call = std::move(*config);
    load.call.session.script.repeat = caller::CallerScript::Repeat::kLoop;
    load.calls = s.load;
    load.duration = Ms(s.duration_s);
    load.ramp = Ms(s.ramp_s);
    load.threads = s.threads;
    // The calls end when the load does, not when the script does.
    load.call.session.max_duration = load.duration + std::chrono::seconds(10);
    load.stop = &g_stop_load;
    StopLoadOnSignals();
    caller::LoadReport report = caller::RunLoad(std::move(load));
    std::fputs((s.json ? caller::ToJson(report) + "\n" : caller::ToText(report)).c_str(), stdout);
    return report.calls_failed > 0 || report.violations > 0 ? 1 : 0;
  }
  caller::CallReport report = caller::RunCall(std::move(*config));
  std::fputs((s.json ? caller::ToJson(report) + "\n" : caller::ToText(report)).c_str(), stdout);
  if (report.outcome == caller::CallOutcome::kFailed) return 1;
  return report.violation_count() > 0 ? 2 : 0;
}

}  // namespace

void AddCallCommand(CLI::App& app) {
  auto s = std::make_shared<CallSettings>();
  auto* call = app.add_subcommand(
      "call",
      "Call an agent the way Twilio does: signed voice webhook, TwiML, media stream (speaks a "
      "WAV or text, records the agent, checks the protocol). --load N runs N calls at once");
  call->add_option("--url", s->url,
                   "The number's voice webhook: https://HOST/agent/ID/incoming-call")
      ->required();
  call->add_option("--auth-token", s->auth_token, "Twilio auth token used to sign requests")
      ->envname("TWILIO_AUTH_TOKEN");
  call->add_option("--from", s->from, "Caller number (E.164)")->capture_default_str();
  call->add_option("--to", s->to, "Called number (E.164)")->capture_default_str();
  call->add_option("--account-sid", s->account_sid, "AC... (default: random)")
      ->envname("TWILIO_ACCOUNT_SID");
  call->add_option("--call-sid", s->call_sid, "CA... (default: random)");
  call->add_option("--wav", s->wav, "What the caller says: a WAV file (PCM16 or mu-law, any rate)")
      ->check(CLI::ExistingFile);
  call->add_option("--say", s->say,
                   "A caller turn, spoken with the local TTS (repeatable); a '[barge-in 1200ms] ' "
                   "prefix speaks it over the agent after 1200 ms of its audio");
  call->add_option("--script", s->script, "A file of caller turns, one per line")
      ->check(CLI::ExistingFile);
  call->add_option("--voice", s->voice, "flite voice for --say/--script (kal16, slt, rms, awb)");
  call->add_option("--dtmf", s->dtmf, "Key presses DIGITS@SECONDS, e.g. 12#@4.5 (repeatable)");
  call->add_option("--record", s->record, "Write what the agent said to this WAV (8 kHz mono)");
  call->add_option("--record-stereo", s->record_stereo,
                   "Write both sides to this WAV (caller left, agent right)");
  call->add_flag("--fast", s->fast, "Send the caller's speech as fast as possible");
  call->add_flag("--insecure", s->insecure, "Do not verify TLS certificates");
  call->add_option("--max-duration", s->max_duration_s, "Hang up after this many seconds at most")
      ->capture_default_str();
  call->add_option("--hangup-after", s->hangup_after_s,
                   "Hang up this many seconds after the stream opened");
  call->add_option("--greeting-timeout", s->greeting_timeout_s,
                   "Wait this long for the agent's greeting before speaking")
      ->capture_default_str();
  call->add_option("--reply-timeout", s->reply_timeout_s,
                   "Wait this long for the agent's reply to each turn")
      ->capture_default_str();
  call->add_flag("--json", s->json, "Print the report as JSON");
  call->add_option("--load", s->load, "Run this many concurrent calls (load test)");
  call->add_option("--duration", s->duration_s, "Load test length in seconds")
      ->capture_default_str();
  call->add_option("--ramp", s->ramp_s, "Spread the call starts over this many seconds");
  call->add_option("--threads", s->threads, "I/O threads for --load")->capture_default_str();
  call->callback([s] { throw CLI::RuntimeError(RunCallCommand(*s)); });
}

}  // namespace tempo::cli
