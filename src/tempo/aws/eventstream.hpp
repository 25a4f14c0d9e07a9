#pragma once

// The AWS event stream (`application/vnd.amazon.eventstream`): the binary framing of Bedrock's
// bidirectional streams (and Transcribe's, S3 Select's). A message is a prelude (total and
// header lengths, CRC-32), typed headers, a payload and a CRC-32 of everything before it.
// Sans-I/O: the decoder is fed whatever bytes arrived (a message may span HTTP/2 DATA frames,
// several may share one) and hands out whole messages. Also the per-message SigV4 signing a
// client's stream needs ("chunk" signatures chained from the request's signature).

#include "tempo/aws/credentials.hpp"
#include "tempo/base/digest.hpp"
#include "tempo/base/result.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tempo::aws::eventstream {

/// Header value types, by their wire codes.
enum class HeaderType : uint8_t {
  kTrue = 0,
  kFalse = 1,
  kByte = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kBytes = 6,
  kString = 7,
  kTimestamp = 8,
  kUuid = 9,
};

struct ByteArray {
  std::string bytes;
  friend bool operator==(const ByteArray&, const ByteArray&) = default;
};
struct Timestamp {
  int64_t millis = 0;  ///< since the Unix epoch
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
};
struct Uuid {
  std::array<uint8_t, 16> bytes{};
  friend bool operator==(const Uuid&, const Uuid&) = default;
};
using HeaderValue =
    std::variant<bool, int8_t, int16_t, int32_t, int64_t, ByteArray, std::string, Timestamp, Uuid>;

struct Header {
  std::string name;  ///< 1..255 bytes
  HeaderValue value;
  friend bool operator==(const Header&, const Header&) = default;
};

struct Message {
  std::vector<Header> headers;  ///< in wire order
  std::string payload;
  /// The last header of that name (later ones win, as in the SDKs), or null.
  [[nodiscard]] const HeaderValue* Find(std::string_view name) const;
  /// A string header's value, or nullopt when missing or of another type.
  [[nodiscard]] std::optional<std::string_view> String(std::string_view name) const;
  friend bool operator==(const Message&, const Message&) = default;
};

/// Largest message either side accepts (aws-c-event-stream's cap).
inline constexpr size_t kMaxMessageBytes = size_t{24} * 1024 * 1024;
/// A message with no headers and no payload.
inline constexpr size_t kMinMessageBytes = 16;

/// The headers section alone, as it is sent (hashed by chunk signing).
Result<std::string> EncodeHeaders(const std::vector<Header>& headers);
/// A whole message. Errors (kInvalidArgument): an empty or over-255-byte name, a string or byte
/// array over 32,767 bytes, a message over kMaxMessageBytes.
Result<std::string> Encode(const Message& message);

/// Incremental decoder. After an error the stream cannot be trusted: every later Next() gives
/// the same error.
class Decoder {
 public:
  explicit Decoder(size_t max_message_bytes = kMaxMessageBytes)
      : max_message_bytes_(max_message_bytes) {}

  /// Appends bytes as they arrive.
  void Feed(std::string_view bytes);
  /// The next whole message; nullopt when more bytes are needed; an error (kProtocol) when the
  /// stream is corrupt: a prelude or message checksum mismatch, impossible lengths, a header
  /// that runs past its section or has an unknown type.
  Result<std::optional<Message>> Next();
  /// Bytes fed and not yet handed out.
  [[nodiscard]] size_t Buffered() const { return buffer_.size() - consumed_; }

 private:
  size_t max_message_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;
  std::optional<Error> failed_;
};

/// Parses one whole message (exactly the bytes of one).
Result<Message> DecodeMessage(std::string_view bytes);

/// Signs the messages of a client's stream, in order (each signature chains from the one
/// before, starting from the request's own signature). One writer owns it.
class ChunkSigner {
 public:
  /// `seed_signature`: the lower-case hex signature of the request that opened the stream
  /// (signed with the payload hash STREAMING-AWS4-HMAC-SHA256-EVENTS).
  ChunkSigner(Credentials credentials, std::string region, std::string service,
              std::string seed_signature);

  /// The signature of `payload` (an encoded inner message; empty for the end of the stream)
  /// at `time` (whole seconds are used), and it becomes the prior signature of the next.
  Sha256Digest Sign(std::string_view payload, std::chrono::system_clock::time_point time);
  /// The outer message to send for `payload`: headers `:date` and `:chunk-signature`.
  std::string Wrap(std::string_view payload, std::chrono::system_clock::time_point time);

  /// The string to sign (tests compare it with published vectors).
  [[nodiscard]] std::string StringToSign(std::string_view payload,
                                         std::chrono::system_clock::time_point time) const;
  [[nodiscard]] const std::string& prior_signature() const { return prior_; }

 private:
  Credentials credentials_;
  std::string region_;
  std::string service_;
  std::string prior_;
  // The signing key depends on the UTC date: derived again when it changes.
  std::string key_date_;
  Sha256Digest key_{};
};

}  // namespace tempo::aws::eventstream
