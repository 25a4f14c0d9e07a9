#pragma once

// HTTP/2 streams for clients (Bedrock's bidirectional speech streams): H2ClientSession put on
// sockets. TLS with ALPN "h2" for AWS, or h2c with prior knowledge for tests. Connections are
// pooled per target: a new stream goes on a connection with room under the peer's
// SETTINGS_MAX_CONCURRENT_STREAMS, and another connection opens beyond it. A connection the
// peer says GOAWAY on takes no new stream; its open ones finish, then it closes. Idle
// connections are kept alive with PINGs. No Asio in this header.

#include "tempo/base/result.hpp"
#include "tempo/net/client.hpp"
#include "tempo/net/h2_session.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tempo::net {

struct H2Target {
  std::string host;
  uint16_t port = 443;
  bool tls = true;  ///< false: h2c with prior knowledge (tests, local emulators)
  TlsVerify tls_verify = TlsVerify::kVerifyPeer;
  std::chrono::milliseconds connect_timeout{5'000};
};

/// What a stream tells its owner. Every callback runs on the client's I/O thread, in order;
/// post to your own executor from there.
struct H2StreamCallbacks {
  std::function<void(int status, const H2Headers& headers)> on_headers;
  std::function<void(std::string_view data)> on_data;
  /// Exactly once: ok when the stream ended cleanly, else why (kUnavailable for a connection
  /// that failed or a stream the peer refused, with the reason).
  std::function<void(Result<void>)> on_close;
};

/// One request/response exchange whose body the owner writes as it goes. Thread-safe.
class H2Stream {
 public:
  virtual ~H2Stream() = default;
  /// Queues body bytes; `end` ends the request body. Ignored once the stream closed.
  virtual void Write(std::string bytes, bool end) = 0;
  /// Resets the stream (on_close then reports it cancelled).
  virtual void Cancel() = 0;
};

struct H2ClientOptions {
  std::chrono::milliseconds ping_interval{30'000};
  uint32_t window = 1 << 20;  ///< bytes a stream may receive before we take them
};

struct H2ClientStats {
  uint64_t connections_opened = 0;
  uint64_t streams_opened = 0;
  uint64_t max_streams_on_a_connection = 0;  ///< the most open at once on one connection
  uint64_t goaways = 0;
};

/// Runs one I/O thread of its own. Thread-safe. Destroying it closes every connection (open
/// streams get on_close with an error) and joins the thread.
class H2Client {
 public:
  explicit H2Client(H2ClientOptions options = {});
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  /// Opens a stream to `target` (connecting when no pooled connection has room). The request
  /// goes at once; failures come through on_close.
  std::shared_ptr<H2Stream> Open(const H2Target& target, H2Request request,
                                 H2StreamCallbacks callbacks);
  [[nodiscard]] H2ClientStats stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tempo::net
