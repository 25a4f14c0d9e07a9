#include "tempo/net/client.hpp"

#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/net/strand_executor.hpp"
#include "tempo/net/ws_outbox.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>

// asio::ssl is compiled separately like the rest of Asio (see asio_impl.cpp); the client is
// its only user, so its sources are compiled here.
#include <boost/asio/ssl/impl/src.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <deque>
#include <exception>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace tempo::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using detail::LogFailure;
using detail::Strand;
using SteadyClock = std::chrono::steady_clock;

using detail::kUseTuple;
constexpr std::string_view kUserAgent = "tempovoice";

// ---- Helpers -----------------------------------------------------------------------------

std::string HostHeader(const ClientUrl& url) {
  const bool ipv6 = url.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + url.host + "]" : url.host;
  const uint16_t default_port = url.tls() ? 443 : 80;
  if (url.port != default_port) host += ":" + std::to_string(url.port);
  return host;
}

// The failures before any byte of the request was sent (see RequestMayHaveArrived).
constexpr std::string_view kConnectFailed = "cannot connect to";
constexpr std::string_view kHandshakeFailed = "TLS handshake failed with";
constexpr std::string_view kTlsNameFailed = "cannot set TLS server name for";

Error NetError(std::string_view what, const ClientUrl& url, const error_code& ec) {
  std::string message = fmt::format("{} {}:{}: {}", what, url.host, url.port, ec.message());
  if (ec == beast::error::timeout || ec == asio::error::timed_out) {
    return Error{ErrorCode::kDeadlineExceeded, std::move(message)};
  }
  return Unavailable(std::move(message));
}

/// Resolves and connects `stream` (its expiry must be set by the caller).
asio::awaitable<error_code> ConnectTcp(beast::tcp_stream& stream, const ClientUrl& url) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [rec, endpoints] =
      co_await resolver.async_resolve(url.host, std::to_string(url.port), kUseTuple);
  if (rec) co_return rec;
  auto [cec, endpoint] = co_await stream.async_connect(endpoints, kUseTuple);
  if (!cec) stream.socket().set_option(tcp::no_delay(true));
  co_return cec;
}

/// Sets SNI and host-name verification on a TLS stream before its handshake.
template <class SslStream>
Result<void> PrepareTls(SslStream& stream, const ClientUrl& url, TlsVerify verify) {
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {
    return Unavailable(fmt::format("{} {}", kTlsNameFailed, url.host));
  }
  if (verify == TlsVerify::kVerifyPeer) {
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(url.host));
  } else {
    stream.set_verify_mode(ssl::verify_none);
  }
  return Ok();
}

bhttp::verb ToVerb(Method method) {
  switch (method) {
    case Method::kGet:
      return bhttp::verb::get;
    case Method::kHead:
      return bhttp::verb::head;
    case Method::kPost:
      return bhttp::verb::post;
    case Method::kPut:
      return bhttp::verb::put;
    case Method::kPatch:
      return bhttp::verb::patch;
    case Method::kDelete:
      return bhttp::verb::delete_;
    case Method::kOptions:
      return bhttp::verb::options;
    case Method::kOther:
      break;
  }
  return bhttp::verb::unknown;
}

}  // namespace

// ---- URL ---------------------------------------------------------------------------------

Result<ClientUrl> ParseClientUrl(std::string_view url) {
  ClientUrl out;
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) return InvalidArgument("URL has no scheme: missing '://'");
  out.scheme = Lower(url.substr(0, colon));
  uint16_t default_port = 0;
  if (out.scheme == "http" || out.scheme == "ws") {
    default_port = 80;
  } else if (out.scheme == "https" || out.scheme == "wss") {
    default_port = 443;
  } else {
    return InvalidArgument("unsupported URL scheme '" + out.scheme + "'");
  }
  std::string_view rest = url.substr(colon + 3);
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view target = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgument("URL user info is not supported");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("URL has an unclosed '['");
    out.host.assign(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("URL has junk after the IPv6 host");
      port_text = after.substr(1);
    }
  } else {
    const size_t port_colon = authority.rfind(':');
    out.host.assign(authority.substr(0, port_colon));
    if (port_colon != std::string_view::npos) port_text = authority.substr(port_colon + 1);
  }
  if (out.host.empty()) return InvalidArgument("URL has an empty host");
  out.port = default_port;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return InvalidArgument("URL has a bad port '" + std::string(port_text) + "'");
    }
    out.port = static_cast<uint16_t>(value);
  }
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?') out.target.insert(0, "/");
  return out;
}

// ---- Context -----------------------------------------------------------------------------

namespace {

// The TLS contexts of a client: one that verifies peers against the system store, one that
// does not. They must outlive the io_context, whose destructor destroys pending connections.
struct TlsContexts {
  TlsContexts() : verify(ssl::context::tls_client), insecure(ssl::context::tls_client) {
    error_code ec;
    verify.set_default_verify_paths(ec);
    if (ec) TEMPO_LOG(net, warn, "cannot load the system CA store: {}", ec.message());
    verify.set_verify_mode(ssl::verify_peer);
    insecure.set_verify_mode(ssl::verify_none);
  }
  ssl::context& For(TlsVerify mode) { return mode == TlsVerify::kVerifyPeer ? verify : insecure; }
  ssl::context verify;
  ssl::context insecure;
};

}  // namespace

struct ClientContext::Impl {
  explicit Impl(unsigned thread_count)
      : threads(std::max(1U, thread_count)),
        ioc(static_cast<int>(threads)),
        work(asio::make_work_guard(ioc)) {}

  ssl::context& TlsContext(TlsVerify verify) { return tls.For(verify); }

  /// The strand of `executor` (which must be one of ours), or a new strand.
  Strand StrandFor(Executor* executor) {
    if (executor != nullptr) {
      if (auto* ours = dynamic_cast<detail::StrandExecutor*>(executor)) return ours->strand();
      TEMPO_LOG(net, warn, "executor from another context ignored; using a new strand");
    }
    return asio::make_strand(ioc);
  }

  unsigned threads;
  TlsContexts tls;  // before the io_context: it outlives it
  asio::io_context ioc;
  std::mutex work_mutex;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

ClientContext::ClientContext(unsigned threads) : impl_(std::make_unique<Impl>(threads)) {}

ClientContext::~ClientContext() { Abort(); }

void ClientContext::Run() {
  auto run = [this]() {
    try {
      impl_->ioc.run();
    } catch (const std::exception& e) {
      TEMPO_LOG(net, error, "client I/O thread stopped: {}", e.what());
    }
  };
  std::vector<std::thread> extra;
  extra.reserve(impl_->threads - 1);
  for (unsigned i = 1; i < impl_->threads; ++i) extra.emplace_back(run);
  run();
  for (auto& t : extra) t.join();
}

void ClientContext::Stop() {
  std::lock_guard lock(impl_->work_mutex);
  impl_->work.reset();
}

void ClientContext::Abort() {
  Stop();
  impl_->ioc.stop();
}

std::unique_ptr<Executor> ClientContext::MakeExecutor() {
  return std::make_unique<detail::StrandExecutor>(asio::make_strand(impl_->ioc));
}

// ---- HTTP --------------------------------------------------------------------------------

namespace {

struct FetchJob {
  ClientRequest request;
  ClientContext::FetchCallback done;
  ssl::context* tls = nullptr;
};

// What an exchange on a kept-alive connection learnt besides the answer.
struct ExchangeState {
  bool keep_alive = false;  // in: ask to keep the connection; out: it may be used again
  bool got_answer = false;  // out: some bytes of a response arrived
};

template <class Stream>
asio::awaitable<Result<Response>> Exchange(Stream& stream, beast::tcp_stream& tcp,
                                           const ClientUrl& url, FetchJob& job,
                                           ExchangeState* state = nullptr) {
  if (job.request.method == Method::kOther) {
    co_return InvalidArgument("client cannot send method kOther");
  }
  const bool keep_alive = state != nullptr && state->keep_alive;
  if (state != nullptr) state->keep_alive = false;
  bhttp::request<bhttp::string_body> req{ToVerb(job.request.method), url.target, 11};
  for (const auto& field : job.request.headers.fields()) req.insert(field.name, field.value);
  if (!job.request.headers.Find("Host")) req.set(bhttp::field::host, HostHeader(url));
  if (!job.request.headers.Find("User-Agent")) req.set(bhttp::field::user_agent, kUserAgent);
  if (keep_alive) {
    req.body() = job.request.body;  // kept: a stale connection's request is sent again
  } else {
    req.set(bhttp::field::connection, "close");
    req.body() = std::move(job.request.body);
  }
  req.prepare_payload();

  tcp.expires_after(job.request.response_timeout);
  auto [wec, written] = co_await bhttp::async_write(stream, req, kUseTuple);
  if (wec) co_return NetError("cannot send request to", url, wec);

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(job.request.max_response_bytes);
  parser.header_limit(64 * 1024);
  // A HEAD answer carries the length of a body that is never sent: without this the parser
  // waits for it until the connection closes or the timeout fires.
  if (job.request.method == Method::kHead) parser.skip(true);
  auto [rec, read] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
  if (state != nullptr) state->got_answer = parser.got_some();
  if (rec == bhttp::error::body_limit) {
    co_return ResourceExhausted(fmt::format("response from {} is larger than {} bytes", url.host,
                                            job.request.max_response_bytes));
  }
  if (rec && rec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
      rec != bhttp::error::end_of_stream && rec != bhttp::error::partial_message) {
    co_return ProtocolError(fmt::format("malformed response from {}: {}", url.host, rec.message()));
  }
  if (rec) co_return NetError("cannot read response from", url, rec);

  auto& res = parser.get();
  if (state != nullptr) state->keep_alive = keep_alive && res.keep_alive() && buffer.size() == 0;
  Response out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    out.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(res.body());
  co_return out;
}

// An open connection, plain or TLS (a pool keeps these).
struct PooledConnection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::chrono::steady_clock::time_point idle_since;
  beast::tcp_stream& tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

// The URL of a Fetch, which must be http:// or https://.
Result<ClientUrl> FetchUrl(const ClientRequest& request) {
  TEMPO_ASSIGN_OR_RETURN(ClientUrl url, ParseClientUrl(request.url));
  if (url.scheme != "http" && url.scheme != "https") {
    return InvalidArgument("Fetch needs an http:// or https:// URL, got " + url.scheme);
  }
  return url;
}

// Resolves, connects and (for https) does the TLS handshake.
asio::awaitable<Result<std::unique_ptr<PooledConnection>>> Connect(const ClientUrl& url,
                                                                   const ClientRequest& request,
                                                                   ssl::context& tls) {
  auto conn = std::make_unique<PooledConnection>();
  auto executor = co_await asio::this_coro::executor;
  if (url.tls()) {
    conn->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, tls);
  } else {
    conn->plain = std::make_unique<beast::tcp_stream>(executor);
  }
  auto& tcp = conn->tcp();
  tcp.expires_after(request.connect_timeout);
  if (auto ec = co_await ConnectTcp(tcp, url)) co_return NetError(kConnectFailed, url, ec);
  if (conn->tls) {
    if (auto prepared = PrepareTls(*conn->tls, url, request.tls_verify); !prepared) {
      co_return prepared.error();
    }
    auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kUseTuple);
    if (hec) co_return NetError(kHandshakeFailed, url, hec);
  }
  co_return conn;
}

// One request and its answer on `conn`. (Not a ?: of two co_awaits: GCC 12 miscompiles
// co_await inside a conditional.)
asio::awaitable<Result<Response>> ExchangeOn(PooledConnection& conn, const ClientUrl& url,
                                             FetchJob& job, ExchangeState* state) {
  if (conn.tls) co_return co_await Exchange(*conn.tls, conn.tcp(), url, job, state);
  co_return co_await Exchange(*conn.plain, conn.tcp(), url, job, state);
}

asio::awaitable<Result<Response>> DoFetch(FetchJob& job) {
  auto url = FetchUrl(job.request);
  if (!url) co_return url.error();
  auto conn = co_await Connect(*url, job.request, *job.tls);
  if (!conn) co_return conn.error();
  auto result = co_await ExchangeOn(**conn, *url, job, nullptr);
  if ((*conn)->tls) {
    (*conn)->tcp().expires_after(std::chrono::seconds(2));
    auto [sec] = co_await (*conn)->tls->async_shutdown(kUseTuple);
    (void)sec;  // peers often skip close_notify; the response is already complete
  } else {
    error_code ignored;
    (*conn)->plain->socket().shutdown(tcp::socket::shutdown_both, ignored);
  }
  co_return result;
}

asio::awaitable<void> RunFetch(FetchJob job) {
  Result<Response> result = co_await DoFetch(job);
  job.done(std::move(result));
}

}  // namespace

void ClientContext::Fetch(ClientRequest request, FetchCallback done, Executor* executor) {
  ssl::context* tls = &impl_->TlsContext(request.tls_verify);
  FetchJob job{std::move(request), std::move(done), tls};
  asio::co_spawn(impl_->StrandFor(executor), RunFetch(std::move(job)), LogFailure("http fetch"));
}

// ---- WebSocket ---------------------------------------------------------------------------

namespace {

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

template <class Ws>
class ClientWebSocket final : public WebSocket,
                              public std::enable_shared_from_this<ClientWebSocket<Ws>> {
 public:
  ClientWebSocket(Strand strand, Executor* external, WebSocketConnectOptions options, ClientUrl url,
                  ssl::context* tls)
      : strand_(strand),
        own_executor_(external == nullptr ? std::make_unique<detail::StrandExecutor>(strand)
                                          : nullptr),
        executor_(external != nullptr ? *external : *own_executor_),
        options_(std::move(options)),
        url_(std::move(url)),
        tls_(tls) {}

  void SendText(std::string message) override { Send(std::move(message), Kind::kText); }
  void SendBinary(std::string message) override { Send(std::move(message), Kind::kBinary); }

  void Close(uint16_t code, std::string reason) override {
    asio::post(strand_,
               [self = this->shared_from_this(), code, reason = std::move(reason)]() mutable {
                 self->RequestClose(code, std::move(reason));
               });
  }

  Executor& executor() override { return executor_; }
  [[nodiscard]] size_t QueuedBytes() const override { return outbox_.queued_bytes(); }

  static asio::awaitable<void> Run(std::shared_ptr<ClientWebSocket> self,
                                   ClientContext::OpenCallback on_open,
                                   ClientContext::ConnectErrorCallback on_error) {
    co_await self->Serve(std::move(on_open), std::move(on_error));
  }

 private:
  using Kind = detail::WsOutbox::Kind;
  enum class State { kConnecting, kOpen, kClosed };

  void Send(std::string message, Kind kind) {
    outbox_.Reserve(message.size());
    asio::post(strand_, [self = this->shared_from_this(), message = std::move(message),
                         kind]() mutable { self->Enqueue(std::move(message), kind); });
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
    asio::co_spawn(strand_, WriteLoop(this->shared_from_this()), LogFailure("websocket writer"));
  }

  static asio::awaitable<void> WriteLoop(std::shared_ptr<ClientWebSocket> self) {
    co_await self->DoWrites();
  }

  asio::awaitable<void> DoWrites() {
    auto closed = co_await outbox_.Write(*ws_, [this] { return state_ == State::kOpen; });
    if (closed && *closed) TEMPO_LOG(net, debug, "websocket close failed: {}", closed->message());
  }

  /// TCP connect, TLS handshake (wss) and the upgrade. On failure returns the error.
  asio::awaitable<Result<void>> Handshake() {
    auto executor = co_await asio::this_coro::executor;
    if constexpr (std::is_same_v<Ws, TlsWs>) {
      ws_.emplace(executor, *tls_);
    } else {
      ws_.emplace(executor);
    }
    auto& tcp = beast::get_lowest_layer(*ws_);
    tcp.expires_after(options_.connect_timeout);
    if (auto ec = co_await ConnectTcp(tcp, url_)) co_return NetError(kConnectFailed, url_, ec);
    if constexpr (std::is_same_v<Ws, TlsWs>) {
      auto& tls_stream = ws_->next_layer();
      if (auto prepared = PrepareTls(tls_stream, url_, options_.tls_verify); !prepared) {
        co_return prepared.error();
      }
      auto [hec] = co_await tls_stream.async_handshake(ssl::stream_base::client, kUseTuple);
      if (hec) co_return NetError("TLS handshake failed with", url_, hec);
    }
    tcp.expires_never();
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = options_.connect_timeout;
    timeouts.idle_timeout = websocket::stream_base::none();
    timeouts.keep_alive_pings = false;
    ws_->set_option(timeouts);
    ws_->read_message_max(options_.max_message_bytes);
    ws_->set_option(websocket::stream_base::decorator(
        [headers = options_.headers](websocket::request_type& req) {
          req.set(bhttp::field::user_agent, kUserAgent);
          for (const auto& field : headers.fields()) req.set(field.name, field.value);
        }));
    websocket::response_type response;
    auto [ec] = co_await ws_->async_handshake(response, HostHeader(url_), url_.target, kUseTuple);
    if (ec) {
      // A status only when the server answered the upgrade with one: on a timeout or a closed
      // connection the response was never read and holds no status of the server's.
      const int status = static_cast<int>(response.result_int());
      if (ec == websocket::error::upgrade_declined && status != 0 && status != 101) {
        std::string message =
            fmt::format("WebSocket upgrade to {} refused with HTTP {}", url_.host, status);
        if (status == 401 || status == 403) co_return Unauthenticated(std::move(message));
        co_return Unavailable(std::move(message));
      }
      co_return NetError("WebSocket handshake failed with", url_, ec);
    }
    co_return Ok();
  }

  asio::awaitable<void> Serve(ClientContext::OpenCallback on_open,
                              ClientContext::ConnectErrorCallback on_error) {
    auto handshake = co_await Handshake();
    if (!handshake) {
      state_ = State::kClosed;
      outbox_.Drop();
      on_error(std::move(handshake).error());
      co_return;
    }
    state_ = State::kOpen;
    try {
      listener_ = on_open(this->shared_from_this());
    } catch (const std::exception& e) {
      TEMPO_LOG(net, error, "websocket open callback threw: {}", e.what());
    }
    if (!listener_) RequestClose(1000, "");
    MaybeStartWriter();

    beast::flat_buffer buffer;
    CloseInfo info;
    while (true) {
      auto [ec, n] = co_await ws_->async_read(buffer, kUseTuple);
      if (ec) {
        info = CloseInfoFor(ec);
        break;
      }
      if (listener_) {
        std::string_view message(static_cast<const char*>(buffer.data().data()), buffer.size());
        try {
          if (ws_->got_text()) {
            listener_->OnText(message);
          } else {
            listener_->OnBinary(message);
          }
        } catch (const std::exception& e) {
          TEMPO_LOG(net, error, "websocket listener threw: {}", e.what());
          RequestClose(1011, "internal error");
        }
      }
      buffer.consume(buffer.size());
      // A big message must not pin its buffer for the rest of a long call.
      if (buffer.capacity() > 64 * 1024) buffer.shrink_to_fit();
    }
    state_ = State::kClosed;
    outbox_.Drop();
    error_code ignored;
    beast::get_lowest_layer(*ws_).socket().close(ignored);
    if (listener_) {
      auto listener = std::move(listener_);
      try {
        listener->OnClose(info);
      } catch (const std::exception& e) {
        TEMPO_LOG(net, error, "websocket OnClose threw: {}", e.what());
      }
    }
  }

  CloseInfo CloseInfoFor(const error_code& ec) {
    if (ec == websocket::error::message_too_big) return CloseInfo{1009, "message too big", false};
    // While our close handshake runs, Beast ends the pending read with operation_aborted.
    const bool close_sent = outbox_.close_sent();
    if (ec == websocket::error::closed || (ec == asio::error::operation_aborted && close_sent)) {
      if (const auto& request = outbox_.close_request(); close_sent && request) {
        return CloseInfo{static_cast<uint16_t>(request->code), std::string(request->reason.c_str()),
                         false};
      }
      const auto& reason = ws_->reason();
      const uint16_t code = reason.code == websocket::close_code::none
                                ? uint16_t{1005}
                                : static_cast<uint16_t>(reason.code);
      return CloseInfo{code, std::string(reason.reason.c_str()), true};
    }
    return CloseInfo{1006, ec.message(), true};
  }

  Strand strand_;
  std::unique_ptr<Executor> own_executor_;
  Executor& executor_;
  WebSocketConnectOptions options_;
  ClientUrl url_;
  ssl::context* tls_;
  std::optional<Ws> ws_;
  std::shared_ptr<WebSocketListener> listener_;
  State state_ = State::kConnecting;
  detail::WsOutbox outbox_;
};

}  // namespace

void ClientContext::ConnectWebSocket(WebSocketConnectOptions options, OpenCallback on_open,
                                     ConnectErrorCallback on_error) {
  Strand strand = impl_->StrandFor(options.executor);
  auto url = ParseClientUrl(options.url);
  if (url && url->scheme != "ws" && url->scheme != "wss") {
    url = InvalidArgument("ConnectWebSocket needs a ws:// or wss:// URL, got " + url->scheme);
  }
  if (!url) {
    asio::post(strand,
               [on_error = std::move(on_error), error = url.error()]() { on_error(error); });
    return;
  }
  Executor* external = options.executor;
  if (url->tls()) {
    ssl::context* tls = &impl_->TlsContext(options.tls_verify);
    auto ws = std::make_shared<ClientWebSocket<TlsWs>>(strand, external, std::move(options),
                                                       std::move(*url), tls);
    asio::co_spawn(strand, ClientWebSocket<TlsWs>::Run(ws, std::move(on_open), std::move(on_error)),
                   LogFailure("websocket client"));
    return;
  }
  auto ws = std::make_shared<ClientWebSocket<PlainWs>>(strand, external, std::move(options),
                                                       std::move(*url), nullptr);
  asio::co_spawn(strand, ClientWebSocket<PlainWs>::Run(ws, std::move(on_open), std::move(on_error)),
                 LogFailure("websocket client"));
}

// ---- Pool --------------------------------------------------------------------------------

struct HttpPool::Impl {
  explicit Impl(HttpPoolOptions o) : options(o), work(asio::make_work_guard(ioc)) {
    thread = std::thread([this] {
      try {
        ioc.run();
      } catch (const std::exception& e) {
        TEMPO_LOG(net, error, "HTTP pool thread stopped: {}", e.what());
      }
    });
  }
  ~Impl() {
    work.reset();
    asio::post(ioc, [this] { idle.clear(); });  // the kept connections close on their thread
    thread.join();
  }

  static std::string Key(const ClientUrl& url, TlsVerify verify) {
    return fmt::format("{}://{}:{}#{}", url.scheme, url.host, url.port,
                       verify == TlsVerify::kVerifyPeer ? "v" : "i");
  }

  // On the pool's thread.
  std::unique_ptr<PooledConnection> TakeIdle(const std::string& key) {
    auto it = idle.find(key);
    const auto now = std::chrono::steady_clock::now();
    while (it != idle.end() && !it->second.empty()) {
      auto conn = std::move(it->second.back());
      it->second.pop_back();
      if (now - conn->idle_since < options.idle_timeout) return conn;
    }
    return nullptr;
  }

  void GiveBack(const std::string& key, std::unique_ptr<PooledConnection> conn) {
    auto& list = idle[key];
    if (list.size() >= options.max_idle_per_endpoint) return;  // closes it
    conn->idle_since = std::chrono::steady_clock::now();
    list.push_back(std::move(conn));
  }

  asio::awaitable<Result<std::unique_ptr<PooledConnection>>> Open(const ClientUrl& url,
                                                                  const ClientRequest& request) {
    auto conn = co_await Connect(url, request, tls.For(request.tls_verify));
    if (conn) {
      opened.fetch_add(1, std::memory_order_relaxed);
      static metrics::Counter& opened_total = metrics::Registry::Global().AddCounter(
          "tempo_http_pool_connections_opened_total",
          "Connections the kept-alive HTTP client pools opened (AWS calls)");
      opened_total.Inc();
    }
    co_return conn;
  }

  asio::awaitable<Result<Response>> Fetch(FetchJob job) {
    auto url = FetchUrl(job.request);
    if (!url) co_return url.error();
    const std::string key = Key(*url, job.request.tls_verify);
    requests.fetch_add(1, std::memory_order_relaxed);
    // A kept connection the server has closed meanwhile fails before any answer: the request
    // then goes once more on a new connection (the server never saw it).
    for (int attempt = 0;; ++attempt) {
      auto conn = attempt == 0 ? TakeIdle(key) : nullptr;
      const bool reused = conn != nullptr;
      if (!conn) {
        auto opened_conn = co_await Open(*url, job.request);
        if (!opened_conn) co_return opened_conn.error();
        conn = std::move(*opened_conn);
      }
      ExchangeState state;
      state.keep_alive = true;
      auto result = co_await ExchangeOn(*conn, *url, job, &state);
      if (!result && reused && !state.got_answer && attempt == 0) continue;
      if (result && state.keep_alive) {
        conn->tcp().expires_never();
        GiveBack(key, std::move(conn));
      }
      co_return result;
    }
  }

  HttpPoolOptions options;
  TlsContexts tls;  // before the io_context: it outlives it
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::map<std::string, std::vector<std::unique_ptr<PooledConnection>>>
      idle;  // the pool's thread only
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> opened{0};
  std::thread thread;
};

HttpPool::HttpPool(HttpPoolOptions options) : impl_(std::make_unique<Impl>(options)) {}
HttpPool::~HttpPool() = default;

Result<Response> HttpPool::Fetch(ClientRequest request) {
  std::promise<Result<Response>> done;
  auto answer = done.get_future();
  FetchJob job{std::move(request), {}, nullptr};
  asio::co_spawn(
      impl_->ioc,
      [impl = impl_.get(), job = std::move(job)]() mutable { return impl->Fetch(std::move(job)); },
      [&done](std::exception_ptr error, Result<Response> result) {
        if (error) {
          done.set_value(Internal("HTTP pool fetch failed with an exception"));
        } else {
          done.set_value(std::move(result));
        }
      });
  return answer.get();
}

HttpPoolStats HttpPool::stats() const {
  return {impl_->requests.load(std::memory_order_relaxed),
          impl_->opened.load(std::memory_order_relaxed)};
}

// ---- Blocking ----------------------------------------------------------------------------

bool RequestMayHaveArrived(const Error& error) {
  if (error.code == ErrorCode::kInvalidArgument) return false;  // refused before connecting
  const std::string_view m = error.message;
  return !m.starts_with(kConnectFailed) && !m.starts_with(kHandshakeFailed) &&
         !m.starts_with(kTlsNameFailed);
}

Result<Response> FetchBlocking(ClientRequest request) {
  ClientContext context(1);
  std::optional<Result<Response>> out;
  context.Fetch(std::move(request), [&out, &context](Result<Response> result) {
    out.emplace(std::move(result));
    context.Stop();
  });
  context.Run();
  if (!out) return Internal("fetch finished without an answer");
  return std::move(*out);
}

}  // namespace tempo::net
