#include "tempo/caller/report.hpp"

#include "tempo/base/json_text.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace tempo::caller {
namespace {

using nlohmann::json;

double Ms(int64_t micros) { return static_cast<double>(micros) / 1000.0; }

json LatencyJson(const LatencySummary& l) {
  return json{{"frames", l.frames}, {"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms},
              {"p99_ms", l.p99_ms}, {"max_ms", l.max_ms}, {"late_frames", l.late_frames}};
}

std::string LatencyText(const LatencySummary& l) {
  if (l.frames == 0) return "no agent frames";
  return fmt::format(
      "p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms; {} late (> 20 ms) "
      "of {}",
      l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.late_frames, l.frames);
}

double DurationMs(Clock::Steady::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

/// μ-law bytes (8 kHz) as milliseconds of audio.
double AudioMs(uint64_t bytes) { return static_cast<double>(bytes) / 8.0; }

json BargeInsJson(const std::vector<BargeIn>& barge_ins) {
  json out = json::array();
  for (const auto& b : barge_ins) {
    out.push_back(
        {{"turn", b.turn},
         {"interrupt_after_ms", b.interrupt_after.count()},
         {"agent_was_speaking", b.agent_was_speaking},
         {"clear_ms", b.clear_latency ? json(DurationMs(*b.clear_latency)) : json(nullptr)},
         {"agent_audio_after_clear_ms", AudioMs(b.agent_bytes_after_clear)}});
  }
  return out;
}

std::string BargeInText(const BargeIn& b) {
  std::string out =
      fmt::format("  turn {}, after {} ms of agent audio: ", b.turn, b.interrupt_after.count());
  out += b.agent_was_speaking ? "the agent was speaking; " : "the agent was not speaking; ";
  if (!b.clear_latency) return out + "no clear while the turn was spoken\n";
  return out + fmt::format(
                   "clear after {:.1f} ms, then {:.1f} ms of agent audio while the caller "
                   "spoke\n",
                   DurationMs(*b.clear_latency), AudioMs(b.agent_bytes_after_clear));
}

std::string OutcomeText(const CallReport& r) {
  switch (r.outcome) {
    case CallOutcome::kCallerHungUp:
      return "the caller hung up (" + r.hangup_reason + ")";
    case CallOutcome::kAgentHungUp:
      return "the agent hung up (<Hangup/>)";
    case CallOutcome::kTransferred:
      return "transferred to " + r.transfer_target + " (<Dial>)";
    case CallOutcome::kVoicemail:
      return "sent to voicemail (<Record>)";
    case CallOutcome::kRejected:
      return "rejected (<Reject>)";
    case CallOutcome::kTwimlEnded:
      return "the TwiML ran out of verbs";
    case CallOutcome::kFailed:
      return "FAILED: " + r.error;
  }
  return "unknown";
}

}  // namespace

std::string_view ToString(CallOutcome outcome) {
  switch (outcome) {
    case CallOutcome::kCallerHungUp:
      return "caller_hung_up";
    case CallOutcome::kAgentHungUp:
      return "agent_hung_up";
    case CallOutcome::kTransferred:
      return "transferred";
    case CallOutcome::kVoicemail:
      return "voicemail";
    case CallOutcome::kRejected:
      return "rejected";
    case CallOutcome::kTwimlEnded:
      return "twiml_ended";
    case CallOutcome::kFailed:
      return "failed";
  }
  return "failed";
}

LatencySummary LatencySummary::From(const LatencyHistogram& h, uint64_t late_frames) {
  LatencySummary s;
  s.frames = h.count();
  s.p50_ms = Ms(h.Percentile(0.50));
  s.p90_ms = Ms(h.Percentile(0.90));
  s.p99_ms = Ms(h.Percentile(0.99));
  s.max_ms = Ms(h.max());
  s.late_frames = late_frames;
  return s;
}

uint64_t CallReport::violation_count() const {
  uint64_t total = 0;
  for (const auto& v : violations) total += v.count;
  return total;
}

std::string ToJson(const CallReport& r) {
  json violations = json::array();
  for (const auto& v : r.violations) {
    violations.push_back(
        {{"kind", ToString(v.kind)}, {"count", v.count}, {"first", v.first_detail}});
  }
  json out{
      {"call_sid", r.call_sid},
      {"stream_sid", r.stream_sid},
      {"outcome", ToString(r.outcome)},
      {"verbs", r.verbs},
      {"twiml_warnings", r.twiml_warnings},
      {"duration_s", r.duration_s},
      {"stream_duration_s", r.stream_duration_s},
      {"frames_sent", r.stats.frames_sent},
      {"frames_received", r.stats.media_received},
      {"first_agent_audio_ms",
       r.stats.first_agent_audio ? json(DurationMs(*r.stats.first_agent_audio)) : json(nullptr)},
      {"dtmf_sent", r.stats.dtmf_sent},
      {"turns_spoken", r.stats.turns_spoken},
      {"marks_received", r.stats.marks_received},
      {"marks_echoed", r.stats.marks_echoed},
      {"clears", r.stats.clears},
      {"barge_ins", BargeInsJson(r.stats.barge_ins)},
      {"agent_audio_s", r.agent_audio_s},
      {"latency", LatencyJson(r.latency)},
      {"violations", violations},
      {"stream_closed_by_server", r.stream_closed_by_server},
  };
  if (!r.hangup_reason.empty()) out["hangup_reason"] = r.hangup_reason;
  if (!r.transfer_target.empty()) out["transfer_target"] = r.transfer_target;
  if (!r.error.empty()) out["error"] = r.error;
  if (!r.reject_reason.empty()) out["reject_reason"] = r.reject_reason;
  if (r.close_code) out["close_code"] = *r.close_code;
  return DumpJson(out, 2);
}

std::string ToText(const CallReport& r) {
  std::string out = fmt::format("Call {}", r.call_sid);
  if (!r.stream_sid.empty()) out += fmt::format(" (stream {})", r.stream_sid);
  out += "\nTwiML followed:\n";
  if (r.verbs.empty()) out += "  (none)\n";
  for (std::size_t i = 0; i < r.verbs.size(); ++i) {
    out += fmt::format("  {}. {}\n", i + 1, r.verbs[i]);
  }
  for (const auto& w : r.twiml_warnings) out += "  warning: " + w + "\n";
  out += fmt::format("Ended: {} after {:.1f} s", OutcomeText(r), r.duration_s);
  if (r.close_code) {
    out += fmt::format(" (stream closed by {} with {})",
                       r.stream_closed_by_server ? "the server" : "the caller", *r.close_code);
  }
  out += "\n";
  out +=
      fmt::format("Media: {} frames sent ({} turns, {} DTMF), {} received; agent audio {:.2f} s\n",
                  r.stats.frames_sent, r.stats.turns_spoken, r.stats.dtmf_sent,
                  r.stats.media_received, r.agent_audio_s);
  out += fmt::format("Marks: {} received, {} echoed; clears: {}\n", r.stats.marks_received,
                     r.stats.marks_echoed, r.stats.clears);
  if (!r.stats.barge_ins.empty()) {
    out += fmt::format("Barge-ins: {}\n", r.stats.barge_ins.size());
    for (const auto& b : r.stats.barge_ins) out += BargeInText(b);
  }
  out += "Agent frame latency: " + LatencyText(r.latency) + "\n";
  if (r.violations.empty()) {
    out += "Protocol violations: none\n";
  } else {
    out += fmt::format("Protocol violations: {}\n", r.violation_count());
    for (const auto& v : r.violations) {
      out += fmt::format("  {} x{}: {}\n", ToString(v.kind), v.count, v.first_detail);
    }
  }
  return out;
}

std::string ToJson(const LoadReport& r) {
  json out{
      {"calls_requested", r.calls_requested},
      {"calls_started", r.calls_started},
      {"calls_streamed", r.calls_streamed},
      {"calls_completed", r.calls_completed},
      {"calls_failed", r.calls_failed},
      {"calls_refused", r.calls_refused},
      {"refusals", r.refusals},
      {"duration_s", r.duration_s},
      {"stopped_early", r.stopped_early},
      {"frames_sent", r.frames_sent},
      {"frames_received", r.frames_received},
      {"marks_echoed", r.marks_echoed},
      {"clears", r.clears},
      {"agent_audio_s", r.agent_audio_s},
      {"violations", r.violations},
      {"violation_kinds", r.violation_kinds},
      {"latency", LatencyJson(r.latency)},
      {"errors", r.errors},
      {"outcomes", r.outcomes},
  };
  return DumpJson(out, 2);
}

std::string ToText(const LoadReport& r) {
  std::string out = fmt::format(
      "Load: {} calls requested, {} started, {} streamed, {} completed, {} failed, {} refused "
      "in {:.1f} s\n",
      r.calls_requested, r.calls_started, r.calls_streamed, r.calls_completed, r.calls_failed,
      r.calls_refused, r.duration_s);
  for (const auto& [reason, n] : r.refusals) out += fmt::format("  refused ({}): {}\n", reason, n);
  if (r.stopped_early) out += "Stopped early by a signal: every call was hung up.\n";
  out += fmt::format(
      "Media: {} frames sent, {} received; agent audio {:.1f} s; {} marks echoed, "
      "{} clears\n",
      r.frames_sent, r.frames_received, r.agent_audio_s, r.marks_echoed, r.clears);
  out += "Agent frame latency: " + LatencyText(r.latency) + "\n";
  for (const auto& [outcome, n] : r.outcomes) out += fmt::format("  ended {}: {}\n", outcome, n);
  out += fmt::format("Protocol violations: {}\n", r.violations);
  for (const auto& [kind, n] : r.violation_kinds) out += fmt::format("  {}: {}\n", kind, n);
  for (const auto& [error, n] : r.errors) out += fmt::format("Error x{}: {}\n", n, error);
  return out;
}

}  // namespace tempo::caller
