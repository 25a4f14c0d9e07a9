#pragma once

// The client side of an HTTP/2 connection, sans-I/O (nghttp2 underneath, never exposed): bytes
// from the peer go in with Receive, bytes for the peer come out of TakeOutput, and what
// happened is told through the callbacks. Whoever owns the socket (h2 over TLS for AWS, h2c
// with prior knowledge for tests) moves the bytes. Many streams share the connection, each
// may send and receive at the same time (a bidirectional stream: Bedrock's speech sessions),
// and flow control is nghttp2's: a stream's queued body goes out as the peer's windows allow.
// Not thread-safe: one owner (a strand) drives it.

#include "tempo/base/result.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::net {

using H2Headers = std::vector<std::pair<std::string, std::string>>;

struct H2Request {
  std::string method = "POST";
  std::string scheme = "https";
  std::string authority;  ///< host[:port]
  std::string path = "/";
  H2Headers headers;  ///< lower-case names
};

struct H2Callbacks {
  /// The response head (and later, trailers) of a stream: `status` is 0 for trailers.
  std::function<void(int32_t stream, int status, const H2Headers& headers)> on_headers;
  /// A piece of a stream's response body.
  std::function<void(int32_t stream, std::string_view data)> on_data;
  /// The stream is over: `error_code` 0 when it ended cleanly (an HTTP/2 error code else,
  /// such as REFUSED_STREAM 7 when the peer did not process it).
  std::function<void(int32_t stream, uint32_t error_code)> on_close;
  /// The peer is going away: streams above `last_stream_id` were not processed (and will be
  /// closed); new streams must go to another connection.
  std::function<void(int32_t last_stream_id, uint32_t error_code)> on_goaway;
  /// A PING we sent came back.
  std::function<void()> on_ping_ack;
};

class H2ClientSession {
 public:
  /// Queues the connection preface and our SETTINGS (no server push, `window` bytes a stream
  /// may receive before we take them, 4x that for the connection).
  static Result<std::unique_ptr<H2ClientSession>> Create(H2Callbacks callbacks,
                                                         uint32_t window = 1 << 20);
  ~H2ClientSession();
  H2ClientSession(const H2ClientSession&) = delete;
  H2ClientSession& operator=(const H2ClientSession&) = delete;

  /// Opens a stream. With `streaming_body`, the body follows through SendData (and is ended
  /// by SendData(..., true)); without, the request has no body. The stream's id, or an error
  /// (no more stream ids, the session is going away).
  Result<int32_t> Submit(const H2Request& request, bool streaming_body);
  /// Queues body bytes of a streaming request; `end` ends it. Errors on an unknown or closed
  /// stream.
  Result<void> SendData(int32_t stream, std::string data, bool end);
  /// Resets a stream (CANCEL).
  void Cancel(int32_t stream);
  /// Sends a PING (keep-alive; the ack comes through on_ping_ack).
  void Ping();
  /// Says GOAWAY to the peer: no new streams; open ones may finish.
  void GoAway();

  /// Feeds bytes read from the peer. An error means the connection is broken (a protocol
  /// error): close it.
  Result<void> Receive(std::string_view bytes);
  /// Bytes to write to the peer now (empty when there is nothing to send).
  std::string TakeOutput();

  /// Whether the session still has something to read or write (false: it is over; close).
  [[nodiscard]] bool Alive() const;
  /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says).
  [[nodiscard]] uint32_t PeerMaxConcurrentStreams() const;
  /// Streams opened and not yet closed.
  [[nodiscard]] size_t OpenStreams() const;
  /// Body bytes queued on a stream and not yet sent (flow control may hold them).
  [[nodiscard]] size_t QueuedBytes(int32_t stream) const;
  /// True once a GOAWAY came from the peer (or we sent one).
  [[nodiscard]] bool GoingAway() const;

  struct Impl;

 private:
  explicit H2ClientSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tempo::net
