#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tempo::twilio {

/// HTTP method for TwiML callback attributes (`method`, `statusCallbackMethod`...).
enum class HttpMethod { kGet, kPost };

/// <Reject reason=...>.
enum class RejectReason { kRejected, kBusy };

// Option structs: an empty string or an unset optional omits the attribute, so Twilio's own
// default applies. Attributes are written in the order the fields are declared.

struct SayOptions {
  std::string voice{};     ///< e.g. "alice", "Polly.Joanna"
  std::string language{};  ///< e.g. "en-US"
  std::optional<int> loop{};
};

/// A <Say> nested in <Gather>.
struct Speech {
  std::string text{};
  SayOptions options;
};

struct PlayOptions {
  std::optional<int> loop{};
  std::string digits{};
};

struct RedirectOptions {
  std::optional<HttpMethod> method{};
};

struct ConnectOptions {
  std::string action{};  ///< requested when the stream ends; always set one for transfers
  std::optional<HttpMethod> method{};
};

/// <Parameter name value/> inside <Stream>; arrives in start.customParameters.
struct StreamParameter {
  std::string name{};
  std::string value{};
};

struct StreamOptions {
  std::string url{};  ///< wss:// only, no query string (Twilio drops it)
  std::string name{};
  std::string track{};  ///< inbound_track | outbound_track | both_tracks
  std::string status_callback{};
  std::optional<HttpMethod> status_callback_method{};
  std::vector<StreamParameter> parameters{};
};

struct DialOptions {
  std::string action{};
  std::optional<HttpMethod> method{};
  std::optional<int> timeout_s{};
  std::optional<bool> hangup_on_star{};
  std::optional<int> time_limit_s{};
  std::string caller_id{};
  std::string record{};  ///< do-not-record | record-from-answer | record-from-ringing | ...-dual
  std::string trim{};
  std::string recording_status_callback{};
  std::optional<HttpMethod> recording_status_callback_method{};
  std::string recording_status_callback_event{};
  std::optional<bool> answer_on_bridge{};
  std::string ring_tone{};
};

/// <Number> noun of <Dial>.
struct DialNumber {
  std::string number{};  ///< E.164
  std::string send_digits{};
  std::string url{};
  std::optional<HttpMethod> method{};
  std::string status_callback_event{};
  std::string status_callback{};
  std::optional<HttpMethod> status_callback_method{};
  std::string machine_detection{};  ///< Enable | DetectMessageEnd
  std::optional<int> machine_detection_timeout_s{};
  std::string amd_status_callback{};
  std::optional<HttpMethod> amd_status_callback_method{};
};

/// <Sip> noun of <Dial>.
struct DialSip {
  std::string uri{};  ///< sip:user@host;transport=tls (custom headers as ?X-Name=value)
  std::string username{};
  std::string password{};
  std::string url{};
  std::optional<HttpMethod> method{};
  std::string status_callback_event{};
  std::string status_callback{};
  std::optional<HttpMethod> status_callback_method{};
  std::string machine_detection{};
  std::optional<int> machine_detection_timeout_s{};
};

using DialTarget = std::variant<DialNumber, DialSip>;

struct RecordOptions {
  std::string action{};  ///< always set it: without one Twilio re-requests the current URL
  std::optional<HttpMethod> method{};
  std::optional<int> timeout_s{};
  std::string finish_on_key{};
  std::optional<int> max_length_s{};
  std::optional<bool> play_beep{};
  std::string trim{};
  std::string recording_status_callback{};
  std::optional<HttpMethod> recording_status_callback_method{};
  std::string recording_status_callback_event{};
  std::optional<bool> transcribe{};
  std::string transcribe_callback{};
};

struct GatherOptions {
  std::string input{};  ///< dtmf | speech | "dtmf speech"
  std::optional<int> num_digits{};
  std::string action{};
  std::optional<HttpMethod> method{};
  std::optional<int> timeout_s{};
  std::string finish_on_key{};
  std::string speech_timeout{};
  std::string language{};
  std::string hints{};
};

/// Builds a TwiML document for a voice webhook response. Text and attribute values are
/// XML-escaped (& < > " '); bytes that XML 1.0 cannot carry (C0 controls other than tab, CR,
/// LF) are dropped and malformed UTF-8 becomes U+FFFD, so the output is always well-formed.
/// Not thread-safe (a plain value; build it on one thread).
///
///   TwimlResponse r;
///   r.Say("Connecting you", {.voice = "alice"}).Dial({.timeout_s = 20}, {DialNumber{"+1..."}});
///   std::string xml = r.ToXml();
class TwimlResponse {
 public:
  TwimlResponse& Say(std::string_view text, const SayOptions& options = {});
  TwimlResponse& Play(std::string_view url, const PlayOptions& options = {});
  TwimlResponse& Pause(std::optional<int> length_s = std::nullopt);
  TwimlResponse& Hangup();
  TwimlResponse& Reject(std::optional<RejectReason> reason = std::nullopt);
  TwimlResponse& Redirect(std::string_view url, const RedirectOptions& options = {});
  /// <Connect ...><Stream ...><Parameter .../>...</Stream></Connect> (bidirectional stream).
  TwimlResponse& ConnectStream(const ConnectOptions& connect, const StreamOptions& stream);
  /// <Dial ...> with one <Number> or <Sip> child per target (Twilio allows up to 10 numbers,
  /// or a single <Sip>).
  TwimlResponse& Dial(const DialOptions& options, const std::vector<DialTarget>& targets);
  TwimlResponse& Record(const RecordOptions& options = {});
  /// <Gather ...> with the nested <Say> prompts.
  TwimlResponse& Gather(const GatherOptions& options, const std::vector<Speech>& prompts = {});

  /// The complete document: XML declaration followed by <Response>...</Response>.
  [[nodiscard]] std::string ToXml() const;

 private:
  std::string body_{};
};

}  // namespace tempo::twilio
