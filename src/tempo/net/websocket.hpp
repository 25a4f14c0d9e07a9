#pragma once

#include "tempo/base/executor.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tempo::net {

/// How a WebSocket ended.
struct CloseInfo {
  uint16_t code = 1005;  ///< close code from the peer or ours; 1006 = dropped without close
  std::string reason;
  bool by_peer = false;  ///< true when the peer closed or the socket dropped
};

/// The server side of an accepted WebSocket. Owned by the server; applications hold a
/// shared_ptr. Every method is thread-safe: work is posted to the connection's executor.
/// Sends after close are dropped. Outgoing messages are queued and written in order.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  virtual void SendText(std::string message) = 0;
  virtual void SendBinary(std::string message) = 0;
  /// Starts the closing handshake; the listener's OnClose follows.
  virtual void Close(uint16_t code, std::string reason) = 0;
  /// The serial executor that runs this connection's listener callbacks.
  virtual Executor& executor() = 0;
  /// Bytes queued but not yet written (for back-pressure decisions).
  [[nodiscard]] virtual size_t QueuedBytes() const = 0;
};

/// Application side of a WebSocket. Callbacks run on the connection's executor, one at a
/// time; OnClose is called exactly once and is the last call.
class WebSocketListener {
 public:
  virtual ~WebSocketListener() = default;
  virtual void OnText(std::string_view message) = 0;
  virtual void OnBinary(std::string_view message) = 0;
  virtual void OnClose(const CloseInfo& info) = 0;
};

}  // namespace tempo::net
