#pragma once

#include "tempo/base/executor.hpp"
#include "tempo/base/result.hpp"
#include "tempo/net/http.hpp"
#include "tempo/net/websocket.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tempo::net {

/// The parts of an absolute http(s):// or ws(s):// URL that a client needs.
struct ClientUrl {
  std::string scheme;  ///< lower-case: http, https, ws, wss
  std::string host;    ///< without brackets for IPv6 literals
  uint16_t port = 0;   ///< explicit port, or the scheme's default
  std::string target;  ///< path and query as written ("/" when empty); no fragment
  [[nodiscard]] bool tls() const { return scheme == "https" || scheme == "wss"; }
};

/// Parses an absolute URL with scheme http, https, ws or wss. User info is not supported.
/// Errors: kInvalidArgument naming the problem (unknown scheme, empty host, bad port).
/// Thread-safe (pure function).
Result<ClientUrl> ParseClientUrl(std::string_view url);

/// Whether a TLS peer must present a certificate valid for the host.
enum class TlsVerify { kVerifyPeer, kInsecure };

/// An HTTP/1.1 request to send. One connection per request (HttpPool keeps them). A HEAD request's
/// answer has an empty body whatever its Content-Length says.
struct ClientRequest {
  Method method = Method::kGet;
  std::string url;  ///< absolute http:// or https:// URL
  Headers headers;  ///< Host, Content-Length and User-Agent are added when missing
  std::string body;
  std::chrono::milliseconds connect_timeout{5'000};
  /// From the end of the connect to the last byte of the response.
  std::chrono::milliseconds response_timeout{15'000};
  size_t max_response_bytes = 8 * 1024 * 1024;
  TlsVerify tls_verify = TlsVerify::kVerifyPeer;
};

/// Options of a WebSocket client connection.
struct WebSocketConnectOptions {
  std::string url;  ///< absolute ws:// or wss:// URL
  Headers headers;  ///< extra headers of the upgrade request (e.g. X-Twilio-Signature)
  std::chrono::milliseconds connect_timeout{5'000};  ///< TCP + TLS + upgrade handshake
  size_t max_message_bytes = 1024 * 1024;
  TlsVerify tls_verify = TlsVerify::kVerifyPeer;
  /// Runs the connection (and every callback) on this executor, which must come from the
  /// same ClientContext's MakeExecutor() and outlive the connection. Null: a new one.
  Executor* executor = nullptr;
};

/// Asynchronous HTTP/1.1 and WebSocket client (Beast + Asio underneath; no Asio in this
/// header). http://, https://, ws:// and wss:// are supported; TLS verifies the server
/// certificate against the system store and the host name unless told otherwise.
///
/// Lifecycle: construct, start work (Fetch, ConnectWebSocket, MakeExecutor().Post...), call
/// Run() on one thread: it runs the I/O threads and blocks until Stop() was called and all
/// outstanding work is done. Stop() may be called from any thread, including callbacks.
/// Every public method is thread-safe. Callbacks never run inside the call that starts work.
class ClientContext {
 public:
  /// `threads` I/O threads (Run() uses the calling thread as one of them); 0 means 1.
  explicit ClientContext(unsigned threads);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  /// Runs the I/O threads until Stop() and all work are done.
  void Run();
  /// Lets Run() return once the remaining work is done. Idempotent.
  void Stop();
  /// Stops at once: pending operations are abandoned (their callbacks may never run).
  void Abort();

  /// A new serial executor on this context's threads.
  [[nodiscard]] std::unique_ptr<Executor> MakeExecutor();

  using FetchCallback = std::function<void(Result<Response>)>;
  /// Sends `request` and calls `done` once with the response (any status) or an error:
  /// kInvalidArgument (bad URL), kUnavailable (resolve/connect/TLS/read failure),
  /// kDeadlineExceeded (a timeout), kResourceExhausted (response too large), kProtocol
  /// (malformed response). `done` runs on `executor` when given (same rules as
  /// WebSocketConnectOptions::executor), else on an I/O thread.
  void Fetch(ClientRequest request, FetchCallback done, Executor* executor = nullptr);

  /// Called once the handshake succeeded; returns the listener that receives the messages.
  /// Returning null closes the connection (1000).
  using OpenCallback =
      std::function<std::shared_ptr<WebSocketListener>(std::shared_ptr<WebSocket> socket)>;
  /// Called instead of OpenCallback when the connection or handshake fails. A refused upgrade
  /// (non-101 status) is kUnauthenticated for 401/403 and kUnavailable otherwise; the message
  /// carries the status.
  using ConnectErrorCallback = std::function<void(Error)>;

  /// Opens a WebSocket. Exactly one of the callbacks runs, on the connection's executor.
  /// The listener then gets OnText/OnBinary and exactly one OnClose (also when we close).
  void ConnectWebSocket(WebSocketConnectOptions options, OpenCallback on_open,
                        ConnectErrorCallback on_error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct HttpPoolOptions {
  size_t max_idle_per_endpoint = 8;
  /// A kept connection idle for longer is closed rather than used (servers close theirs).
  std::chrono::seconds idle_timeout{20};
};

struct HttpPoolStats {
  uint64_t requests = 0;
  uint64_t connections_opened = 0;
};

/// Blocking HTTP/1.1 with keep-alive, for clients that call the same few endpoints again and
/// again (AWS): connections per (scheme, host, port) are kept open and reused instead of a new
/// TCP and TLS handshake per request. A kept connection the server closed meanwhile is noticed
/// on use (no answer at all) and the request goes once more on a new one. Runs one I/O thread
/// of its own. Thread-safe; never call Fetch from that thread.
class HttpPool {
 public:
  explicit HttpPool(HttpPoolOptions options = {});
  ~HttpPool();
  HttpPool(const HttpPool&) = delete;
  HttpPool& operator=(const HttpPool&) = delete;

  /// As FetchBlocking, on a kept connection when there is one.
  Result<Response> Fetch(ClientRequest request);
  [[nodiscard]] HttpPoolStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Whether a failed Fetch may have delivered its request to the server: false only for the
/// failures before any byte was sent (a bad URL, resolving, connecting, the TLS handshake).
/// A request that changes something is sent again only when this is false (or when it is
/// idempotent). Thread-safe (pure function).
bool RequestMayHaveArrived(const Error& error);

/// Sends one request on a private one-thread context and waits for the answer. For tools and
/// tests; never call it on an I/O thread.
Result<Response> FetchBlocking(ClientRequest request);

}  // namespace tempo::net
