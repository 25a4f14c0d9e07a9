#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/engine/speech_engine.hpp"
#include "tempo/net/router.hpp"
#include "tempo/runtime/agent_directory.hpp"
#include "tempo/runtime/call_record.hpp"
#include "tempo/runtime/finished_calls.hpp"
#include "tempo/storage/object_store.hpp"

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace tempo::runtime {

class CallSession;

struct RuntimeOptions {
  /// Public base URL Twilio uses (https://voice.example.com, no trailing slash). Signatures
  /// are checked against it, never against the Host header.
  std::string public_url = "http://127.0.0.1:3000";
  /// Running calls keep their write-ahead transcript and partial recording in <data>/spool.
  std::filesystem::path data_dir = "./data";
  /// Agent audio is sent this far ahead of real time (Twilio buffers it) to absorb jitter.
  std::chrono::milliseconds playback_lead{60};
  /// Outbound media messages carry up to this many 20 ms frames (Twilio plays any size).
  /// Two halves the messages and timer wake-ups per call; the extra frame leaves 20 ms early,
  /// inside what Twilio buffers anyway.
  uint32_t frames_per_message = 2;
  /// A call whose peer sends more bad messages than this is ended (close 1008).
  uint32_t max_bad_messages = 50;
  /// After end_call/transfer, how long to wait for the goodbye to finish playing.
  std::chrono::milliseconds drain_timeout{10'000};
  /// An answered call whose media stream does not start within this is forgotten.
  std::chrono::milliseconds answer_ttl{60'000};
  /// Answered calls waiting for their stream, server-wide; past it new calls hear "busy".
  std::size_t max_pending_calls = 10'000;
  /// Calls one organisation may have at once (answered or streaming); past it its callers hear
  /// a polite "all lines are busy" and a hang-up, so one tenant cannot take the whole server.
  /// 0 = no limit. The operator's own agents (files, no organisation) are not limited.
  std::size_t max_calls_per_org = 100;
  /// Calls this server takes at once (answered or streaming), from what its file descriptors
  /// leave room for; past it every new call hears "busy" at the webhook, before anything
  /// could run short (a call without its write-ahead file). 0 = no limit.
  std::size_t max_calls = 0;
  /// Whether the memory left is below what a new call needs (read at each new call; empty:
  /// never). Past it new calls hear "busy" too, before the process could run out.
  std::function<bool()> memory_low;
};

/// Whether a new call may go ahead (see RuntimeOptions' limits).
enum class Admission : uint8_t { kAdmitted, kOrgAtLimit, kServerAtLimit, kMemoryLow };

/// What Twilio should do once the media stream has closed (answered on call-ended).
struct NextStep {
  enum class Kind { kHangup, kSayHangup, kDial, kVoicemail };
  Kind kind = Kind::kHangup;
  std::string say;     ///< spoken first (kSayHangup, kDial, kVoicemail)
  std::string target;  ///< kDial: E.164 number or sip: URI
};

/// The call side of the server: Twilio webhooks, media streams and call sessions.
///
///   POST /agent/{agentId}/incoming-call  -> TwiML <Connect><Stream> (signature checked)
///   WS   /agent/{agentId}/media-stream   -> a CallSession (signature checked before 101)
///   POST /agent/{agentId}/call-ended     -> the next TwiML (hang up, dial, voicemail)
///
/// Thread-safe. Must outlive the server that routes to it.
class Runtime {
 public:
  using RunBlocking = std::function<void(std::function<void()>)>;
  /// Indexes a finished call; an error (the database is down) means "try again later".
  using CallFinishedHook = std::function<Result<void>(const CallRecord&)>;

  Runtime(RuntimeOptions options, const AgentDirectory& agents, engine::EngineRegistry& engines,
          storage::ObjectStore& store, const Clock& clock, RunBlocking run_blocking);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  void AddRoutes(net::Router& router);
  /// Sets the public URL once it is known (e.g. after binding port 0). Call before serving.
  void SetPublicUrl(std::string url) { options_.public_url = std::move(url); }

  /// Turns the write-ahead files of calls cut short by a crash into transcript.json and
  /// metadata.json (status "recovered"), with whatever recording was written. Blocking; run
  /// at start-up before serving. Returns how many calls were recovered.
  Result<size_t> RecoverSpool();

  /// Ends every active call (server shutdown). Thread-safe.
  void Shutdown();
  [[nodiscard]] size_t active_calls() const;
  /// How many calls the server takes at once (0: no limit) and how many it holds now
  /// (answered and waiting for their stream, or streaming).
  struct Capacity {
    size_t max_calls = 0;
    size_t calls = 0;
  };
  [[nodiscard]] Capacity capacity() const;

  /// Called (on the blocking pool, or on the index queue's worker when a call is retried)
  /// after a call's artefacts are stored. Set once, before serving: from then on every
  /// finished call is kept in spool/finished until the hook has taken it.
  void SetCallFinishedHook(CallFinishedHook hook);
  /// Stops retrying uploads and the index (a last pass each); what is left waits for the
  /// next start. Call after the server stopped, before what the hook uses is destroyed.
  void StopIndexing() {
    uploads_.Stop();
    finished_.Stop();
  }

  /// Registers a call answered outside the webhook (e.g. the dashboard's browser call), so
  /// that its media stream's `start` is accepted.
  Admission ExpectCall(const AgentId& agent, const CallSid& call, std::string from, std::string to);

  /// Accepts a media stream that its caller has already authenticated another way (the
  /// dashboard's "talk to this agent": a logged-in user's session instead of a Twilio
  /// signature). Call ExpectCall for the stream's callSid first. Same CallSession, same
  /// artefacts, same call list as a phone call.
  std::shared_ptr<net::WebSocketListener> AcceptAuthenticatedStream(
      std::shared_ptr<const agent::AgentConfig> agent, std::shared_ptr<net::WebSocket> socket);

  // ---- used by CallSession ----
  struct AnsweredCall {
    AgentId agent_id;
    std::optional<OrgId> org;
    std::string from;
    std::string to;
    std::chrono::steady_clock::time_point answered_at;
  };
  std::optional<AnsweredCall> ClaimCall(const AgentId& agent, const CallSid& call);
  void SetNextStep(const CallSid& call, NextStep step);
  /// A claimed call's session starts: it counts against its organisation until Unregister.
  void Register(const std::shared_ptr<CallSession>& session, std::optional<OrgId> org);
  void Unregister(const CallSession* session);
  /// The call's artefacts are stored: records it for indexing, then `remove_wal` (the
  /// write-ahead file is no longer needed once the entry is on disk), then indexes it.
  void CallFinished(const CallRecord& record, const std::function<void()>& remove_wal);
  /// Stores a call's three artefacts: the recording from `wav` when it exists (else, when
  /// `recording_may_be_stored`, whatever an earlier attempt stored), the transcript (status
  /// "recovered" for an interrupted call, else "complete") and metadata.json. Blocking.
  /// On success `record` says what was stored (has_recording, has_transcript).
  Result<void> StoreArtifacts(CallRecord& record, const std::filesystem::path& wav,
                              bool recording_may_be_stored);
  /// Storing failed (the object store is down): the call is kept in spool/upload and stored
  /// (then indexed) by a worker that retries with backoff while the server runs; `remove_wal`
  /// runs once it is kept there.
  void CallNotStored(const CallRecord& record, const std::function<void()>& remove_wal);
  [[nodiscard]] const RuntimeOptions& options() const { return options_; }
  [[nodiscard]] engine::EngineRegistry& engines() { return engines_; }
  [[nodiscard]] storage::ObjectStore& store() { return store_; }
  [[nodiscard]] const Clock& clock() const { return clock_; }
  void Blocking(std::function<void()> fn) { run_blocking_(std::move(fn)); }
  [[nodiscard]] std::filesystem::path SpoolDir() const { return options_.data_dir / "spool"; }
  /// Calls whose write-ahead file is still in the spool (recovered at the next start).
  [[nodiscard]] size_t SpoolBacklog() const;
  /// Finished calls not indexed yet (retried while serving, resumed at the next start).
  [[nodiscard]] size_t IndexBacklog() const { return finished_.Backlog(); }
  /// Finished calls whose artefacts are not stored yet (retried while serving).
  [[nodiscard]] size_t UploadBacklog() const { return uploads_.Backlog(); }

 private:
  net::Response IncomingCall(const net::Request& request);
  net::Response CallEnded(const net::Request& request);
  net::UpgradeDecision MediaStream(const net::Request& request,
                                   std::shared_ptr<net::WebSocket> socket);
  /// Checks X-Twilio-Signature of a form webhook; nullopt when valid, else the response.
  std::optional<net::Response> CheckSignature(
      const agent::AgentConfig& agent, const net::Request& request, const std::string& url,
      const std::vector<std::pair<std::string, std::string>>& params);
  std::string WsBase() const;
  void ForgetExpired(std::chrono::steady_clock::time_point now);
  Admission AdmitLocked(const std::optional<OrgId>& org) const;
  void ReleaseLocked(const std::optional<OrgId>& org);
  // The tempo_calls_headroom gauge, from the calls answered or streaming (mutex_ held).
  void UpdateHeadroomLocked() const;

  RuntimeOptions options_;
  const AgentDirectory& agents_;
  engine::EngineRegistry& engines_;
  storage::ObjectStore& store_;
  const Clock& clock_;
  RunBlocking run_blocking_;

  using SteadyTime = std::chrono::steady_clock::time_point;
  mutable std::mutex mutex_;
  // Answered calls by sid (O(1) look-up), and the same sids in answer order: times only grow,
  // so expiry pops from the front instead of scanning (a refreshed entry leaves a stale one
  // behind, recognised by its time).
  std::unordered_map<CallSid, AnsweredCall> answered_;
  std::deque<std::pair<SteadyTime, CallSid>> answered_order_;
  std::unordered_map<CallSid, std::pair<NextStep, SteadyTime>> next_steps_;
  std::deque<std::pair<SteadyTime, CallSid>> next_step_order_;
  struct Live {
    std::weak_ptr<CallSession> session;
    std::optional<OrgId> org;
  };
  std::map<const CallSession*, Live> sessions_;
  std::unordered_map<OrgId, std::size_t> org_calls_;  // answered + streaming, per organisation
  bool shutting_down_ = false;
  // Last: their workers use everything above, so they stop before it is destroyed. Uploads
  // hand calls on to the index queue: declared after it, stopped before it.
  FinishedCalls finished_;  // spool/finished: stored, waiting to be indexed
  FinishedCalls uploads_;   // spool/upload: not stored yet (the object store was down)
};

}  // namespace tempo::runtime
