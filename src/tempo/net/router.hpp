#pragma once

#include "tempo/net/http.hpp"
#include "tempo/net/websocket.hpp"

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tempo::net {

/// Completes an asynchronous request. Move-only; Send() may be called from any thread,
/// exactly once. Dropping an unsent Responder answers 500 so a request never hangs.
class Responder {
 public:
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void Send(Response response) = 0;
  };
  Responder() = default;
  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&&) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void Send(Response response);

 private:
  std::shared_ptr<Sink> sink_;
};

/// Handler kinds. Synchronous handlers run on an I/O thread and must not block.
using SyncHandler = std::function<Response(const Request&)>;
using AsyncHandler = std::function<void(Request, Responder)>;

/// Result of a WebSocket upgrade handler: a Response rejects the upgrade (sent as plain HTTP,
/// e.g. 403 for a bad signature); a listener accepts it.
using UpgradeDecision = std::variant<Response, std::shared_ptr<WebSocketListener>>;
/// Called before the handshake completes. The socket may be used at once (sends are queued
/// until the handshake is done) and is valid for the listener's whole life.
using UpgradeHandler =
    std::function<UpgradeDecision(const Request&, std::shared_ptr<WebSocket> socket)>;

/// Maps (method, path) to handlers. Patterns are literal segments and `{name}` segments that
/// match one non-empty path segment: "/agent/{agentId}/incoming-call".
/// Build the router before the server starts; it is read-only afterwards.
class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  void Add(Method method, std::string_view pattern, SyncHandler handler);
  void AddAsync(Method method, std::string_view pattern, AsyncHandler handler);
  void AddWebSocket(std::string_view pattern, UpgradeHandler handler);

  struct Match {
    /// kUpgradeRequired: the path belongs to a WebSocket route but the request is a plain
    /// GET without `Upgrade: websocket` (the server answers 426).
    enum class Kind { kNotFound, kMethodNotAllowed, kUpgradeRequired, kHandler, kWebSocket };
    Kind kind = Kind::kNotFound;
    const SyncHandler* sync = nullptr;
    const AsyncHandler* async = nullptr;
    const UpgradeHandler* upgrade = nullptr;
    std::string route;  ///< the matched pattern, for metrics labels (bounded cardinality)
    std::string allow;  ///< for kMethodNotAllowed: the Allow header value
    std::vector<std::pair<std::string, std::string>> params;
  };
  /// Finds the route for a request. `websocket` is true for an Upgrade: websocket request.
  /// Matching is exact (no trailing-slash folding, no percent-decoding). HEAD falls back to
  /// GET routes. The first matching route in registration order wins. Thread-safe once built.
  [[nodiscard]] Match Find(Method method, std::string_view path, bool websocket) const;

 private:
  struct Route;
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace tempo::net
