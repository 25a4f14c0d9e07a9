#pragma once

#include "tempo/base/result.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tempo::caller {

// What a TwiML document asks Twilio to do, as the caller follows it. Only the attributes the
// caller acts on or reports are kept. Methods default to "POST", as Twilio's do.

struct SayVerb {
  std::string text;
  std::string voice;
  std::string language;
  int loop = 1;
};

struct PlayVerb {
  std::string url;
};

struct PauseVerb {
  int length_s = 1;
};

struct HangupVerb {};

struct RejectVerb {
  std::string reason;  ///< "rejected" (default) or "busy"
};

struct RedirectVerb {
  std::string url;
  std::string method = "POST";
};

/// One <Number>, <Sip>, <Client>, <Conference> or <Queue> of <Dial>, or its bare text.
struct DialTarget {
  enum class Kind { kNumber, kSip, kClient, kConference, kQueue };
  Kind kind = Kind::kNumber;
  std::string value;
};

struct DialVerb {
  std::string action;
  std::string method = "POST";
  std::string caller_id;
  std::optional<int> timeout_s;
  std::vector<DialTarget> targets;
};

struct RecordVerb {
  std::string action;
  std::string method = "POST";
  std::optional<int> max_length_s;
  std::optional<int> timeout_s;
  std::string finish_on_key;
  bool play_beep = true;
};

struct StreamNoun {
  std::string url;
  std::string name;
  std::string track;
  std::string status_callback;
  std::vector<std::pair<std::string, std::string>> parameters;  ///< <Parameter> in order
};

/// <Connect> with its <Stream> (the bidirectional media stream), if any.
struct ConnectVerb {
  std::string action;
  std::string method = "POST";
  std::optional<StreamNoun> stream;
};

/// <Gather> (its nested <Say> texts are kept for the report).
struct GatherVerb {
  std::string action;
  std::vector<std::string> prompts;
};

/// A verb the caller does not model (<Start>, <Enqueue>, <Leave>, <Sms>, ...): skipped.
struct OtherVerb {
  std::string name;
};

using Verb = std::variant<SayVerb, PlayVerb, PauseVerb, HangupVerb, RejectVerb, RedirectVerb,
                          DialVerb, RecordVerb, ConnectVerb, GatherVerb, OtherVerb>;

struct TwimlDocument {
  std::vector<Verb> verbs;
  /// Things Twilio would reject or that are known traps (a Stream URL with a query string, a
  /// <Parameter> of 500+ characters, <Record> without action, ...). The document still runs.
  std::vector<std::string> warnings;
};

/// Largest document accepted (Twilio caps TwiML at 64 KB).
inline constexpr std::size_t kMaxTwimlBytes = 64 * 1024;

/// Parses a TwiML voice response. Sans-I/O and safe on hostile input: no DTD or entity
/// expansion, bounded size, verbs read only at depth 1-3.
/// Errors: kInvalidArgument if the document is larger than kMaxTwimlBytes, is not well-formed
/// XML, or its root element is not <Response>. Thread-safe.
Result<TwimlDocument> ParseTwiml(std::string_view xml);

/// One line describing a verb for reports: `Say "Hello"`, `Dial +15550100 (action …)`.
std::string Describe(const Verb& verb);

}  // namespace tempo::caller
