#pragma once
// Private to net/ (includes Asio and Beast): the sending side of a WebSocket connection, shared
// by the server's and the client's. Whole messages wait in a queue and one writer coroutine on
// the connection's strand writes them in order; a requested close is sent after what was queued
// before it. Everything but Reserve() and queued_bytes() runs on that strand.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace tempo::net::detail {

class WsOutbox {
 public:
  enum class Kind : uint8_t { kText, kBinary };

  /// Any thread: counts a message before it is posted to the strand, so that QueuedBytes()
  /// includes what is on its way to the queue.
  void Reserve(std::size_t bytes) { queued_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  [[nodiscard]] std::size_t queued_bytes() const {
    return queued_bytes_.load(std::memory_order_relaxed);
  }

  /// Queues a Reserve()d message; `accepting` is false once the connection closed. A message
  /// after a close request, or on a closed connection, is dropped (false).
  bool Push(std::string message, Kind kind, bool accepting) {
    if (!accepting || close_request_) {
      queued_bytes_.fetch_sub(message.size(), std::memory_order_relaxed);
      return false;
    }
    queue_.push_back(Outgoing{std::move(message), kind});
    return true;
  }

  /// Asks for the closing handshake after the queued messages. The first request wins; false
  /// for later ones and on a closed connection.
  bool RequestClose(uint16_t code, std::string reason, bool accepting) {
    if (!accepting || close_request_) return false;
    if (reason.size() > 123) reason.resize(123);  // RFC 6455 limit
    close_request_.emplace(static_cast<boost::beast::websocket::close_code>(code), reason);
    return true;
  }

  /// True (and the writer counts as started) when the connection is `open`, no writer runs and
  /// there is something to write; the caller then spawns Write().
  bool ClaimWriter(bool open) {
    if (writing_ || !open) return false;
    if (queue_.empty() && !(close_request_ && !close_sent_)) return false;
    writing_ = true;
    return true;
  }

  /// Drops what is queued (the connection ended).
  void Drop() {
    for (const auto& m : queue_) {
      queued_bytes_.fetch_sub(m.data.size(), std::memory_order_relaxed);
    }
    queue_.clear();
  }

  [[nodiscard]] const std::optional<boost::beast::websocket::close_reason>& close_request() const {
    return close_request_;
  }
  [[nodiscard]] bool close_sent() const { return close_sent_; }
  /// The close frame was sent and its handshake has not completed: the close operation owns
  /// the connection (a read pending meanwhile completes early).
  [[nodiscard]] bool close_in_flight() const { return close_in_flight_; }

  /// The writer: writes the queue in order while `open()` holds, then the requested close.
  /// Returns the close handshake's result when this run sent the close; nullopt otherwise
  /// (nothing to close, or a write failed: the queue is dropped and the read side reports it).
  template <class Stream, class IsOpen>
  boost::asio::awaitable<std::optional<boost::beast::error_code>> Write(Stream& ws, IsOpen open) {
    constexpr auto kUseTuple = boost::asio::as_tuple(boost::asio::use_awaitable);
    while (!queue_.empty() && open()) {
      // Owned by this frame while written: the connection may drop the queue meanwhile.
      Outgoing message = std::move(queue_.front());
      queue_.pop_front();
      ws.binary(message.kind == Kind::kBinary);
      auto [ec, n] = co_await ws.async_write(boost::asio::buffer(message.data), kUseTuple);
      queued_bytes_.fetch_sub(message.data.size(), std::memory_order_relaxed);
      if (ec) {
        Drop();
        writing_ = false;
        co_return std::nullopt;
      }
    }
    std::optional<boost::beast::error_code> closed;
    if (close_request_ && !close_sent_ && open()) {
      close_sent_ = true;
      close_in_flight_ = true;
      auto [ec] = co_await ws.async_close(*close_request_, kUseTuple);
      close_in_flight_ = false;
      closed = ec;
    }
    writing_ = false;
    co_return closed;
  }

 private:
  struct Outgoing {
    std::string data;
    Kind kind;
  };

  std::deque<Outgoing> queue_;
  std::atomic<std::size_t> queued_bytes_{0};
  bool writing_ = false;
  std::optional<boost::beast::websocket::close_reason> close_request_;
  bool close_sent_ = false;
  bool close_in_flight_ = false;
};

}  // namespace tempo::net::detail
