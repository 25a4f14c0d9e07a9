#include "tempo/twilio/media_stream.hpp"

#include "tempo/base/base64.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/twilio/ids.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace tempo::twilio {
namespace {

using Json = nlohmann::json;

// ---- shared field semantics (both parsers go through these, so they agree) --------------

// Frames come from a peer and may end up in logs: quote at most a short prefix.
std::string Quote(std::string_view text) {
  constexpr size_t kMax = 32;
  std::string out = "'";
  for (const char c : text.substr(0, kMax)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u >= 0x20 && u < 0x7F ? c : '?');
  }
  if (text.size() > kMax) out.append("...");
  out.push_back('\'');
  return out;
}

Result<uint64_t> ParseCounter(std::optional<std::string_view> text, std::string_view field) {
  if (!text) return ProtocolError(fmt::format("{} is missing", field));
  uint64_t value = 0;
  const char* begin = text->data();
  const char* end = begin + text->size();
  if (text->empty() || (*begin < '0' || *begin > '9')) {
    return ProtocolError(fmt::format("{} is not a decimal counter: {}", field, Quote(*text)));
  }
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec == std::errc::result_out_of_range) {
    return ProtocolError(fmt::format("{} is out of range: {}", field, Quote(*text)));
  }
  if (ec != std::errc() || ptr != end) {
    return ProtocolError(fmt::format("{} is not a decimal counter: {}", field, Quote(*text)));
  }
  return value;
}

Result<Track> ParseTrack(std::string_view text, std::string_view field) {
  if (text == "inbound") return Track::kInbound;
  if (text == "outbound") return Track::kOutbound;
  return ProtocolError(fmt::format("{} is not inbound or outbound: {}", field, Quote(text)));
}

std::string_view ToString(Track track) { return track == Track::kInbound ? "inbound" : "outbound"; }

Result<void> DecodePayload(std::optional<std::string_view> text, std::string_view field,
                           const ParseOptions& options, std::vector<uint8_t>& out) {
  if (!text) return ProtocolError(fmt::format("{} is missing", field));
  const auto size = base64::DecodedSize(*text);
  if (!size) {
    return ProtocolError(fmt::format("{} is not valid base64: {}", field, size.error().message));
  }
  if (*size > options.max_payload_bytes) {
    return ResourceExhausted(fmt::format("{} decodes to {} bytes, above the limit of {}", field,
                                         *size, options.max_payload_bytes));
  }
  if (auto decoded = base64::DecodeTo(*text, out); !decoded) {
    return ProtocolError(fmt::format("{} is not valid base64: {}", field, decoded.error().message));
  }
  return Ok();
}

void AssignSid(std::string_view text, StreamSid& sid) {
  // streamSid is the same on every frame of a stream: keep the old string, skip an allocation.
  if (sid.view() != text) sid = StreamSid(std::string(text));
}

// The fields of a `media` frame as found in the text, before any checks of their content.
struct RawMedia {
  std::optional<std::string_view> sequence_number;
  std::optional<std::string_view> stream_sid;
  bool has_media_object = false;
  std::optional<std::string_view> track;
  std::optional<std::string_view> chunk;
  std::optional<std::string_view> timestamp;
  std::optional<std::string_view> payload;
};

Result<void> BuildMedia(const RawMedia& raw, const ParseOptions& options, MediaMessage& media) {
  if (!raw.stream_sid) return ProtocolError("media message has no streamSid");
  TEMPO_ASSIGN_OR_RETURN(media.sequence_number,
                         ParseCounter(raw.sequence_number, "media sequenceNumber"));
  if (!raw.has_media_object) return ProtocolError("media message has no media object");
  if (!raw.track) return ProtocolError("media.track is missing");
  TEMPO_ASSIGN_OR_RETURN(media.track, ParseTrack(*raw.track, "media.track"));
  TEMPO_ASSIGN_OR_RETURN(media.chunk, ParseCounter(raw.chunk, "media.chunk"));
  TEMPO_ASSIGN_OR_RETURN(media.timestamp_ms, ParseCounter(raw.timestamp, "media.timestamp"));
  TEMPO_TRY(DecodePayload(raw.payload, "media.payload", options, media.payload));
  AssignSid(*raw.stream_sid, media.stream_sid);
  return Ok();
}

// ---- fast path: a scanner for plain `media` frames ---------------------------------------

// Reads just enough JSON for a media frame. Any construct it does not expect (other keys,
// non-string values, duplicates, non-ASCII bytes, bad escapes) makes it give up, and the
// general parser decides instead.
class MediaScanner {
 public:
  explicit MediaScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  /// False: not a frame this scanner can decide.
  bool Scan(RawMedia& raw, std::string_view& event) {
    std::optional<std::string_view> event_value;
    SkipSpace();
    if (!Consume('{')) return false;
    SkipSpace();
    if (!Consume('"')) return false;
    for (;;) {
      std::string_view key;
      if (!ReadStringBody(key)) return false;
      SkipSpace();
      if (!Consume(':')) return false;
      SkipSpace();
      if (key == "media") {
        if (raw.has_media_object || !ScanMediaObject(raw)) return false;
        raw.has_media_object = true;
      } else {
        std::optional<std::string_view>* slot = nullptr;
        if (key == "event") {
          slot = &event_value;
        } else if (key == "sequenceNumber") {
          slot = &raw.sequence_number;
        } else if (key == "streamSid") {
          slot = &raw.stream_sid;
        } else {
          return false;
        }
        if (!ReadStringValue(*slot)) return false;
      }
      SkipSpace();
      if (Consume('}')) break;
      if (!Consume(',')) return false;
      SkipSpace();
      if (!Consume('"')) return false;
    }
    SkipSpace();
    if (p_ != end_ || !event_value || *event_value != "media") return false;
    event = *event_value;
    return true;
  }

 private:
  bool ScanMediaObject(RawMedia& raw) {
    if (!Consume('{')) return false;
    SkipSpace();
    if (Consume('}')) return true;
    if (!Consume('"')) return false;
    for (;;) {
      std::string_view key;
      if (!ReadStringBody(key)) return false;
      SkipSpace();
      if (!Consume(':')) return false;
      SkipSpace();
      std::optional<std::string_view>* slot = nullptr;
      if (key == "payload") {
        slot = &raw.payload;
      } else if (key == "track") {
        slot = &raw.track;
      } else if (key == "chunk") {
        slot = &raw.chunk;
      } else if (key == "timestamp") {
        slot = &raw.timestamp;
      } else {
        return false;
      }
      if (!ReadStringValue(*slot)) return false;
      SkipSpace();
      if (Consume('}')) return true;
      if (!Consume(',')) return false;
      SkipSpace();
      if (!Consume('"')) return false;
    }
  }

  // A string value for a slot that must not have been filled yet.
  bool ReadStringValue(std::optional<std::string_view>& slot) {
    if (slot || !Consume('"')) return false;
    std::string_view value;
    if (!ReadStringBody(value)) return false;
    slot = value;
    return true;
  }

  void SkipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool Consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  // After the opening quote. The result points into the text, or into scratch storage when
  // the string has escapes.
  bool ReadStringBody(std::string_view& out) {
    const char* begin = p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(begin, static_cast<size_t>(p_ - begin));
        ++p_;
        return true;
      }
      if (c == '\\') return ReadEscapedRest(begin, out);
      // Control characters are invalid JSON, and non-ASCII needs UTF-8 validation: leave
      // both to the general parser.
      if (c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    return false;
  }

  bool ReadEscapedRest(const char* begin, std::string_view& out) {
    if (scratch_used_ == scratch_.size()) return false;
    std::string& buffer = scratch_[scratch_used_++];
    buffer.assign(begin, p_);
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        out = buffer;
        return true;
      }
      if (c < 0x20 || c >= 0x80) return false;
      if (c != '\\') {
        buffer.push_back(static_cast<char>(c));
        ++p_;
        continue;
      }
      if (++p_ == end_) return false;
      const char e = *p_++;
      switch (e) {
        case '"':
          buffer.push_back('"');
          break;
        case '\\':
          buffer.push_back('\\');
          break;
        case '/':
          buffer.push_back('/');
          break;
        case 'b':
          buffer.push_back('\b');
          break;
        case 'f':
          buffer.push_back('\f');
          break;
        case 'n':
          buffer.push_back('\n');
          break;
        case 'r':
          buffer.push_back('\r');
          break;
        case 't':
          buffer.push_back('\t');
          break;
        case 'u':
          if (!ReadUnicodeEscape(buffer)) return false;
          break;
        default:
          return false;
      }
    }
    return false;
  }

  bool ReadHex4(uint32_t& value) {
    if (end_ - p_ < 4) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = HexValue(*p_++);
      if (digit < 0) return false;
      value = value * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  }

  // After "\u". Lone surrogates are left to the general parser (which rejects them).
  bool ReadUnicodeEscape(std::string& buffer) {
    uint32_t code = 0;
    if (!ReadHex4(code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;
    if (code >= 0xD800 && code <= 0xDBFF) {
      uint32_t low = 0;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      if (!ReadHex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    if (code < 0x80) {
      buffer.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      buffer.push_back(static_cast<char>(0xC0 | (code >> 6)));
      buffer.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      buffer.push_back(static_cast<char>(0xE0 | (code >> 12)));
      buffer.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      buffer.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      buffer.push_back(static_cast<char>(0xF0 | (code >> 18)));
      buffer.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      buffer.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      buffer.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
    return true;
  }

  const char* p_;
  const char* end_;
  // Escaped strings are rare. A frame the scanner accepts has at most 15 strings (4 + 4 keys,
  // 3 + 4 values), each needing its own buffer because the values are kept until the end.
  std::array<std::string, 16> scratch_;
  size_t scratch_used_ = 0;
};

// ---- general path: nlohmann DOM ----------------------------------------------------------

const Json* Find(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// Missing -> nullopt; present but not a string -> error.
Result<std::optional<std::string_view>> GetString(const Json& object, std::string_view key,
                                                  std::string_view path) {
  const Json* value = Find(object, key);
  if (value == nullptr) return std::optional<std::string_view>();
  if (!value->is_string()) return ProtocolError(fmt::format("{} must be a string", path));
  return std::optional<std::string_view>(value->get_ref<const std::string&>());
}

Result<std::string_view> RequireString(const Json& object, std::string_view key,
                                       std::string_view path) {
  TEMPO_ASSIGN_OR_RETURN(auto value, GetString(object, key, path));
  if (!value) return ProtocolError(fmt::format("{} is missing", path));
  return *value;
}

// A counter is a string of digits; a non-negative JSON integer is accepted too and turned into
// its decimal text (`storage` keeps it alive).
Result<std::optional<std::string_view>> GetCounterText(const Json& object, std::string_view key,
                                                       std::string_view path,
                                                       std::string& storage) {
  const Json* value = Find(object, key);
  if (value == nullptr) return std::optional<std::string_view>();
  if (value->is_string()) {
    return std::optional<std::string_view>(value->get_ref<const std::string&>());
  }
  if (value->is_number_unsigned()) {
    storage = std::to_string(value->get<uint64_t>());
    return std::optional<std::string_view>(storage);
  }
  return ProtocolError(fmt::format("{} must be a string of digits", path));
}

Result<uint64_t> RequireCounter(const Json& object, std::string_view key, std::string_view path) {
  std::string storage;
  TEMPO_ASSIGN_OR_RETURN(auto text, GetCounterText(object, key, path, storage));
  return ParseCounter(text, path);
}

Result<const Json*> RequireObject(const Json& object, std::string_view key, std::string_view path) {
  const Json* value = Find(object, key);
  if (value == nullptr) return ProtocolError(fmt::format("{} is missing", path));
  if (!value->is_object()) return ProtocolError(fmt::format("{} must be an object", path));
  return value;
}

Result<int> RequireInt(const Json& object, std::string_view key, std::string_view path) {
  const Json* value = Find(object, key);
  if (value == nullptr) return ProtocolError(fmt::format("{} is missing", path));
  if (value->is_number_unsigned()) {
    const auto n = value->get<uint64_t>();
    if (n <= static_cast<uint64_t>(std::numeric_limits<int>::max())) return static_cast<int>(n);
  } else if (value->is_number_integer()) {
    const auto n = value->get<int64_t>();
    if (n >= std::numeric_limits<int>::min()) return static_cast<int>(n);
  } else {
    return ProtocolError(fmt::format("{} must be an integer", path));
  }
  return ProtocolError(fmt::format("{} is out of range", path));
}

Result<InboundEvent> ParseMediaGeneral(const Json& root, const ParseOptions& options) {
  RawMedia raw;
  std::string sequence_storage;
  std::string chunk_storage;
  std::string timestamp_storage;
  TEMPO_ASSIGN_OR_RETURN(
      raw.sequence_number,
      GetCounterText(root, "sequenceNumber", "media sequenceNumber", sequence_storage));
  TEMPO_ASSIGN_OR_RETURN(raw.stream_sid, GetString(root, "streamSid", "media streamSid"));
  if (const Json* media = Find(root, "media"); media != nullptr) {
    if (!media->is_object()) return ProtocolError("media must be an object");
    raw.has_media_object = true;
    TEMPO_ASSIGN_OR_RETURN(raw.track, GetString(*media, "track", "media.track"));
    TEMPO_ASSIGN_OR_RETURN(raw.chunk,
                           GetCounterText(*media, "chunk", "media.chunk", chunk_storage));
    TEMPO_ASSIGN_OR_RETURN(
        raw.timestamp, GetCounterText(*media, "timestamp", "media.timestamp", timestamp_storage));
    TEMPO_ASSIGN_OR_RETURN(raw.payload, GetString(*media, "payload", "media.payload"));
  }
  MediaMessage message;
  TEMPO_TRY(BuildMedia(raw, options, message));
  return InboundEvent(std::move(message));
}

Result<InboundEvent> ParseConnected(const Json& root) {
  ConnectedMessage message;
  TEMPO_ASSIGN_OR_RETURN(auto protocol, GetString(root, "protocol", "connected protocol"));
  TEMPO_ASSIGN_OR_RETURN(auto version, GetString(root, "version", "connected version"));
  if (protocol) message.protocol = *protocol;
  if (version) message.version = *version;
  return InboundEvent(std::move(message));
}

/// A frame's bad id is a protocol error like its other faults (FaultOf tells it apart).
template <class Id>
Result<Id> AsProtocol(Result<Id> id) {
  if (!id) return ProtocolError(id.error().message);
  return id;
}

Result<InboundEvent> ParseStart(const Json& root) {
  StartMessage message;
  TEMPO_ASSIGN_OR_RETURN(message.sequence_number,
                         RequireCounter(root, "sequenceNumber", "start sequenceNumber"));
  TEMPO_ASSIGN_OR_RETURN(const Json* start, RequireObject(root, "start", "start object"));
  TEMPO_ASSIGN_OR_RETURN(auto stream_sid, RequireString(*start, "streamSid", "start.streamSid"));
  TEMPO_ASSIGN_OR_RETURN(auto outer_sid, GetString(root, "streamSid", "start message streamSid"));
  if (outer_sid && *outer_sid != stream_sid) {
    return ProtocolError("start message streamSid differs from start.streamSid");
  }
  // The start names the call: its ids become file and object names, so they are checked here.
  TEMPO_ASSIGN_OR_RETURN(message.stream_sid,
                         AsProtocol(ParseStreamSid(stream_sid, "start.streamSid")));
  TEMPO_ASSIGN_OR_RETURN(auto account_sid, RequireString(*start, "accountSid", "start.accountSid"));
  TEMPO_ASSIGN_OR_RETURN(message.account_sid,
                         AsProtocol(ParseAccountSid(account_sid, "start.accountSid")));
  TEMPO_ASSIGN_OR_RETURN(auto call_sid, RequireString(*start, "callSid", "start.callSid"));
  TEMPO_ASSIGN_OR_RETURN(message.call_sid, AsProtocol(ParseCallSid(call_sid, "start.callSid")));

  const Json* tracks = Find(*start, "tracks");
  if (tracks == nullptr) return ProtocolError("start.tracks is missing");
  if (!tracks->is_array()) return ProtocolError("start.tracks must be an array");
  for (const Json& track : *tracks) {
    if (!track.is_string()) return ProtocolError("start.tracks must hold strings");
    TEMPO_ASSIGN_OR_RETURN(auto value,
                           ParseTrack(track.get_ref<const std::string&>(), "start.tracks entry"));
    message.tracks.push_back(value);
  }

  TEMPO_ASSIGN_OR_RETURN(const Json* format,
                         RequireObject(*start, "mediaFormat", "start.mediaFormat"));
  TEMPO_ASSIGN_OR_RETURN(auto encoding,
                         RequireString(*format, "encoding", "start.mediaFormat.encoding"));
  message.media_format.encoding = encoding;
  TEMPO_ASSIGN_OR_RETURN(message.media_format.sample_rate,
                         RequireInt(*format, "sampleRate", "start.mediaFormat.sampleRate"));
  TEMPO_ASSIGN_OR_RETURN(message.media_format.channels,
                         RequireInt(*format, "channels", "start.mediaFormat.channels"));

  if (const Json* custom = Find(*start, "customParameters"); custom != nullptr) {
    if (!custom->is_object()) return ProtocolError("start.customParameters must be an object");
    for (const auto& [name, value] : custom->items()) {
      if (!value.is_string()) {
        return ProtocolError(
            fmt::format("start.customParameters {} must be a string", Quote(name)));
      }
      message.custom_parameters.emplace(name, value.get<std::string>());
    }
  }
  return InboundEvent(std::move(message));
}

Result<StreamSid> RequireStreamSid(const Json& root, std::string_view event) {
  TEMPO_ASSIGN_OR_RETURN(auto sid,
                         RequireString(root, "streamSid", fmt::format("{} streamSid", event)));
  return StreamSid(std::string(sid));
}

Result<InboundEvent> ParseDtmf(const Json& root) {
  DtmfMessage message;
  TEMPO_ASSIGN_OR_RETURN(message.stream_sid, RequireStreamSid(root, "dtmf"));
  TEMPO_ASSIGN_OR_RETURN(message.sequence_number,
                         RequireCounter(root, "sequenceNumber", "dtmf sequenceNumber"));
  TEMPO_ASSIGN_OR_RETURN(const Json* dtmf, RequireObject(root, "dtmf", "dtmf object"));
  TEMPO_ASSIGN_OR_RETURN(auto track, RequireString(*dtmf, "track", "dtmf.track"));
  message.track = track;
  TEMPO_ASSIGN_OR_RETURN(auto digit, RequireString(*dtmf, "digit", "dtmf.digit"));
  constexpr std::string_view kDigits = "0123456789*#ABCD";
  if (digit.size() != 1 || kDigits.find(digit[0]) == std::string_view::npos) {
    return ProtocolError(fmt::format("dtmf.digit is not a DTMF key: {}", Quote(digit)));
  }
  message.digit = digit[0];
  return InboundEvent(std::move(message));
}

Result<InboundEvent> ParseMark(const Json& root) {
  MarkMessage message;
  TEMPO_ASSIGN_OR_RETURN(message.stream_sid, RequireStreamSid(root, "mark"));
  TEMPO_ASSIGN_OR_RETURN(message.sequence_number,
                         RequireCounter(root, "sequenceNumber", "mark sequenceNumber"));
  TEMPO_ASSIGN_OR_RETURN(const Json* mark, RequireObject(root, "mark", "mark object"));
  TEMPO_ASSIGN_OR_RETURN(auto name, RequireString(*mark, "name", "mark.name"));
  message.name = name;
  return InboundEvent(std::move(message));
}

Result<InboundEvent> ParseStop(const Json& root) {
  StopMessage message;
  TEMPO_ASSIGN_OR_RETURN(message.stream_sid, RequireStreamSid(root, "stop"));
  TEMPO_ASSIGN_OR_RETURN(message.sequence_number,
                         RequireCounter(root, "sequenceNumber", "stop sequenceNumber"));
  TEMPO_ASSIGN_OR_RETURN(const Json* stop, RequireObject(root, "stop", "stop object"));
  TEMPO_ASSIGN_OR_RETURN(auto account_sid, RequireString(*stop, "accountSid", "stop.accountSid"));
  TEMPO_ASSIGN_OR_RETURN(message.account_sid,
                         AsProtocol(ParseAccountSid(account_sid, "stop.accountSid")));
  TEMPO_ASSIGN_OR_RETURN(auto call_sid, RequireString(*stop, "callSid", "stop.callSid"));
  TEMPO_ASSIGN_OR_RETURN(message.call_sid, AsProtocol(ParseCallSid(call_sid, "stop.callSid")));
  return InboundEvent(std::move(message));
}

// Parses the frame and returns its root object and event name.
Result<Json> ParseRoot(std::string_view text, std::string& event) {
  Json root = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return ProtocolError("twilio frame is not valid JSON");
  if (!root.is_object()) return ProtocolError("twilio frame is not a JSON object");
  const Json* value = Find(root, "event");
  if (value == nullptr) return ProtocolError("twilio frame has no event field");
  if (!value->is_string()) return ProtocolError("twilio frame event must be a string");
  event = value->get<std::string>();
  return root;
}

// Server -> Twilio frames must carry exactly the documented fields.
Result<void> CheckOnlyFields(const Json& object, std::initializer_list<std::string_view> allowed,
                             std::string_view where) {
  for (const auto& item : object.items()) {
    bool known = false;
    for (const std::string_view name : allowed) known = known || item.key() == name;
    if (!known) {
      return ProtocolError(fmt::format("{} has unexpected field {}", where, Quote(item.key())));
    }
  }
  return Ok();
}

// ---- JSON writing -------------------------------------------------------------------------

void AppendJsonString(std::string_view text, std::string& out) {
  constexpr std::string_view kHex = "0123456789abcdef";
  out.push_back('"');
  size_t plain_begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.substr(plain_begin, i - plain_begin));
    plain_begin = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
        break;
    }
  }
  out.append(text.substr(plain_begin));
  out.push_back('"');
}

void AppendNumber(uint64_t value, std::string& out) {
  std::array<char, 24> buffer{};
  const auto [ptr, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), ptr);
}

void AppendNumber(int value, std::string& out) {
  std::array<char, 16> buffer{};
  const auto [ptr, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  out.append(buffer.data(), ptr);
}

// "key":"<decimal>" for the counters Twilio sends as strings.
void AppendCounterField(std::string_view key, uint64_t value, std::string& out) {
  out.push_back('"');
  out.append(key);
  out.append("\":\"");
  AppendNumber(value, out);
  out.push_back('"');
}

// `key` is one of our constant field names, written without escaping.
void AppendStringField(std::string_view key, std::string_view value, std::string& out) {
  out.push_back('"');
  out.append(key);
  out.append("\":");
  AppendJsonString(value, out);
}

void AppendPayloadField(std::span<const uint8_t> payload, std::string& out) {
  out.append("\"payload\":\"");
  base64::EncodeTo(payload, out);
  out.push_back('"');
}

struct InboundWriter {
  std::string& out;

  void operator()(const ConnectedMessage& m) const {
    out.append(R"({"event":"connected",)");
    AppendStringField("protocol", m.protocol, out);
    out.push_back(',');
    AppendStringField("version", m.version, out);
    out.push_back('}');
  }
  void operator()(const StartMessage& m) const {
    out.append(R"({"event":"start",)");
    AppendCounterField("sequenceNumber", m.sequence_number, out);
    out.append(R"(,"start":{)");
    AppendStringField("accountSid", m.account_sid.view(), out);
    out.push_back(',');
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.push_back(',');
    AppendStringField("callSid", m.call_sid.view(), out);
    out.append(R"(,"tracks":[)");
    for (size_t i = 0; i < m.tracks.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendJsonString(ToString(m.tracks[i]), out);
    }
    out.append(R"(],"mediaFormat":{)");
    AppendStringField("encoding", m.media_format.encoding, out);
    out.append(R"(,"sampleRate":)");
    AppendNumber(m.media_format.sample_rate, out);
    out.append(R"(,"channels":)");
    AppendNumber(m.media_format.channels, out);
    out.append(R"(},"customParameters":{)");
    bool first = true;
    for (const auto& [name, value] : m.custom_parameters) {
      if (!first) out.push_back(',');
      first = false;
      AppendJsonString(name, out);  // a peer-chosen name, unlike the fixed keys
      out.push_back(':');
      AppendJsonString(value, out);
    }
    out.append("}},");
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.push_back('}');
  }
  void operator()(const MediaMessage& m) const {
    out.append(R"({"event":"media",)");
    AppendCounterField("sequenceNumber", m.sequence_number, out);
    out.append(R"(,"media":{)");
    AppendStringField("track", ToString(m.track), out);
    out.push_back(',');
    AppendCounterField("chunk", m.chunk, out);
    out.push_back(',');
    AppendCounterField("timestamp", m.timestamp_ms, out);
    out.push_back(',');
    AppendPayloadField(m.payload, out);
    out.append("},");
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.push_back('}');
  }
  void operator()(const DtmfMessage& m) const {
    out.append(R"({"event":"dtmf",)");
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.push_back(',');
    AppendCounterField("sequenceNumber", m.sequence_number, out);
    out.append(R"(,"dtmf":{)");
    AppendStringField("track", m.track, out);
    out.push_back(',');
    AppendStringField("digit", std::string_view(&m.digit, 1), out);
    out.append("}}");
  }
  void operator()(const MarkMessage& m) const {
    out.append(R"({"event":"mark",)");
    AppendCounterField("sequenceNumber", m.sequence_number, out);
    out.push_back(',');
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.append(R"(,"mark":{)");
    AppendStringField("name", m.name, out);
    out.append("}}");
  }
  void operator()(const StopMessage& m) const {
    out.append(R"({"event":"stop",)");
    AppendCounterField("sequenceNumber", m.sequence_number, out);
    out.append(R"(,"stop":{)");
    AppendStringField("accountSid", m.account_sid.view(), out);
    out.push_back(',');
    AppendStringField("callSid", m.call_sid.view(), out);
    out.append("},");
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.push_back('}');
  }
};

struct OutboundWriter {
  std::string& out;

  void operator()(const OutboundMedia& m) const {
    out.append(R"({"event":"media",)");
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.append(R"(,"media":{)");
    AppendPayloadField(m.payload, out);
    out.append("}}");
  }
  void operator()(const OutboundMark& m) const {
    out.append(R"({"event":"mark",)");
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.append(R"(,"mark":{)");
    AppendStringField("name", m.name, out);
    out.append("}}");
  }
  void operator()(const ClearMessage& m) const {
    out.append(R"({"event":"clear",)");
    AppendStringField("streamSid", m.stream_sid.view(), out);
    out.push_back('}');
  }
};

}  // namespace

namespace detail {

std::optional<Result<void>> ParseMediaFast(std::string_view text, MediaMessage& media,
                                           const ParseOptions& options) {
  RawMedia raw;
  std::string_view event;
  MediaScanner scanner(text);
  if (!scanner.Scan(raw, event)) return std::nullopt;
  return BuildMedia(raw, options, media);
}

Result<InboundEvent> ParseInboundGeneral(std::string_view text, const ParseOptions& options) {
  std::string event;
  TEMPO_ASSIGN_OR_RETURN(const Json root, ParseRoot(text, event));
  if (event == "media") return ParseMediaGeneral(root, options);
  if (event == "start") return ParseStart(root);
  if (event == "mark") return ParseMark(root);
  if (event == "dtmf") return ParseDtmf(root);
  if (event == "stop") return ParseStop(root);
  if (event == "connected") return ParseConnected(root);
  return ProtocolError(fmt::format("unknown twilio event {}", Quote(event)));
}

}  // namespace detail

Result<void> ParseInboundInto(std::string_view text, InboundEvent& event,
                              const ParseOptions& options) {
  auto* media = std::get_if<MediaMessage>(&event);
  if (media == nullptr) media = &event.emplace<MediaMessage>();
  if (auto decided = detail::ParseMediaFast(text, *media, options)) return *decided;
  TEMPO_ASSIGN_OR_RETURN(event, detail::ParseInboundGeneral(text, options));
  return Ok();
}

Result<InboundEvent> ParseInbound(std::string_view text, const ParseOptions& options) {
  InboundEvent event;
  TEMPO_TRY(ParseInboundInto(text, event, options));
  return event;
}

Result<OutboundEvent> ParseOutbound(std::string_view text, const ParseOptions& options) {
  std::string event;
  TEMPO_ASSIGN_OR_RETURN(const Json root, ParseRoot(text, event));
  if (event == "media") {
    TEMPO_TRY(CheckOnlyFields(root, {"event", "streamSid", "media"}, "outbound media message"));
    OutboundMedia message;
    TEMPO_ASSIGN_OR_RETURN(message.stream_sid, RequireStreamSid(root, "media"));
    TEMPO_ASSIGN_OR_RETURN(const Json* media, RequireObject(root, "media", "media object"));
    TEMPO_TRY(CheckOnlyFields(*media, {"payload"}, "outbound media object"));
    TEMPO_ASSIGN_OR_RETURN(auto payload, GetString(*media, "payload", "media.payload"));
    TEMPO_TRY(DecodePayload(payload, "media.payload", options, message.payload));
    return OutboundEvent(std::move(message));
  }
  if (event == "mark") {
    TEMPO_TRY(CheckOnlyFields(root, {"event", "streamSid", "mark"}, "outbound mark message"));
    OutboundMark message;
    TEMPO_ASSIGN_OR_RETURN(message.stream_sid, RequireStreamSid(root, "mark"));
    TEMPO_ASSIGN_OR_RETURN(const Json* mark, RequireObject(root, "mark", "mark object"));
    TEMPO_TRY(CheckOnlyFields(*mark, {"name"}, "outbound mark object"));
    TEMPO_ASSIGN_OR_RETURN(auto name, RequireString(*mark, "name", "mark.name"));
    message.name = name;
    return OutboundEvent(std::move(message));
  }
  if (event == "clear") {
    TEMPO_TRY(CheckOnlyFields(root, {"event", "streamSid"}, "outbound clear message"));
    ClearMessage message;
    TEMPO_ASSIGN_OR_RETURN(message.stream_sid, RequireStreamSid(root, "clear"));
    return OutboundEvent(std::move(message));
  }
  return ProtocolError(fmt::format("unknown outbound twilio event {}", Quote(event)));
}

void SerializeTo(const InboundEvent& event, std::string& out) {
  std::visit(InboundWriter{out}, event);
}

void SerializeTo(const OutboundEvent& event, std::string& out) {
  std::visit(OutboundWriter{out}, event);
}

std::string Serialize(const InboundEvent& event) {
  std::string out;
  SerializeTo(event, out);
  return out;
}

std::string Serialize(const OutboundEvent& event) {
  std::string out;
  SerializeTo(event, out);
  return out;
}

void WriteOutboundMedia(std::string_view stream_sid, std::span<const uint8_t> payload,
                        std::string& out) {
  out.clear();
  out.append(R"({"event":"media",)");
  AppendStringField("streamSid", stream_sid, out);
  out.append(R"(,"media":{)");
  AppendPayloadField(payload, out);
  out.append("}}");
}

std::string_view ToString(FrameFault fault) {
  switch (fault) {
    case FrameFault::kTooLarge:
      return "payload_too_large";
    case FrameFault::kNotJson:
      return "not_json";
    case FrameFault::kBadBase64:
      return "bad_base64";
    case FrameFault::kUnknownEvent:
      return "unknown_event";
    case FrameFault::kBadSid:
      return "bad_sid";
    case FrameFault::kMalformed:
      return "malformed";
  }
  return "malformed";
}

FrameFault FaultOf(const Error& parse_error) {
  if (parse_error.code == ErrorCode::kResourceExhausted) return FrameFault::kTooLarge;
  const std::string& m = parse_error.message;
  if (m.starts_with("twilio frame is not")) return FrameFault::kNotJson;
  if (m.find("is not valid base64") != std::string::npos) return FrameFault::kBadBase64;
  if (m.find("is not a Twilio") != std::string::npos) return FrameFault::kBadSid;
  if (m.starts_with("unknown twilio event") || m.starts_with("unknown outbound twilio event")) {
    return FrameFault::kUnknownEvent;
  }
  return FrameFault::kMalformed;
}

}  // namespace tempo::twilio
