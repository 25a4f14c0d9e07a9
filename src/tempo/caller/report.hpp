#pragma once

#include "tempo/caller/latency.hpp"
#include "tempo/caller/session.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tempo::caller {

/// How a call ended.
enum class CallOutcome {
  kCallerHungUp,  ///< the script finished, --hangup-after or --max-duration
  kAgentHungUp,   ///< TwiML <Hangup/>
  kTransferred,   ///< TwiML <Dial>
  kVoicemail,     ///< TwiML <Record>
  kRejected,      ///< TwiML <Reject>
  kTwimlEnded,    ///< no verb left (Twilio ends the call)
  kFailed,        ///< webhook, TwiML or WebSocket failure
};
std::string_view ToString(CallOutcome outcome);

/// Latency summary of received agent frames (see BurstLatencyTracker), in milliseconds.
struct LatencySummary {
  uint64_t frames = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  uint64_t late_frames = 0;
  static LatencySummary From(const LatencyHistogram& histogram, uint64_t late_frames);
};

struct CallReport {
  std::string call_sid;
  std::string stream_sid;
  std::vector<std::string> verbs;  ///< every TwiML verb followed, described
  std::vector<std::string> twiml_warnings;
  CallOutcome outcome = CallOutcome::kFailed;
  std::string hangup_reason;           ///< for kCallerHungUp: script_done, hangup_after, ...
  std::string transfer_target;         ///< for kTransferred: the first <Dial> target
  std::string error;                   ///< for kFailed
  std::string reject_reason;           ///< for kRejected: "busy" or "rejected"
  bool stream_opened = false;          ///< a media stream WebSocket was established
  std::optional<uint16_t> close_code;  ///< of the media stream WebSocket
  bool stream_closed_by_server = false;
  double duration_s = 0;         ///< from the webhook to the end
  double stream_duration_s = 0;  ///< while the media stream was open
  SessionStats stats;
  double agent_audio_s = 0;
  std::vector<ViolationRecord> violations;
  LatencySummary latency;

  /// Violations counted over all kinds.
  [[nodiscard]] uint64_t violation_count() const;
};

struct LoadReport {
  uint64_t calls_requested = 0;
  uint64_t calls_started = 0;    ///< the webhook was sent
  uint64_t calls_streamed = 0;   ///< the media stream opened
  uint64_t calls_completed = 0;  ///< ended without a failure (refusals not included)
  uint64_t calls_failed = 0;
  /// The server refused them at the webhook (TwiML <Reject>): busy, or rejected.
  uint64_t calls_refused = 0;
  std::map<std::string, uint64_t> refusals;  ///< reason ("busy", "rejected") -> count
  double duration_s = 0;
  bool stopped_early = false;  ///< ended by LoadConfig::stop (a signal) before its duration
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t marks_echoed = 0;
  uint64_t clears = 0;
  double agent_audio_s = 0;
  uint64_t violations = 0;
  LatencySummary latency;
  std::map<std::string, uint64_t> errors;  ///< failure message -> count
  std::map<std::string, uint64_t> violation_kinds;
  std::map<std::string, uint64_t> outcomes;
};

std::string ToJson(const CallReport& report);
std::string ToText(const CallReport& report);
std::string ToJson(const LoadReport& report);
std::string ToText(const LoadReport& report);

}  // namespace tempo::caller
