#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tempo::twilio {

/// Which audio a `media` message carries (media.track, and start.tracks entries).
enum class Track { kInbound, kOutbound };

// ---- Twilio -> server -------------------------------------------------------------------
// Counters (sequenceNumber, chunk, timestamp) travel as JSON strings of decimal digits; the
// parser also accepts non-negative JSON integers for them. Unknown extra fields are ignored
// so that Twilio can add fields without breaking us.

/// {"event":"connected","protocol":"Call","version":"1.0.0"}: the first message.
struct ConnectedMessage {
  std::string protocol;
  std::string version;
  friend bool operator==(const ConnectedMessage&, const ConnectedMessage&) = default;
};

struct MediaFormat {
  std::string encoding;  ///< "audio/x-mulaw"
  int sample_rate = 0;   ///< 8000
  int channels = 0;      ///< 1
  friend bool operator==(const MediaFormat&, const MediaFormat&) = default;
};

/// `start`: once, right after `connected`. `stream_sid` is start.streamSid (the top-level
/// streamSid, when present, must be the same).
struct StartMessage {
  uint64_t sequence_number = 0;
  StreamSid stream_sid;
  AccountSid account_sid;
  CallSid call_sid;
  std::vector<Track> tracks;
  MediaFormat media_format;
  std::map<std::string, std::string> custom_parameters;  ///< from TwiML <Parameter>
  friend bool operator==(const StartMessage&, const StartMessage&) = default;
};

/// `media`: one chunk of raw mu-law audio (decoded from base64).
struct MediaMessage {
  uint64_t sequence_number = 0;
  StreamSid stream_sid;
  Track track = Track::kInbound;
  uint64_t chunk = 0;
  uint64_t timestamp_ms = 0;  ///< from the start of the stream; gaps mean lost audio
  std::vector<uint8_t> payload;
  friend bool operator==(const MediaMessage&, const MediaMessage&) = default;
};

/// `dtmf`: a key press (bidirectional streams only).
struct DtmfMessage {
  uint64_t sequence_number = 0;
  StreamSid stream_sid;
  std::string track;  ///< "inbound_track"
  char digit = '0';   ///< one of 0-9 * # A-D
  friend bool operator==(const DtmfMessage&, const DtmfMessage&) = default;
};

/// `mark` from Twilio: the audio before our mark of that name has been played (or cleared).
struct MarkMessage {
  uint64_t sequence_number = 0;
  StreamSid stream_sid;
  std::string name;
  friend bool operator==(const MarkMessage&, const MarkMessage&) = default;
};

/// `stop`: the stream stopped or the call ended.
struct StopMessage {
  uint64_t sequence_number = 0;
  StreamSid stream_sid;
  AccountSid account_sid;
  CallSid call_sid;
  friend bool operator==(const StopMessage&, const StopMessage&) = default;
};

using InboundEvent = std::variant<ConnectedMessage, StartMessage, MediaMessage, DtmfMessage,
                                  MarkMessage, StopMessage>;

// ---- server -> Twilio -------------------------------------------------------------------

/// Audio to play: raw mu-law 8 kHz, no file header, any length.
struct OutboundMedia {
  StreamSid stream_sid;
  std::vector<uint8_t> payload;
  friend bool operator==(const OutboundMedia&, const OutboundMedia&) = default;
};

/// Ask Twilio to echo `name` once the audio sent before it has played.
struct OutboundMark {
  StreamSid stream_sid;
  std::string name;
  friend bool operator==(const OutboundMark&, const OutboundMark&) = default;
};

/// Drop all buffered audio; Twilio then echoes every pending mark.
struct ClearMessage {
  StreamSid stream_sid;
  friend bool operator==(const ClearMessage&, const ClearMessage&) = default;
};

using OutboundEvent = std::variant<OutboundMedia, OutboundMark, ClearMessage>;

// ---- parsing ----------------------------------------------------------------------------

/// Default cap on a decoded media payload. Twilio sends 160 bytes per inbound message; ours
/// to Twilio may be larger (any length is allowed) but we bound what we accept from a peer.
inline constexpr size_t kDefaultMaxPayloadBytes = 16 * 1024;

struct ParseOptions {
  size_t max_payload_bytes = kDefaultMaxPayloadBytes;
};

/// Parses one Twilio -> server text frame.
/// Errors (messages name the field): kProtocol for non-JSON, a non-object, a missing or
/// unknown `event`, missing fields, wrong field types, bad counters, a bad track or digit,
/// bad base64; kResourceExhausted for a payload above `options.max_payload_bytes`.
/// `media` frames take a fast path that does not build a JSON DOM. Thread-safe.
Result<InboundEvent> ParseInbound(std::string_view text, const ParseOptions& options = {});

/// Hot-path form of ParseInbound: writes into `event`, reusing its storage. When `event`
/// already holds a MediaMessage and `text` is a media frame, its payload buffer is reused and
/// an unchanged streamSid is not reallocated, so steady-state media parsing does not allocate.
/// On error `event` holds an unspecified valid value.
Result<void> ParseInboundInto(std::string_view text, InboundEvent& event,
                              const ParseOptions& options = {});

/// Parses one server -> Twilio frame (used by our Twilio-side client and by tests). Strict,
/// as Twilio is: extra fields are an error (Twilio reports them as 31951).
Result<OutboundEvent> ParseOutbound(std::string_view text, const ParseOptions& options = {});

/// What was wrong with a frame the parsers above refused, for metrics and reports.
enum class FrameFault : uint8_t {
  kTooLarge,      ///< a payload above the limit
  kNotJson,       ///< not JSON, or not a JSON object
  kBadBase64,     ///< a payload that is not base64
  kUnknownEvent,  ///< an `event` we do not know
  kBadSid,        ///< a start/stop whose callSid, streamSid or accountSid is not Twilio's form
  kMalformed,     ///< anything else: missing or extra fields, wrong types, bad values
};
/// "payload_too_large", "not_json", "bad_base64", "unknown_event", "bad_sid", "malformed".
std::string_view ToString(FrameFault fault);
/// The fault behind an error of ParseInbound / ParseInboundInto / ParseOutbound. The parsers'
/// messages are this module's own, so the mapping lives here, next to them (tests pin it).
FrameFault FaultOf(const Error& parse_error);

// ---- serialization ----------------------------------------------------------------------
// Output is compact JSON with the field order of Twilio's documentation. Strings are escaped
// as JSON requires; they must be valid UTF-8 for the output to be valid JSON.

/// Appends the JSON of `event` to `out`.
void SerializeTo(const InboundEvent& event, std::string& out);
void SerializeTo(const OutboundEvent& event, std::string& out);
std::string Serialize(const InboundEvent& event);
std::string Serialize(const OutboundEvent& event);

/// Hot path: replaces the contents of `out` with an outbound media message. With enough
/// capacity in `out` it does not allocate.
void WriteOutboundMedia(std::string_view stream_sid, std::span<const uint8_t> payload,
                        std::string& out);

namespace detail {

/// The two parsers behind ParseInbound, exposed so tests and fuzzers can check that they
/// agree. ParseInboundGeneral always decides (it uses a JSON DOM). ParseMediaFast decides only
/// plain `media` frames and returns nullopt ("not mine") for anything else; when it decides,
/// its answer (value or error) must equal ParseInboundGeneral's.
Result<InboundEvent> ParseInboundGeneral(std::string_view text, const ParseOptions& options);
std::optional<Result<void>> ParseMediaFast(std::string_view text, MediaMessage& media,
                                           const ParseOptions& options);

}  // namespace detail

}  // namespace tempo::twilio
