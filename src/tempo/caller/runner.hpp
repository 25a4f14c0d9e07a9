#pragma once

#include "tempo/base/secret.hpp"
#include "tempo/caller/report.hpp"
#include "tempo/caller/session.hpp"
#include "tempo/caller/webhook.hpp"
#include "tempo/net/client.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace tempo::caller {

/// Everything one simulated call needs.
struct CallConfig {
  std::string webhook_url;  ///< the number's voice URL: .../agent/{id}/incoming-call
  TwilioAuthToken auth_token;
  CallIdentity identity;  ///< an empty call_sid gets a random one per call
  /// Script, DTMF, pacing and time limits; the SIDs and custom parameters are filled in.
  SessionOptions session;
  net::TlsVerify tls_verify = net::TlsVerify::kVerifyPeer;
  /// Documents fetched per call (the first one, redirects and actions); protects against loops.
  int max_documents = 16;
  std::optional<std::filesystem::path> record_agent;   ///< mono 8 kHz WAV of the agent
  std::optional<std::filesystem::path> record_stereo;  ///< caller left, agent right
};

/// Runs one call on `context` (whose Run() the caller drives): the signed voice webhook, the
/// TwiML it answers, the media stream, the actions after it. `done` runs once, on the call's
/// executor. Returns a handle that can ask the caller to hang up early (thread-safe).
class CallHandle {
 public:
  virtual ~CallHandle() = default;
  /// The caller hangs up now (sends `stop`, closes); before the stream opens the call is
  /// abandoned after the current request.
  virtual void RequestHangup() = 0;
};
std::shared_ptr<CallHandle> StartCall(net::ClientContext& context, CallConfig config,
                                      std::function<void(CallReport)> done,
                                      std::function<void(Clock::Steady::duration)> on_latency = {});

/// Runs one call to its end on its own client context and returns the report (the recordings
/// are written before it returns; a recording failure is reported in `error` of a call that
/// otherwise succeeded).
CallReport RunCall(CallConfig config);

struct LoadConfig {
  CallConfig call;  ///< the template: each call gets its own CallSid; no recordings
  unsigned calls = 10;
  std::chrono::milliseconds duration{30'000};
  std::chrono::milliseconds ramp{0};  ///< call i starts at i * ramp / calls
  unsigned threads = 1;
  /// Set from anywhere (a SIGTERM or SIGINT handler) to end the load early, the same way its
  /// duration ends it: every call hangs up (`stop`, then a close), the calls get the same
  /// grace to finish, and the report follows with `stopped_early`.
  const std::atomic<bool>* stop = nullptr;
};

/// Runs `calls` concurrent calls for `duration` in this process and aggregates their reports.
LoadReport RunLoad(LoadConfig config);

}  // namespace tempo::caller
