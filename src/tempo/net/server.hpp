#pragma once

#include "tempo/base/executor.hpp"
#include "tempo/base/result.hpp"
#include "tempo/net/router.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tempo::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 3000;                 ///< 0 picks a free port; read it back with Server::port()
  unsigned threads = 0;                 ///< I/O threads; 0 = hardware concurrency
  size_t max_header_bytes = 16 * 1024;  ///< larger request head -> 431
  size_t max_body_bytes = 1024 * 1024;  ///< larger body -> 413
  size_t max_ws_message_bytes = 64 * 1024;  ///< larger WebSocket message -> close 1009
  /// Time allowed to receive one whole request (head and body); a client that never finishes
  /// is closed. Also bounds how long a handler may take before 503.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  ///< keep-alive connection with no request
  /// Time allowed for a request head once its first byte came (a client slower than this,
  /// such as a slowloris, is closed).
  std::chrono::milliseconds head_timeout{5'000};
  /// Open connections (HTTP and WebSocket) at most; 0 = no cap. At the cap the connection
  /// that has been idle or receiving its request the longest is closed to make room; when
  /// every one is busy, new connections wait in the listen backlog until one closes.
  size_t max_connections = 0;
  /// Connections over the cap while the ones chosen to make room are closing (so that health
  /// checks and metrics keep answering during a flood of slow clients).
  size_t shed_reserve = 16;
  /// From three quarters of max_connections, the idle wait and the head deadline of new
  /// requests shrink to this.
  std::chrono::milliseconds pressure_timeout{1'000};
  std::chrono::milliseconds shutdown_grace{10'000};  ///< drain deadline after Stop()
  bool handle_signals = true;                        ///< SIGTERM/SIGINT start a graceful shutdown
};

/// HTTP/1.1 + WebSocket server on one port (Beast + Asio C++20 coroutines underneath).
///
/// Lifecycle: construct, Listen() (binds; the port is known after it), Run() (blocks the
/// calling thread and the I/O threads until shutdown completes), Stop() from any thread or a
/// signal: stop accepting, let in-flight requests finish and WebSockets close (going-away,
/// 1001), force-close whatever remains at the grace deadline, then Run() returns.
class Server {
 public:
  Server(ServerOptions options, const Router& router);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds and listens. Errors name the address ("cannot listen on 127.0.0.1:3000: ...").
  Result<void> Listen();
  [[nodiscard]] uint16_t port() const;

  /// Serves until shutdown completes. Returns ok on a graceful stop. Before it returns, every
  /// task queued with RunBlocking (and every task those queue) has run: the caller may destroy
  /// what those tasks use as soon as Run returns.
  Result<void> Run();
  /// Begins graceful shutdown. Thread-safe, idempotent.
  void Stop();

  /// A new serial executor on the server's I/O threads (for work not tied to a connection).
  [[nodiscard]] std::unique_ptr<Executor> MakeExecutor();
  /// Runs `fn` on a small pool of threads reserved for blocking work (files, databases),
  /// never on the I/O threads. Once Run has begun draining that pool, `fn` runs on the calling
  /// thread instead.
  void RunBlocking(std::function<void()> fn);
  /// How many blocking tasks ran after the stop began (the per-call work a stop drained; also
  /// the counter tempo_shutdown_blocking_tasks_total).
  [[nodiscard]] uint64_t BlockingTasksRunAfterStop() const;
  /// Registers `fn` to run once when shutdown begins (e.g. ask calls to wind down).
  void OnShutdown(std::function<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tempo::net
