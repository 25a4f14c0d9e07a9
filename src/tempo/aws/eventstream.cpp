#include "tempo/aws/eventstream.hpp"

#include "tempo/aws/sigv4.hpp"

#include <boost/crc.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace tempo::aws::eventstream {
namespace {

constexpr size_t kPreludeBytes = 12;  // total length, headers length, prelude CRC
constexpr size_t kMaxValueBytes = 32767;

uint32_t Crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

template <class T>
void PutBigEndian(std::string& out, T value) {
  auto v = static_cast<std::make_unsigned_t<T>>(value);
  for (int shift = (sizeof(T) - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
  }
}

template <class T>
T GetBigEndian(std::string_view bytes, size_t at) {
  std::make_unsigned_t<T> v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) {
    v = static_cast<std::make_unsigned_t<T>>((v << 8) | static_cast<uint8_t>(bytes[at + i]));
  }
  return static_cast<T>(v);
}

Error Corrupt(std::string what) { return ProtocolError("event stream: " + std::move(what)); }

// Appends a header's type and value (std::visit over HeaderValue).
struct ValueWriter {
  std::string& out;
  template <class T>
  [[nodiscard]] Result<void> Fixed(HeaderType type, T v) const {
    out.push_back(static_cast<char>(type));
    PutBigEndian(out, v);
    return Ok();
  }
  [[nodiscard]] Result<void> Sized(HeaderType type, std::string_view bytes) const {
    if (bytes.size() > kMaxValueBytes) {
      return InvalidArgument(fmt::format("event stream: a header value of {} bytes (at most {})",
                                         bytes.size(), kMaxValueBytes));
    }
    out.push_back(static_cast<char>(type));
    PutBigEndian(out, static_cast<uint16_t>(bytes.size()));
    out.append(bytes);
    return Ok();
  }
  Result<void> operator()(bool v) const {
    out.push_back(static_cast<char>(v ? HeaderType::kTrue : HeaderType::kFalse));
    return Ok();
  }
  Result<void> operator()(int8_t v) const { return Fixed(HeaderType::kByte, v); }
  Result<void> operator()(int16_t v) const { return Fixed(HeaderType::kInt16, v); }
  Result<void> operator()(int32_t v) const { return Fixed(HeaderType::kInt32, v); }
  Result<void> operator()(int64_t v) const { return Fixed(HeaderType::kInt64, v); }
  Result<void> operator()(Timestamp v) const { return Fixed(HeaderType::kTimestamp, v.millis); }
  Result<void> operator()(const ByteArray& v) const { return Sized(HeaderType::kBytes, v.bytes); }
  Result<void> operator()(const std::string& v) const { return Sized(HeaderType::kString, v); }
  Result<void> operator()(const Uuid& v) const {
    out.push_back(static_cast<char>(HeaderType::kUuid));
    out.append(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size());
    return Ok();
  }
};

Result<void> AppendValue(std::string& out, const HeaderValue& value) {
  return std::visit(ValueWriter{out}, value);
}

// Reads the headers section; every read is checked against its end.
struct SectionReader {
  std::string_view section;
  size_t at = 0;

  Result<std::string_view> Bytes(size_t n, std::string_view what) {
    if (section.size() - at < n) return Corrupt(fmt::format("{} runs past the headers", what));
    const std::string_view bytes = section.substr(at, n);
    at += n;
    return bytes;
  }
  template <class T>
  Result<T> Int(std::string_view what) {
    TEMPO_ASSIGN_OR_RETURN(const std::string_view bytes, Bytes(sizeof(T), what));
    return GetBigEndian<T>(bytes, 0);
  }
};

Result<std::vector<Header>> ParseHeaders(std::string_view section) {
  std::vector<Header> headers;
  SectionReader r{section};
  while (r.at < section.size()) {
    TEMPO_ASSIGN_OR_RETURN(const auto name_length, r.Int<uint8_t>("a header name length"));
    if (name_length == 0) return Corrupt("a header with an empty name");
    Header header;
    TEMPO_ASSIGN_OR_RETURN(const std::string_view name, r.Bytes(name_length, "a header name"));
    header.name.assign(name);
    TEMPO_ASSIGN_OR_RETURN(const auto type, r.Int<uint8_t>("a header type"));
    switch (static_cast<HeaderType>(type)) {
      case HeaderType::kTrue:
      case HeaderType::kFalse:
        header.value = static_cast<HeaderType>(type) == HeaderType::kTrue;
        break;
      case HeaderType::kByte: {
        TEMPO_ASSIGN_OR_RETURN(header.value, r.Int<int8_t>("a byte header"));
        break;
      }
      case HeaderType::kInt16: {
        TEMPO_ASSIGN_OR_RETURN(header.value, r.Int<int16_t>("an int16 header"));
        break;
      }
      case HeaderType::kInt32: {
        TEMPO_ASSIGN_OR_RETURN(header.value, r.Int<int32_t>("an int32 header"));
        break;
      }
      case HeaderType::kInt64: {
        TEMPO_ASSIGN_OR_RETURN(header.value, r.Int<int64_t>("an int64 header"));
        break;
      }
      case HeaderType::kTimestamp: {
        TEMPO_ASSIGN_OR_RETURN(const int64_t millis, r.Int<int64_t>("a timestamp header"));
        header.value = Timestamp{millis};
        break;
      }
      case HeaderType::kBytes:
      case HeaderType::kString: {
        TEMPO_ASSIGN_OR_RETURN(const auto length, r.Int<uint16_t>("a header value length"));
        if (length > kMaxValueBytes) return Corrupt("a header value longer than 32,767 bytes");
        TEMPO_ASSIGN_OR_RETURN(const std::string_view bytes, r.Bytes(length, "a header value"));
        if (static_cast<HeaderType>(type) == HeaderType::kBytes) {
          header.value = ByteArray{std::string(bytes)};
        } else {
          header.value = std::string(bytes);
        }
        break;
      }
      case HeaderType::kUuid: {
        TEMPO_ASSIGN_OR_RETURN(const std::string_view bytes, r.Bytes(16, "a uuid header"));
        Uuid uuid;
        std::copy_n(bytes.begin(), 16, uuid.bytes.begin());
        header.value = uuid;
        break;
      }
      default:
        return Corrupt(fmt::format("a header of unknown type {}", type));
    }
    headers.push_back(std::move(header));
  }
  return headers;
}

}  // namespace

const HeaderValue* Message::Find(std::string_view name) const {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (it->name == name) return &it->value;
  }
  return nullptr;
}

std::optional<std::string_view> Message::String(std::string_view name) const {
  const HeaderValue* value = Find(name);
  if (value == nullptr) return std::nullopt;
  if (const auto* s = std::get_if<std::string>(value)) return std::string_view(*s);
  return std::nullopt;
}

Result<std::string> EncodeHeaders(const std::vector<Header>& headers) {
  std::string out;
  for (const auto& header : headers) {
    if (header.name.empty() || header.name.size() > 255) {
      return InvalidArgument(
          fmt::format("event stream: a header name of {} bytes (1 to 255)", header.name.size()));
    }
    out.push_back(static_cast<char>(header.name.size()));
    out.append(header.name);
    TEMPO_TRY(AppendValue(out, header.value));
  }
  return out;
}

Result<std::string> Encode(const Message& message) {
  TEMPO_ASSIGN_OR_RETURN(std::string headers, EncodeHeaders(message.headers));
  const size_t total = kMinMessageBytes + headers.size() + message.payload.size();
  if (total > kMaxMessageBytes) {
    return InvalidArgument(
        fmt::format("event stream: a message of {} bytes (at most {})", total, kMaxMessageBytes));
  }
  std::string out;
  out.reserve(total);
  PutBigEndian(out, static_cast<uint32_t>(total));
  PutBigEndian(out, static_cast<uint32_t>(headers.size()));
  PutBigEndian(out, Crc32(out));
  out.append(headers);
  out.append(message.payload);
  PutBigEndian(out, Crc32(out));
  return out;
}

Result<Message> DecodeMessage(std::string_view bytes) {
  if (bytes.size() < kMinMessageBytes) return Corrupt("a message shorter than 16 bytes");
  const auto total = GetBigEndian<uint32_t>(bytes, 0);
  const auto headers_length = GetBigEndian<uint32_t>(bytes, 4);
  // The prelude's checksum first: until it holds, the lengths mean nothing.
  if (GetBigEndian<uint32_t>(bytes, 8) != Crc32(bytes.substr(0, 8))) {
    return Corrupt("prelude checksum mismatch");
  }
  if (total != bytes.size()) return Corrupt("the message length does not match its bytes");
  if (headers_length > total - kMinMessageBytes) {
    return Corrupt("the headers are longer than the message");
  }
  if (GetBigEndian<uint32_t>(bytes, total - 4) != Crc32(bytes.substr(0, total - 4))) {
    return Corrupt("message checksum mismatch");
  }
  Message message;
  TEMPO_ASSIGN_OR_RETURN(message.headers,
                         ParseHeaders(bytes.substr(kPreludeBytes, headers_length)));
  message.payload.assign(
      bytes.substr(kPreludeBytes + headers_length, total - kMinMessageBytes - headers_length));
  return message;
}

void Decoder::Feed(std::string_view bytes) {
  if (consumed_ > 0 && consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<Message>> Decoder::Next() {
  if (failed_) return *failed_;
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  if (pending.size() < kPreludeBytes) return std::optional<Message>();
  if (GetBigEndian<uint32_t>(pending, 8) != Crc32(pending.substr(0, 8))) {
    failed_ = Corrupt("prelude checksum mismatch");
    return *failed_;
  }
  const auto total = GetBigEndian<uint32_t>(pending, 0);
  if (total < kMinMessageBytes || total > max_message_bytes_) {
    failed_ = Corrupt(fmt::format("a message of {} bytes (16 to {})", total, max_message_bytes_));
    return *failed_;
  }
  if (pending.size() < total) return std::optional<Message>();
  auto message = DecodeMessage(pending.substr(0, total));
  if (!message) {
    failed_ = message.error();
    return *failed_;
  }
  consumed_ += total;
  // Keep the buffer from growing with what was handed out.
  if (consumed_ > size_t{64} * 1024 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return std::optional<Message>(std::move(*message));
}

ChunkSigner::ChunkSigner(Credentials credentials, std::string region, std::string service,
                         std::string seed_signature)
    : credentials_(std::move(credentials)),
      region_(std::move(region)),
      service_(std::move(service)),
      prior_(std::move(seed_signature)) {}

namespace {

std::chrono::system_clock::time_point WholeSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t);
}

// The :date header as it is sent and hashed: 0x05 ":date" 0x08 <int64 big-endian millis>.
std::string DateHeader(std::chrono::system_clock::time_point t) {
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto encoded = EncodeHeaders({Header{":date", Timestamp{millis}}});
  return encoded ? *encoded : std::string();  // a fixed, valid header: cannot fail
}

}  // namespace

std::string ChunkSigner::StringToSign(std::string_view payload,
                                      std::chrono::system_clock::time_point time) const {
  const auto t = WholeSeconds(time);
  const std::string short_date = AmzShortDate(t);
  return fmt::format("AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}/{}/{}/aws4_request\n{}\n{}\n{}", AmzDate(t),
                     short_date, region_, service_, prior_, Sha256Hex(DateHeader(t)),
                     Sha256Hex(payload));
}

Sha256Digest ChunkSigner::Sign(std::string_view payload,
                               std::chrono::system_clock::time_point time) {
  const auto t = WholeSeconds(time);
  const std::string short_date = AmzShortDate(t);
  if (short_date != key_date_) {
    key_ = SigningKey(credentials_.secret_access_key, short_date, region_, service_);
    key_date_ = short_date;
  }
  const Sha256Digest signature = HmacSha256(key_, StringToSign(payload, t));
  prior_ = HexLower(signature);
  return signature;
}

std::string ChunkSigner::Wrap(std::string_view payload,
                              std::chrono::system_clock::time_point time) {
  const auto t = WholeSeconds(time);
  const Sha256Digest signature = Sign(payload, t);
  Message outer;
  outer.headers.push_back(
      {":date",
       Timestamp{
           std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()}});
  outer.headers.push_back(
      {":chunk-signature", ByteArray{std::string(signature.begin(), signature.end())}});
  outer.payload.assign(payload);
  auto encoded = Encode(outer);
  return encoded ? *encoded : std::string();  // an inner message fits: checked when encoded
}

}  // namespace tempo::aws::eventstream
