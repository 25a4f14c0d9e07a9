#include "tempo/net/h2_client.hpp"

#include "tempo/base/log.hpp"
#include "tempo/net/strand_executor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

namespace tempo::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using detail::kUseTuple;

struct H2Connection;

class Stream final : public H2Stream, public std::enable_shared_from_this<Stream> {
 public:
  Stream(std::weak_ptr<H2Client::Impl> client, H2StreamCallbacks callbacks)
      : client_(std::move(client)), callbacks_(std::move(callbacks)) {}
  void Write(std::string bytes, bool end) override;
  void Cancel() override;

  // On the I/O thread.
  void Attach(std::shared_ptr<H2Connection> connection, int32_t id) {
    connection_ = std::move(connection);
    id_ = id;
  }
  void Headers(int status, const H2Headers& headers) {
    if (!closed_ && callbacks_.on_headers) callbacks_.on_headers(status, headers);
  }
  void Data(std::string_view data) {
    if (!closed_ && callbacks_.on_data) callbacks_.on_data(data);
  }
  void Close(Result<void> result) {
    if (closed_) return;
    closed_ = true;
    connection_.reset();
    if (callbacks_.on_close) callbacks_.on_close(std::move(result));
  }

 private:
  // Weak: a stream its owner keeps past the client's end writes into nothing.
  std::weak_ptr<H2Client::Impl> client_;
  H2StreamCallbacks callbacks_;
  std::shared_ptr<H2Connection> connection_;  // while open (the connection keeps streams by id)
  int32_t id_ = -1;
  bool closed_ = false;
};

struct H2Connection : std::enable_shared_from_this<H2Connection> {
  H2Connection(H2Client::Impl& client, asio::io_context& ioc, ssl::context& tls, H2Target target)
      : client(client), target(std::move(target)), socket(ioc, tls), ping(ioc) {}

  H2Client::Impl& client;
  H2Target target;
  ssl::stream<tcp::socket> socket;
  asio::steady_timer ping;
  std::unique_ptr<H2ClientSession> session;
  std::map<int32_t, std::shared_ptr<Stream>> streams;
  bool connected = false;
  bool writing = false;
  bool closed = false;
  uint64_t most_streams = 0;

  [[nodiscard]] bool HasRoom() const {
    return !closed && !session->GoingAway() &&
           session->OpenStreams() < std::max<uint32_t>(1, session->PeerMaxConcurrentStreams());
  }

  void Flush();
  asio::awaitable<void> Run();
  void Fail(const Error& error);
  void CloseIfDone() {
    if (session->GoingAway() && streams.empty()) Fail(Unavailable("http2: connection closed"));
  }
};

}  // namespace

struct H2Client::Impl {
  explicit Impl(H2ClientOptions opts) : options(opts), work(asio::make_work_guard(ioc)) {
    error_code ignored;
    verify.set_default_verify_paths(ignored);
    for (auto* context : {&verify, &insecure}) {
      // ALPN: AWS speaks HTTP/2 only to clients that ask for it.
      static constexpr std::array<unsigned char, 3> kAlpn{2, 'h', '2'};
      SSL_CTX_set_alpn_protos(context->native_handle(), kAlpn.data(), kAlpn.size());
    }
    verify.set_verify_mode(ssl::verify_peer);
    insecure.set_verify_mode(ssl::verify_none);
    thread = std::thread([this] { ioc.run(); });
  }

  H2ClientOptions options;
  ssl::context verify{ssl::context::tls_client};
  ssl::context insecure{ssl::context::tls_client};
  asio::io_context ioc{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::list<std::shared_ptr<H2Connection>> connections;  // on the I/O thread
  mutable std::mutex stats_mutex;
  H2ClientStats stats;

  std::shared_ptr<H2Connection> ConnectionFor(const H2Target& target) {
    for (auto& c : connections) {
      if (c->target.host == target.host && c->target.port == target.port &&
          c->target.tls == target.tls && c->HasRoom()) {
        return c;
      }
    }
    auto c = std::make_shared<H2Connection>(
        *this, ioc, target.tls_verify == TlsVerify::kVerifyPeer ? verify : insecure, target);
    H2Callbacks callbacks;
    auto* raw = c.get();
    callbacks.on_headers = [raw](int32_t id, int status, const H2Headers& headers) {
      if (auto it = raw->streams.find(id); it != raw->streams.end()) {
        it->second->Headers(status, headers);
      }
    };
    callbacks.on_data = [raw](int32_t id, std::string_view data) {
      if (auto it = raw->streams.find(id); it != raw->streams.end()) it->second->Data(data);
    };
    callbacks.on_close = [raw](int32_t id, uint32_t code) {
      auto it = raw->streams.find(id);
      if (it == raw->streams.end()) return;
      auto stream = std::move(it->second);
      raw->streams.erase(it);
      if (code == 0) {
        stream->Close(Ok());
      } else {
        stream->Close(Unavailable(fmt::format("http2: stream reset by {} ({})", raw->target.host,
                                              code == 7 ? "refused" : std::to_string(code))));
      }
    };
    callbacks.on_goaway = [this](int32_t /*last*/, uint32_t /*code*/) {
      std::lock_guard lock(stats_mutex);
      ++stats.goaways;
    };
    auto session = H2ClientSession::Create(std::move(callbacks), options.window);
    if (!session) return nullptr;
    c->session = std::move(*session);
    connections.push_back(c);
    {
      std::lock_guard lock(stats_mutex);
      ++stats.connections_opened;
    }
    asio::co_spawn(ioc, c->Run(), asio::detached);
    return c;
  }

  void Forget(const H2Connection* c) {
    connections.remove_if([c](const auto& p) { return p.get() == c; });
  }
};

namespace {

void Stream::Write(std::string bytes, bool end) {
  auto client = client_.lock();
  if (!client) return;
  asio::post(client->ioc, [self = shared_from_this(), bytes = std::move(bytes), end]() mutable {
    if (self->closed_ || !self->connection_) return;
    auto& c = *self->connection_;
    if (auto ok = c.session->SendData(self->id_, std::move(bytes), end); !ok) return;
    c.Flush();
  });
}

void Stream::Cancel() {
  auto client = client_.lock();
  if (!client) return;
  asio::post(client->ioc, [self = shared_from_this()] {
    if (self->closed_ || !self->connection_) return;
    auto connection = self->connection_;
    connection->session->Cancel(self->id_);
    connection->Flush();
  });
}

void H2Connection::Flush() {
  if (!connected || writing || closed) return;
  writing = true;
  asio::co_spawn(
      socket.get_executor(),
      [self = shared_from_this()]() -> asio::awaitable<void> {
        while (!self->closed) {
          const std::string out = self->session->TakeOutput();
          if (out.empty()) break;
          error_code ec;
          if (self->target.tls) {
            std::tie(ec, std::ignore) =
                co_await asio::async_write(self->socket, asio::buffer(out), kUseTuple);
          } else {
            std::tie(ec, std::ignore) =
                co_await asio::async_write(self->socket.next_layer(), asio::buffer(out), kUseTuple);
          }
          if (ec) {
            self->Fail(Unavailable(
                fmt::format("http2: writing to {}: {}", self->target.host, ec.message())));
            break;
          }
        }
        self->writing = false;
        if (!self->session->Alive()) self->Fail(Unavailable("http2: connection closed"));
      },
      asio::detached);
}

void H2Connection::Fail(const Error& error) {
  if (closed) return;
  closed = true;
  error_code ignored;
  ping.cancel();
  socket.next_layer().close(ignored);
  auto open = std::move(streams);
  streams.clear();
  for (auto& [id, stream] : open) stream->Close(error);
  client.Forget(this);
}

asio::awaitable<void> H2Connection::Run() {
  auto self = shared_from_this();
  const std::string where = fmt::format("{}:{}", target.host, target.port);
  tcp::resolver resolver(socket.get_executor());
  auto [rec, endpoints] =
      co_await resolver.async_resolve(target.host, std::to_string(target.port), kUseTuple);
  if (rec) {
    Fail(Unavailable(fmt::format("http2: cannot resolve {}: {}", target.host, rec.message())));
    co_return;
  }
  // The connect and the TLS handshake share one deadline.
  asio::steady_timer deadline(socket.get_executor());
  deadline.expires_after(target.connect_timeout);
  deadline.async_wait([self](error_code ec) {
    if (!ec && !self->connected) {
      error_code ignored;
      self->socket.next_layer().close(ignored);
    }
  });
  auto [cec, endpoint] = co_await asio::async_connect(socket.next_layer(), endpoints, kUseTuple);
  if (cec) {
    Fail(Unavailable(fmt::format("http2: cannot connect to {}: {}", where, cec.message())));
    co_return;
  }
  error_code ignored;
  socket.next_layer().set_option(tcp::no_delay(true), ignored);
  if (target.tls) {
    SSL_set_tlsext_host_name(socket.native_handle(), target.host.c_str());
    if (target.tls_verify == TlsVerify::kVerifyPeer) {
      socket.set_verify_callback(ssl::host_name_verification(target.host));
    }
    auto [hec] = co_await socket.async_handshake(ssl::stream_base::client, kUseTuple);
    if (hec) {
      Fail(Unavailable(fmt::format("http2: TLS with {}: {}", where, hec.message())));
      co_return;
    }
    const unsigned char* alpn = nullptr;
    unsigned int alpn_length = 0;
    SSL_get0_alpn_selected(socket.native_handle(), &alpn, &alpn_length);
    if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_length) != "h2") {
      Fail(Unavailable(fmt::format("http2: {} does not speak HTTP/2 (ALPN)", where)));
      co_return;
    }
  }
  connected = true;
  deadline.cancel();
  Flush();
  // Keep-alive: a PING now and then, so that an idle connection is known to be alive (and
  // middleboxes keep it).
  asio::co_spawn(
      socket.get_executor(),
      [self]() -> asio::awaitable<void> {
        while (!self->closed) {
          self->ping.expires_after(self->client.options.ping_interval);
          auto [ec] = co_await self->ping.async_wait(kUseTuple);
          if (ec || self->closed) co_return;
          self->session->Ping();
          self->Flush();
        }
      },
      asio::detached);
  std::array<char, size_t{16} * 1024> buffer{};
  while (!closed) {
    error_code ec;
    size_t n = 0;
    if (target.tls) {
      std::tie(ec, n) = co_await socket.async_read_some(asio::buffer(buffer), kUseTuple);
    } else {
      std::tie(ec, n) =
          co_await socket.next_layer().async_read_some(asio::buffer(buffer), kUseTuple);
    }
    if (ec) {
      Fail(Unavailable(fmt::format("http2: connection to {} lost: {}", where, ec.message())));
      co_return;
    }
    if (auto ok = session->Receive(std::string_view(buffer.data(), n)); !ok) {
      Flush();  // the GOAWAY that says why
      Fail(ok.error());
      co_return;
    }
    Flush();
    CloseIfDone();
  }
}

}  // namespace

H2Client::H2Client(H2ClientOptions options) : impl_(std::make_shared<Impl>(options)) {}

H2Client::~H2Client() {
  asio::post(impl_->ioc, [impl = impl_.get()] {
    auto connections = impl->connections;
    for (auto& c : connections) c->Fail(Unavailable("http2: the client is shutting down"));
    impl->work.reset();
  });
  impl_->thread.join();
}

std::shared_ptr<H2Stream> H2Client::Open(const H2Target& target, H2Request request,
                                         H2StreamCallbacks callbacks) {
  auto stream = std::make_shared<Stream>(impl_, std::move(callbacks));
  asio::post(impl_->ioc, [impl = impl_.get(), stream, target, request = std::move(request)] {
    auto connection = impl->ConnectionFor(target);
    if (!connection) {
      stream->Close(Unavailable("http2: cannot start a session"));
      return;
    }
    auto id = connection->session->Submit(request, /*streaming_body=*/true);
    if (!id) {
      stream->Close(id.error());
      return;
    }
    stream->Attach(connection, *id);
    connection->streams[*id] = stream;
    connection->most_streams =
        std::max<uint64_t>(connection->most_streams, connection->streams.size());
    {
      std::lock_guard lock(impl->stats_mutex);
      ++impl->stats.streams_opened;
      impl->stats.max_streams_on_a_connection =
          std::max(impl->stats.max_streams_on_a_connection, connection->most_streams);
    }
    connection->Flush();
  });
  return stream;
}

H2ClientStats H2Client::stats() const {
  std::lock_guard lock(impl_->stats_mutex);
  return impl_->stats;
}

}  // namespace tempo::net
