#include "tempo/net/server.hpp"

#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/net/beast_request.hpp"
#include "tempo/net/http_parse.hpp"
#include "tempo/net/strand_executor.hpp"
#include "tempo/net/ws_outbox.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <array>
#include <atomic>
#include <csignal>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <sys/socket.h>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

namespace tempo::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using detail::LogFailure;
using detail::Strand;
using Clock = std::chrono::steady_clock;

using detail::kUseTuple;
constexpr size_t kFirstReadBytes = 4096;
/// A connection keeps a read buffer at most this large between requests.
constexpr size_t kKeepBufferBytes = 64 * 1024;
/// Read size while skipping the rest of a WebSocket message we refused.
constexpr size_t kDiscardChunk = 16 * 1024;
/// After an error response, how long (and how much) we keep reading so that the client sees
/// the response instead of a reset caused by unread request bytes.
constexpr std::chrono::milliseconds kLingerTime{1000};
constexpr size_t kLingerMaxBytes = 8 * 1024 * 1024;
constexpr std::chrono::milliseconds kShutdownPoll{10};
// How often a full server looks again for room for a new connection.
constexpr std::chrono::milliseconds kRoomPoll{2};
// Once the server is at its cap, how long a connection may wait before it can be shed: one
// that has sent nothing yet (a new client still writing, an idle keep-alive), and one that
// has begun a request head and not finished it (a slowloris; a real client sends its head at
// once).
constexpr std::chrono::milliseconds kShedGraceSilent{200};
constexpr std::chrono::milliseconds kShedGraceHead{20};
constexpr std::chrono::milliseconds kForceCloseWait{1000};
// How long a stop waits, after the connections have closed, for the per-call work they left
// (artefacts, indexing) to finish. What is not done by then stays in the spool for the next start.
constexpr std::chrono::milliseconds kBlockingDrainWait{30'000};
constexpr std::string_view kServerName = "tempovoice";

// ---- Metrics (R12: one list, bounded labels) --------------------------------------------

#define TEMPO_NET_REJECT_REASONS(X) X(malformed) X(header_too_large) X(body_too_large) X(timeout)

constexpr std::array<std::string_view, 5> kCodeClasses = {"1xx", "2xx", "3xx", "4xx", "5xx"};

struct NetMetrics {
  metrics::Gauge& connections_active;
  metrics::Gauge& websockets_active;
  metrics::Histogram& request_duration_seconds;
  metrics::Counter& connections_shed;
  metrics::Gauge& connections_limit;
#define TEMPO_NET_REJECT_MEMBER_(name) metrics::Counter& rejected_##name;
  TEMPO_NET_REJECT_REASONS(TEMPO_NET_REJECT_MEMBER_)
#undef TEMPO_NET_REJECT_MEMBER_

  using ClassCounters = std::array<metrics::Counter*, kCodeClasses.size()>;

  /// Counters of tempo_http_requests_total for one route label, registered on first use.
  const ClassCounters& RequestCounters(std::string_view route) {
    {
      std::shared_lock lock(mutex_);
      auto it = by_route_.find(route);
      if (it != by_route_.end()) return it->second;
    }
    std::unique_lock lock(mutex_);
    auto [it, inserted] = by_route_.try_emplace(std::string(route));
    if (inserted) {
      for (size_t i = 0; i < kCodeClasses.size(); ++i) {
        it->second[i] = &metrics::Registry::Global().AddCounter(
            "tempo_http_requests_total",
            "HTTP requests answered, by route pattern and status class",
            {{"route", std::string(route)}, {"code_class", std::string(kCodeClasses[i])}});
      }
    }
    return it->second;
  }

  void CountRequest(std::string_view route, int status, Clock::time_point started) {
    size_t cls = status >= 100 && status < 600 ? static_cast<size_t>(status / 100 - 1) : 4;
    RequestCounters(route.empty() ? "unmatched" : route)[cls]->Inc();
    std::chrono::duration<double> elapsed = Clock::now() - started;
    request_duration_seconds.Observe(elapsed.count());
  }

  void CountRejection(ParseOutcome outcome) {
    switch (outcome) {
      case ParseOutcome::kMalformed:
        rejected_malformed.Inc();
        break;
      case ParseOutcome::kHeaderTooLarge:
        rejected_header_too_large.Inc();
        break;
      case ParseOutcome::kBodyTooLarge:
        rejected_body_too_large.Inc();
        break;
      case ParseOutcome::kComplete:
      case ParseOutcome::kIncomplete:
        break;
    }
  }

  static NetMetrics& Get() {
    auto& r = metrics::Registry::Global();
    static NetMetrics m{
        r.AddGauge("tempo_http_connections_active", "Open HTTP connections"),
        r.AddGauge("tempo_websockets_active", "Open WebSocket connections"),
        r.AddHistogram("tempo_http_request_duration_seconds",
                       "Time from request head received to response written",
                       metrics::LatencyBucketsSeconds()),
        r.AddCounter("tempo_http_connections_shed_total",
                     "Idle or slow connections closed to make room at the connection cap"),
        r.AddGauge("tempo_http_connections_limit",
                   "Open connections (HTTP and WebSocket) the server takes at most (0: no cap)"),
#define TEMPO_NET_REJECT_INIT_(name)                                            \
  r.AddCounter("tempo_http_rejected_total", "Requests rejected before routing", \
               {{"reason", #name}}),
        TEMPO_NET_REJECT_REASONS(TEMPO_NET_REJECT_INIT_)
#undef TEMPO_NET_REJECT_INIT_
            {},
        {},
    };
    return m;
  }

  std::shared_mutex mutex_;
  std::map<std::string, ClassCounters, std::less<>> by_route_;
};

}  // namespace

// ---- Connections -----------------------------------------------------------------------

namespace detail {

/// Something the server must reach at shutdown. Its methods run on its strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  explicit Connection(Strand strand) : strand_(std::move(strand)) {}
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Shutdown has begun: finish what is in flight, then close.
  virtual void NotifyShutdown() = 0;
  /// The grace period is over: close the socket now.
  virtual void ForceClose() = 0;
  /// Chosen to make room at the connection cap: close now if still idle or still receiving
  /// its request (it may have become busy since it was chosen; then it stays).
  virtual void Shed() {}
  [[nodiscard]] const Strand& strand() const { return strand_; }

  /// From when the connection may be shed (steady-clock ticks): it is idle or short of a
  /// request, and its grace ends then. kBusy while it is handling a request (or is a
  /// WebSocket). The accept loop sheds the one whose grace ended first.
  static constexpr int64_t kBusy = 0;
  static constexpr int64_t kChosen = -1;
  std::atomic<int64_t> sheddable_from{kBusy};
  void SheddableAfter(std::chrono::milliseconds grace) {
    sheddable_from.store((Clock::now() + grace).time_since_epoch().count(),
                         std::memory_order_relaxed);
  }

 protected:
  Strand strand_;
};

/// Server state shared by the sessions (Server::Impl is this; the name is private to Server).
struct ServerCore {
  ServerCore(ServerOptions opts, const Router& r)
      : options(std::move(opts)),
        router(r),
        limits{options.max_header_bytes, options.max_body_bytes},
        metrics(NetMetrics::Get()),
        ioc(static_cast<int>(ThreadCount())),
        control(asio::make_strand(ioc)),
        acceptor(control),
        signals(control) {}

  ~ServerCore() { blocking.join(); }
  ServerCore(const ServerCore&) = delete;
  ServerCore& operator=(const ServerCore&) = delete;

  [[nodiscard]] unsigned ThreadCount() const {
    if (options.threads != 0) return options.threads;
    return std::max(1U, std::thread::hardware_concurrency());
  }

  void Register(const std::shared_ptr<Connection>& connection) {
    bool notify = false;
    {
      std::lock_guard lock(mutex);
      if (connections.emplace(connection.get(), connection).second) ++open_connections;
      notify = shutdown_notified;
    }
    if (notify) {
      asio::post(connection->strand(), [c = connection]() { c->NotifyShutdown(); });
    }
  }

  void Unregister(Connection* connection) {
    std::lock_guard lock(mutex);
    if (connections.erase(connection) != 0) --open_connections;
  }

  /// At three quarters of the connection cap, new requests get the short deadlines.
  [[nodiscard]] bool UnderPressure() const {
    const size_t cap = options.max_connections;
    return cap != 0 && open_connections.load(std::memory_order_relaxed) * 4 >= cap * 3;
  }

  /// Tells the connection whose grace ended first (idle, or short of its request) to close, if
  /// on its strand it has no unread bytes either. False when there is none.
  bool ShedOldest() {
    std::shared_ptr<Connection> victim;
    const int64_t now = Clock::now().time_since_epoch().count();
    {
      std::lock_guard lock(mutex);
      // A connection in the map is alive while the lock is held (its destructor unregisters
      // it under this lock), so the scan reads it through the raw pointer and takes a
      // reference only to the one it picks.
      Connection* oldest = nullptr;  // the first to become sheddable
      int64_t first_from = 0;
      for (const auto& entry : connections) {
        const int64_t from = entry.first->sheddable_from.load(std::memory_order_relaxed);
        if (from > 0 && from <= now && (oldest == nullptr || from < first_from)) {
          oldest = entry.first;
          first_from = from;
        }
      }
      if (oldest == nullptr ||
          !oldest->sheddable_from.compare_exchange_strong(first_from, Connection::kChosen)) {
        return false;  // none, or it became busy meanwhile: look again next time
      }
      victim = connections.at(oldest).lock();
    }
    if (!victim) return false;
    metrics.connections_shed.Inc();
    TEMPO_LOG_LIMITED(net, warn,
                      "connection cap ({}) reached: closing the oldest idle or slow connection",
                      options.max_connections);
    asio::post(victim->strand(), [victim]() { victim->Shed(); });
    return true;
  }

  asio::awaitable<bool> MakeRoom();

  size_t ConnectionCount() const { return open_connections.load(); }

  /// Posts fn(connection) onto every live connection's strand.
  template <class Fn>
  void ForEachConnection(Fn fn) {
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard lock(mutex);
      for (auto& [raw, weak] : connections) {
        if (auto strong = weak.lock()) live.push_back(std::move(strong));
      }
    }
    for (auto& c : live) {
      asio::post(c->strand(), [c, fn]() { fn(*c); });
    }
  }

  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Shutdown();
  void WaitForSignal();

  ServerOptions options;
  const Router& router;
  RequestLimits limits;
  NetMetrics& metrics;

  std::atomic<bool> stopping{false};
  std::atomic<bool> stop_requested{false};

  std::mutex mutex;  // guards the members below
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections;
  std::atomic<size_t> open_connections{0};  // connections.size(), read without the lock
  std::vector<std::function<void()>> shutdown_callbacks;
  bool shutdown_notified = false;
  bool callbacks_ran = false;

  // Declared after everything sessions touch, so that pending handlers (and the sessions
  // they own) are destroyed while the members above are still alive.
  asio::io_context ioc;
  Strand control;  // acceptor, signals and the shutdown sequence
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  uint16_t bound_port = 0;
  asio::thread_pool blocking{2};
  // Run() drains the pool before it returns, while everything its tasks use (runtime, control
  // plane, database, object store: owned by Run's caller) is still alive. Once draining starts,
  // RunBlocking runs a task on the calling thread instead, so no task is queued and never run.
  std::mutex blocking_mutex;
  bool blocking_draining = false;
  std::atomic<uint64_t> blocking_pending{0};
  std::atomic<uint64_t> blocking_run_while_stopping{0};
  metrics::Counter& blocking_drained_total = metrics::Registry::Global().AddCounter(
      "tempo_shutdown_blocking_tasks_total",
      "Blocking tasks (a call's artefacts, its indexing) that ran after a stop began");

  /// Runs every queued blocking task (and any they queue) to its end.
  void DrainBlocking() {
    {
      std::lock_guard lock(blocking_mutex);
      blocking_draining = true;
    }
    blocking.join();
  }
};

}  // namespace detail

namespace {

using detail::Connection;
using detail::ServerCore;

// ---- WebSocket ---------------------------------------------------------------------------

class WsConnection final : public Connection, public WebSocket {
 public:
  WsConnection(ServerCore& impl, Strand strand)
      : Connection(strand), impl_(impl), executor_(strand) {}
  ~WsConnection() override { impl_.Unregister(this); }

  void SendText(std::string message) override { Send(std::move(message), Kind::kText); }
  void SendBinary(std::string message) override { Send(std::move(message), Kind::kBinary); }

  void Close(uint16_t code, std::string reason) override {
    asio::post(strand_, [self = Self(), code, reason = std::move(reason)]() mutable {
      self->RequestClose(code, std::move(reason));
    });
  }

  Executor& executor() override { return executor_; }
  [[nodiscard]] size_t QueuedBytes() const override { return outbox_.queued_bytes(); }

  void NotifyShutdown() override { RequestClose(1001, "going away"); }

  void ForceClose() override {
    force_closed_ = true;
    if (stream_) beast::get_lowest_layer(*stream_).close();
  }

  /// The upgrade was refused: the socket never opens. On the strand.
  void Abandon() {
    state_ = State::kClosed;
    outbox_.Drop();
    impl_.Unregister(this);
  }

  /// Takes over the HTTP connection and completes the handshake. On the strand.
  void Start(beast::tcp_stream stream, detail::BeastRequest request,
             std::shared_ptr<WebSocketListener> listener) {
    stream_.emplace(std::move(stream));
    listener_ = std::move(listener);
    asio::co_spawn(strand_, Run(Self(), std::move(request)), LogFailure("websocket session"));
  }

 private:
  using Kind = detail::WsOutbox::Kind;
  enum class State { kHandshake, kOpen, kClosed };

  std::shared_ptr<WsConnection> Self() {
    return std::static_pointer_cast<WsConnection>(shared_from_this());
  }

  void Send(std::string message, Kind kind) {
    outbox_.Reserve(message.size());
    // Call sessions send from the connection's own strand: queue at once, without a post
    // (one allocation and one queue hop less per media message).
    if (strand_.running_in_this_thread()) {
      Enqueue(std::move(message), kind);
      return;
    }
    asio::post(strand_, [self = Self(), message = std::move(message), kind]() mutable {
      self->Enqueue(std::move(message), kind);
    });
  }

  void Enqueue(std::string message, Kind kind) {
    if (outbox_.Push(std::move(message), kind, state_ != State::kClosed)) MaybeStartWriter();
  }

  void RequestClose(uint16_t code, std::string reason) {
    if (outbox_.RequestClose(code, std::move(reason), state_ != State::kClosed)) {
      MaybeStartWriter();
    }
  }

  void MaybeStartWriter() {
    if (!outbox_.ClaimWriter(state_ == State::kOpen)) return;
    asio::co_spawn(strand_, WriteLoop(Self()), LogFailure("websocket writer"));
  }

  static asio::awaitable<void> WriteLoop(std::shared_ptr<WsConnection> self) {
    co_await self->DoWrites();
  }

  asio::awaitable<void> DoWrites() {
    auto closed = co_await outbox_.Write(*stream_, [this] { return state_ == State::kOpen; });
    if (!closed) co_return;
    const error_code ec = *closed;
    if (ec) TEMPO_LOG(net, debug, "websocket close failed: {}", ec.message());
    // A read pending when the close started completes early (operation_aborted); the close
    // operation then owns the connection and its result is how the socket ended.
    close_result_ = ec && ec != websocket::error::closed ? CloseInfoFor(ec) : OurCloseInfo();
    if (read_ended_) Finish(std::move(*close_result_));
  }

  static asio::awaitable<void> Run(std::shared_ptr<WsConnection> self,
                                   detail::BeastRequest request) {
    co_await self->Serve(std::move(request));
  }

  asio::awaitable<void> Serve(detail::BeastRequest request) {
    auto& ws = *stream_;
    beast::get_lowest_layer(ws).expires_never();
    ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, kServerName); }));
    ws.read_message_max(0);  // enforced by Serve's read loop

    auto [accept_ec] = co_await ws.async_accept(request, kUseTuple);
    if (accept_ec) {
      Finish(CloseInfo{1006, "handshake failed", true});
      co_return;
    }
    impl_.metrics.websockets_active.Add(1);
    opened_ = true;
    state_ = State::kOpen;
    MaybeStartWriter();

    // The size limit is enforced here rather than with read_message_max: on an oversized
    // message Beast 1.81 tears the TCP connection down with the rest of the message unread,
    // which resets the connection before the peer sees the 1009 close frame. A regular
    // closing handshake (async_close while this loop keeps reading and discarding) does not.
    const size_t max_message = impl_.options.max_ws_message_bytes;
    beast::flat_buffer buffer;
    bool discarding = false;
    CloseInfo info;
    while (true) {
      size_t room = discarding ? kDiscardChunk : max_message + 1 - buffer.size();
      auto [ec, n] = co_await ws.async_read_some(buffer, room, kUseTuple);
      if (ec) {
        info = CloseInfoFor(ec);
        break;
      }
      if (discarding) {
        buffer.clear();
        continue;
      }
      if (buffer.size() > max_message) {
        TEMPO_LOG_LIMITED(net, info, "websocket message over {} bytes: closing", max_message);
        discarding = true;
        buffer.clear();
        RequestClose(1009, "message too big");
        continue;
      }
      if (!ws.is_message_done()) continue;
      std::string_view message(static_cast<const char*>(buffer.data().data()), buffer.size());
      try {
        if (ws.got_text()) {
          listener_->OnText(message);
        } else {
          listener_->OnBinary(message);
        }
      } catch (const std::exception& e) {
        TEMPO_LOG(net, error, "websocket listener threw: {}", e.what());
        RequestClose(1011, "internal error");
        discarding = true;
      }
      buffer.consume(buffer.size());
    }
    if (outbox_.close_in_flight()) {
      read_ended_ = true;  // DoWrites finishes once the closing handshake completes
      co_return;
    }
    Finish(close_result_ ? std::move(*close_result_) : std::move(info));
  }

  CloseInfo CloseInfoFor(const error_code& ec) {
    if (force_closed_) return CloseInfo{1006, "server shutdown", false};
    if (ec == websocket::error::message_too_big) {
      return CloseInfo{1009, "message too big", false};
    }
    if (ec == websocket::error::closed) {
      if (outbox_.close_sent() && outbox_.close_request()) return OurCloseInfo();
      const auto& reason = stream_->reason();
      uint16_t code = reason.code == websocket::close_code::none
                          ? uint16_t{1005}
                          : static_cast<uint16_t>(reason.code);
      return CloseInfo{code, std::string(reason.reason.c_str()), true};
    }
    return CloseInfo{1006, ec.message(), true};
  }

  CloseInfo OurCloseInfo() const {
    const auto& request = *outbox_.close_request();
    return CloseInfo{static_cast<uint16_t>(request.code), std::string(request.reason.c_str()),
                     false};
  }

  void Finish(CloseInfo info) {
    if (opened_) impl_.metrics.websockets_active.Add(-1);
    opened_ = false;
    state_ = State::kClosed;
    outbox_.Drop();
    if (auto listener = std::move(listener_)) {
      try {
        listener->OnClose(info);
      } catch (const std::exception& e) {
        TEMPO_LOG(net, error, "websocket OnClose threw: {}", e.what());
      }
    }
    if (stream_) beast::get_lowest_layer(*stream_).close();
    impl_.Unregister(this);
  }

  ServerCore& impl_;
  detail::StrandExecutor executor_;
  std::optional<websocket::stream<beast::tcp_stream>> stream_;
  std::shared_ptr<WebSocketListener> listener_;
  State state_ = State::kHandshake;
  detail::WsOutbox outbox_;
  bool force_closed_ = false;
  bool read_ended_ = false;
  std::optional<CloseInfo> close_result_;
  bool opened_ = false;
};

// ---- HTTP ------------------------------------------------------------------------------

enum class KeepAlive { kNo, kYes };
enum class BodyMode { kFull, kHeadOnly };

class HttpSession final : public Connection {
 public:
  HttpSession(ServerCore& impl, Strand strand, tcp::socket socket)
      : Connection(strand), impl_(impl), stream_(std::move(socket)), response_timer_(strand) {
    error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
    impl_.metrics.connections_active.Add(1);
  }
  ~HttpSession() override {
    impl_.metrics.connections_active.Add(-1);
    impl_.Unregister(this);
  }

  static asio::awaitable<void> Run(std::shared_ptr<HttpSession> self) {
    co_await self->Serve();
    self->CloseSocket();
  }

  void NotifyShutdown() override {
    // An idle keep-alive connection closes at once; a busy one closes after its response.
    if (idle_) stream_.cancel();
  }

  void ForceClose() override {
    stream_.close();
    response_timer_.cancel();
  }

  /// Delivers an async handler's answer (posted onto the strand by the sink).
  void OnAsyncResponse(uint64_t generation, Response response) {
    if (generation != generation_ || async_response_) return;  // late answer: dropped
    async_response_.emplace(std::move(response));
    response_timer_.cancel();
  }

 private:
  class Sink final : public Responder::Sink {
   public:
    Sink(std::weak_ptr<Connection> session, Strand strand, uint64_t generation)
        : session_(std::move(session)), strand_(std::move(strand)), generation_(generation) {}
    void Send(Response response) override {
      asio::post(strand_, [session = session_, generation = generation_,
                           response = std::move(response)]() mutable {
        if (auto s = session.lock()) {
          static_cast<HttpSession&>(*s).OnAsyncResponse(generation, std::move(response));
        }
      });
    }

   private:
    std::weak_ptr<Connection> session_;
    Strand strand_;
    uint64_t generation_;
  };

  void Shed() override {
    // Bytes waiting in the socket mean the client is not slow: the server has not read them
    // yet (a burst of real requests). Only a connection that has given us everything it sent
    // and is still short of a request goes.
    error_code ec;
    if (receiving_ && stream_.socket().available(ec) == 0 && !ec) stream_.close();
  }

  asio::awaitable<void> Serve() {
    const auto& options = impl_.options;
    while (true) {
      // Until the whole request is in, this connection is the first to go at the cap.
      receiving_ = true;
      SheddableAfter(buffer_.size() == 0 ? kShedGraceSilent : kShedGraceHead);
      // Under pressure a connection gets little time to be useful.
      const bool pressure = impl_.UnderPressure();
      if (buffer_.size() == 0) {
        if (impl_.stopping.load()) co_return;
        if (buffer_.capacity() > kKeepBufferBytes) buffer_.shrink_to_fit();
        // Wait for the first byte under the idle timeout; the head's deadline starts then.
        idle_ = true;
        stream_.expires_after(pressure ? std::min(options.idle_timeout, options.pressure_timeout)
                                       : options.idle_timeout);
        auto [ec, n] =
            co_await stream_.async_read_some(buffer_.prepare(kFirstReadBytes), kUseTuple);
        idle_ = false;
        if (ec) co_return;
        buffer_.commit(n);
        SheddableAfter(kShedGraceHead);  // the head has begun: it should all be here soon
      }

      parser_.emplace();
      detail::ConfigureParser(*parser_, impl_.limits);
      stream_.expires_after(std::min(options.request_timeout, impl_.UnderPressure()
                                                                  ? options.pressure_timeout
                                                                  : options.head_timeout));
      auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser_, kUseTuple);
      Clock::time_point started = Clock::now();
      if (!ec) stream_.expires_after(options.request_timeout);  // for the body
      if (!ec && !parser_->is_done()) {
        if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
          static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
          auto [wec, wn] = co_await asio::async_write(stream_, asio::buffer(kContinue), kUseTuple);
          ec = wec;
        }
        if (!ec) std::tie(ec, n) = co_await http::async_read(stream_, buffer_, *parser_, kUseTuple);
      }
      receiving_ = false;
      sheddable_from.store(kBusy, std::memory_order_relaxed);
      if (ec) {
        co_await OnReadError(ec, started);
        co_return;
      }
      auto next = co_await HandleRequest(started);
      if (next == KeepAlive::kNo) co_return;
    }
  }

  asio::awaitable<void> OnReadError(error_code ec, Clock::time_point started) {
    if (ec == beast::error::timeout) {
      impl_.metrics.rejected_timeout.Inc();
      TEMPO_LOG_LIMITED(net, info, "closing {}: request not received in time", remote_);
      co_return;
    }
    auto rejection = detail::RejectionFor(ec);
    if (!rejection) co_return;  // the peer went away
    impl_.metrics.CountRejection(*rejection);
    TEMPO_LOG_LIMITED(net, info, "rejecting request from {}: {}", remote_, ec.message());
    Response response = RejectionResponse(*rejection);
    int status = response.status;
    if (co_await WriteResponse(std::move(response), 11, KeepAlive::kNo, BodyMode::kFull)) {
      impl_.metrics.CountRequest({}, status, started);
      co_await LingeringClose();
    }
  }

  /// Answers one complete request; returns whether the connection stays open.
  asio::awaitable<KeepAlive> HandleRequest(Clock::time_point started) {
    auto& beast_req = parser_->get();
    Method method = ParseMethod(beast_req.method_string());
    std::string_view target = beast_req.target();
    std::string_view path = target.substr(0, target.find('?'));
    bool upgrade = websocket::is_upgrade(beast_req);
    Router::Match match = impl_.router.Find(method, path, upgrade);
    unsigned version = beast_req.version();
    KeepAlive keep_alive = beast_req.keep_alive() ? KeepAlive::kYes : KeepAlive::kNo;
    BodyMode body_mode = method == Method::kHead ? BodyMode::kHeadOnly : BodyMode::kFull;

    if (match.kind == Router::Match::Kind::kWebSocket) {
      co_await Upgrade(std::move(match), started);
      co_return KeepAlive::kNo;
    }

    Response response;
    if (auto routed = RoutingResponse(match)) {
      response = std::move(*routed);
    } else {
      Request request = detail::ToRequest(beast_req, remote_);
      request.path_params = std::move(match.params);
      if (match.sync != nullptr) {
        response = CallSync(*match.sync, request);
      } else {
        response = co_await CallAsync(*match.async, std::move(request));
      }
    }
    parser_.reset();  // the request is no longer needed; free it before the write

    if (impl_.stopping.load()) keep_alive = KeepAlive::kNo;
    int status = response.status;
    if (!co_await WriteResponse(std::move(response), version, keep_alive, body_mode)) {
      co_return KeepAlive::kNo;
    }
    impl_.metrics.CountRequest(match.route, status, started);
    if (impl_.stopping.load()) co_return KeepAlive::kNo;
    co_return keep_alive;
  }

  static Response CallSync(const SyncHandler& handler, const Request& request) {
    try {
      return handler(request);
    } catch (const std::exception& e) {
      TEMPO_LOG(net, error, "handler for {} threw: {}", request.path, e.what());
    } catch (...) {
      TEMPO_LOG(net, error, "handler for {} threw", request.path);
    }
    return Response::Error(500, "internal", "internal error");
  }

  asio::awaitable<Response> CallAsync(const AsyncHandler& handler, Request request) {
    uint64_t generation = ++generation_;
    async_response_.reset();
    std::string path = request.path;
    try {
      handler(std::move(request),
              Responder(std::make_shared<Sink>(weak_from_this(), strand_, generation)));
    } catch (const std::exception& e) {
      // The responder was destroyed during unwinding and will answer 500.
      TEMPO_LOG(net, error, "async handler for {} threw: {}", path, e.what());
    }
    if (!async_response_) {
      response_timer_.expires_after(impl_.options.request_timeout);
      co_await response_timer_.async_wait(kUseTuple);
    }
    ++generation_;  // answers arriving from now on belong to nobody
    if (async_response_) {
      Response response = std::move(*async_response_);
      async_response_.reset();
      co_return response;
    }
    TEMPO_LOG_LIMITED(net, warn, "handler for {} did not answer in time", path);
    co_return Response::Error(503, "handler_timeout", "the handler did not answer in time");
  }

  asio::awaitable<void> Upgrade(Router::Match match, Clock::time_point started) {
    auto& beast_req = parser_->get();
    Request request = detail::ToRequest(beast_req, remote_);
    request.path_params = std::move(match.params);
    auto socket = std::make_shared<WsConnection>(impl_, strand_);
    impl_.Register(socket);
    UpgradeDecision decision = Response::Error(500, "internal", "upgrade handler failed");
    try {
      decision = (*match.upgrade)(request, socket);
    } catch (const std::exception& e) {
      TEMPO_LOG(net, error, "upgrade handler for {} threw: {}", request.path, e.what());
    }
    auto* listener = std::get_if<std::shared_ptr<WebSocketListener>>(&decision);
    if (listener == nullptr || *listener == nullptr) {
      socket->Abandon();
      Response response = listener == nullptr ? std::get<Response>(std::move(decision))
                                              : Response::Error(500, "internal",
                                                                "upgrade handler gave no listener");
      int status = response.status;
      if (co_await WriteResponse(std::move(response), beast_req.version(), KeepAlive::kNo,
                                 BodyMode::kFull)) {
        impl_.metrics.CountRequest(match.route, status, started);
      }
      co_return;
    }
    impl_.metrics.CountRequest(match.route, 101, started);
    detail::BeastRequest handshake = parser_->release();
    socket->Start(std::move(stream_), std::move(handshake), std::move(*listener));
    upgraded_ = true;
  }

  /// Writes a response; returns false if the connection failed.
  asio::awaitable<bool> WriteResponse(Response response, unsigned version, KeepAlive keep_alive,
                                      BodyMode body_mode) {
    http::response<http::string_body> res;
    res.version(version);
    res.result(static_cast<unsigned>(response.status));
    res.reason(StatusReason(response.status));
    for (auto& field : response.headers.fields()) {
      // Framing headers are ours to set.
      if (beast::iequals(field.name, "content-length") ||
          beast::iequals(field.name, "transfer-encoding") ||
          beast::iequals(field.name, "connection")) {
        continue;
      }
      res.insert(field.name, field.value);
    }
    res.set(http::field::server, kServerName);
    if (response.status != 204 && response.status != 304 && response.status >= 200) {
      res.content_length(response.body.size());
    }
    if (body_mode == BodyMode::kFull) res.body() = std::move(response.body);
    res.keep_alive(keep_alive == KeepAlive::kYes);
    stream_.expires_after(impl_.options.request_timeout);
    auto [ec, n] = co_await http::async_write(stream_, res, kUseTuple);
    co_return !ec;
  }

  /// Half-closes, then drains what the client still sends so it reads our error response.
  asio::awaitable<void> LingeringClose() {
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) co_return;
    stream_.expires_after(kLingerTime);
    size_t drained = 0;
    while (drained < kLingerMaxBytes) {
      buffer_.clear();
      auto [rec, n] = co_await stream_.async_read_some(buffer_.prepare(16 * 1024), kUseTuple);
      if (rec) break;
      drained += n;
    }
  }

  void CloseSocket() {
    if (upgraded_) return;
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  ServerCore& impl_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // reused across the connection's requests
  std::optional<detail::BeastRequestParser> parser_;
  std::string remote_;
  bool idle_ = false;
  bool receiving_ = false;  // idle, or the request is not all in yet
  bool upgraded_ = false;
  asio::steady_timer response_timer_;
  uint64_t generation_ = 0;
  std::optional<Response> async_response_;
};

}  // namespace

// ---- Accept + shutdown -----------------------------------------------------------------

namespace {

// Whether a new connection has sent part of a request head and not all of it (looked at
// without reading: the bytes stay for the session).
template <class Socket>
bool SentPartOfAHead(Socket& socket) {
  std::array<char, kFirstReadBytes> peeked{};
  const ssize_t n =
      ::recv(socket.native_handle(), peeked.data(), peeked.size(), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return false;  // nothing yet (or an error the session will see)
  const std::string_view bytes(peeked.data(), static_cast<size_t>(n));
  // A head longer than the peek is not judged here: the session reads it (or answers 431).
  return bytes.find("\r\n\r\n") == std::string_view::npos && bytes.size() < peeked.size();
}

}  // namespace

namespace detail {

// Waits until a new connection may be accepted: under the cap, or within the reserve past it.
// At the cap the connection idle or short of a request the longest is told to close (it
// closes on its own strand, a moment later). When every connection is busy and the reserve is
// used, new ones wait in the listen backlog: the process never runs out of descriptors.
asio::awaitable<bool> ServerCore::MakeRoom() {
  const size_t cap = options.max_connections;
  if (cap == 0) co_return true;
  asio::steady_timer pause(control);
  while (!stopping.load()) {
    const size_t open = open_connections.load();
    if (open < cap) co_return true;
    // The reserve: past the cap a new connection is still looked at (at the door a slowloris
    // is closed at once; a whole request is served), so a flood neither fills the process's
    // descriptors nor keeps a health check waiting behind it. Once half of it is taken, the
    // connection idle or slow the longest makes room (a scan of every connection: not done
    // for each new one while the door alone keeps up).
    const bool shed = open >= cap + options.shed_reserve / 2 && ShedOldest();
    if (open < cap + options.shed_reserve) co_return true;
    pause.expires_after(shed ? kRoomPoll / 2 : kRoomPoll);  // one is closing: soon
    co_await pause.async_wait(kUseTuple);
  }
  co_return false;
}

asio::awaitable<void> ServerCore::AcceptLoop() {
  metrics.connections_limit.Set(static_cast<double>(options.max_connections));
  while (!stopping.load()) {
    if (!co_await MakeRoom()) break;
    Strand strand = asio::make_strand(ioc);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kUseTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
      TEMPO_LOG_LIMITED(net, warn, "accept failed: {}", ec.message());
      // Typically out of file descriptors: back off instead of spinning.
      asio::steady_timer pause(control, std::chrono::milliseconds(50));
      co_await pause.async_wait(kUseTuple);
      continue;
    }
    if (options.max_connections != 0 && open_connections.load() >= options.max_connections &&
        SentPartOfAHead(socket)) {
      // At the cap a new connection must come with its whole request head, as real clients
      // send it: half of one now is what a slowloris sends. Closed at the door, before it
      // costs a session, so that a flood drains quickly and a health check behind it is
      // reached.
      metrics.connections_shed.Inc();
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    error_code opt_ec;
    socket.set_option(tcp::no_delay(true), opt_ec);
    auto session = std::make_shared<HttpSession>(*this, strand, tcp::socket(std::move(socket)));
    Register(session);
    asio::co_spawn(strand, HttpSession::Run(session), LogFailure("http session"));
  }
}

void ServerCore::WaitForSignal() {
  signals.async_wait([this](const error_code& ec, int signal_number) {
    if (ec) return;
    TEMPO_LOG(net, info, "signal {} received: shutting down", signal_number);
    if (!stop_requested.exchange(true)) {
      asio::co_spawn(control, Shutdown(), LogFailure("shutdown"));
    }
    WaitForSignal();
  });
}

asio::awaitable<void> ServerCore::Shutdown() {
  stopping.store(true);
  error_code ec;
  acceptor.close(ec);
  TEMPO_LOG(net, info, "shutting down: {} connection(s) open", ConnectionCount());

  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mutex);
    callbacks = std::move(shutdown_callbacks);
    callbacks_ran = true;
  }
  for (auto& fn : callbacks) {
    try {
      fn();
    } catch (const std::exception& e) {
      TEMPO_LOG(net, error, "shutdown callback threw: {}", e.what());
    }
  }
  // Posted after the callbacks ran, so anything they posted to a connection's strand (a
  // goodbye message, say) runs before that connection hears about the shutdown.
  {
    std::lock_guard lock(mutex);
    shutdown_notified = true;
  }
  ForEachConnection([](Connection& c) { c.NotifyShutdown(); });

  asio::steady_timer timer(control);
  auto deadline = Clock::now() + options.shutdown_grace;
  while (ConnectionCount() > 0 && Clock::now() < deadline) {
    timer.expires_after(kShutdownPoll);
    co_await timer.async_wait(kUseTuple);
  }
  if (size_t left = ConnectionCount(); left > 0) {
    TEMPO_LOG(net, warn, "shutdown grace over: force-closing {} connection(s)", left);
    ForEachConnection([](Connection& c) { c.ForceClose(); });
    auto force_deadline = Clock::now() + kForceCloseWait;
    while (ConnectionCount() > 0 && Clock::now() < force_deadline) {
      timer.expires_after(kShutdownPoll);
      co_await timer.async_wait(kUseTuple);
    }
  }
  // The connections are closed, but the work they left may still hop between the blocking pool
  // and the I/O threads (a call's last write-ahead append, then, back on its strand, storing its
  // artefacts). ioc.stop() drops every handler still queued, so keep both running until the
  // pool has been idle for two polls in a row (a hop back to a strand takes microseconds).
  const auto drain_deadline = Clock::now() + kBlockingDrainWait;
  for (int idle_polls = 0; idle_polls < 2 && Clock::now() < drain_deadline;) {
    timer.expires_after(kShutdownPoll);
    co_await timer.async_wait(kUseTuple);
    idle_polls = blocking_pending.load() == 0 ? idle_polls + 1 : 0;
  }
  if (const uint64_t left = blocking_pending.load(); left > 0) {
    TEMPO_LOG(net, warn, "stopping with {} blocking task(s) still queued", left);
  }
  signals.cancel(ec);
  work.reset();
  ioc.stop();
}

}  // namespace detail

struct Server::Impl : detail::ServerCore {
  using ServerCore::ServerCore;
};

// ---- Server ------------------------------------------------------------------------------

Server::Server(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

Server::~Server() = default;

Result<void> Server::Listen() {
  auto& impl = *impl_;
  std::string where = fmt::format("{}:{}", impl.options.host, impl.options.port);
  error_code ec;
  tcp::resolver resolver(impl.ioc);
  auto endpoints = resolver.resolve(impl.options.host, std::to_string(impl.options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return Unavailable(
        fmt::format("cannot listen on {}: {}", where, ec ? ec.message() : "host not found"));
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto fail = [&](std::string_view step) {
    error_code ignored;
    impl.acceptor.close(ignored);
    return Unavailable(fmt::format("cannot listen on {}: {} ({})", where, ec.message(), step));
  };
  impl.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  impl.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return fail("option");
  impl.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  impl.bound_port = impl.acceptor.local_endpoint(ec).port();
  return Ok();
}

uint16_t Server::port() const { return impl_->bound_port; }

Result<void> Server::Run() {
  auto& impl = *impl_;
  if (!impl.acceptor.is_open()) {
    return Error(ErrorCode::kFailedPrecondition, "Server::Run called without a successful Listen");
  }
  impl.work.emplace(impl.ioc.get_executor());
  asio::co_spawn(impl.control, impl.AcceptLoop(), LogFailure("accept loop"));
  if (impl.options.handle_signals) {
    impl.signals.add(SIGTERM);
    impl.signals.add(SIGINT);
    impl.WaitForSignal();
  }
  auto run = [&impl]() {
    while (true) {
      try {
        impl.ioc.run();
        return;
      } catch (const std::exception& e) {
        TEMPO_LOG(net, error, "I/O handler threw: {}", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  unsigned count = impl.ThreadCount();
  threads.reserve(count - 1);
  for (unsigned i = 1; i < count; ++i) threads.emplace_back(run);
  TEMPO_LOG(net, info, "serving on {}:{} with {} I/O thread(s)", impl.options.host, impl.bound_port,
            count);
  run();
  for (auto& t : threads) t.join();
  impl.DrainBlocking();
  TEMPO_LOG(net, info, "server stopped");
  return Ok();
}

void Server::Stop() {
  auto& impl = *impl_;
  if (impl.stop_requested.exchange(true)) return;
  asio::co_spawn(impl.control, impl.Shutdown(), LogFailure("shutdown"));
}

std::unique_ptr<Executor> Server::MakeExecutor() {
  return std::make_unique<detail::StrandExecutor>(asio::make_strand(impl_->ioc));
}

void Server::RunBlocking(std::function<void()> fn) {
  auto& impl = *impl_;
  auto task = [&impl, fn = std::move(fn)]() {
    try {
      fn();
    } catch (const std::exception& e) {
      TEMPO_LOG(net, error, "blocking task threw: {}", e.what());
    }
    if (impl.stopping.load()) {
      impl.blocking_run_while_stopping.fetch_add(1);
      impl.blocking_drained_total.Inc();
    }
    impl.blocking_pending.fetch_sub(1);
  };
  impl.blocking_pending.fetch_add(1);
  {
    std::lock_guard lock(impl.blocking_mutex);
    if (!impl.blocking_draining) {
      asio::post(impl.blocking, std::move(task));
      return;
    }
  }
  task();  // the pool is draining or drained: run it now rather than never
}

uint64_t Server::BlockingTasksRunAfterStop() const {
  return impl_->blocking_run_while_stopping.load();
}

void Server::OnShutdown(std::function<void()> fn) {
  auto& impl = *impl_;
  std::unique_lock lock(impl.mutex);
  if (!impl.callbacks_ran) {
    impl.shutdown_callbacks.push_back(std::move(fn));
    return;
  }
  lock.unlock();
  // Shutdown already began: run it now, in the same place the others ran.
  asio::post(impl.control, std::move(fn));
}

}  // namespace tempo::net
