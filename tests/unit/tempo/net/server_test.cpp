// In-process server tests on 127.0.0.1 with an ephemeral port: raw sockets for HTTP, a small
// Beast client for WebSocket.
#include "tempo/net/server.hpp"

#include "tempo/base/metrics.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

namespace tempo::net {
namespace {

using namespace std::chrono_literals;

/// A blocking TCP client with a receive timeout so that a broken server fails the test
/// instead of hanging it.
class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawClient() { ::close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  [[nodiscard]] bool connected() const { return connected_; }

  void Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  enum class ForHead { kNo, kYes };

  /// Reads one response (Content-Length framed; no body for HEAD). nullopt on EOF or timeout.
  std::optional<Reply> Read(ForHead for_head = ForHead::kNo) {
    size_t head_end;
    while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    Reply reply;
    std::string head = pending_.substr(0, head_end);
    pending_.erase(0, head_end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    reply.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(pos, end - pos);
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      reply.headers[name] = value;
      pos = end + 2;
    }
    size_t length = reply.headers.count("content-length") != 0 && for_head == ForHead::kNo
                        ? std::stoul(reply.headers["content-length"])
                        : 0;
    while (pending_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    reply.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return reply;
  }

  /// Whether the server sent something (or closed) within `wait`.
  bool Answered(std::chrono::milliseconds wait) {
    if (!pending_.empty()) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
  }

  /// True when the server closed the connection (EOF or reset) before the timeout.
  bool WaitClosed() {
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool Fill() {
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

/// Records a WebSocket's life; echoes text, answers "tick" via a timer on the socket executor.
class EchoListener : public WebSocketListener {
 public:
  explicit EchoListener(std::shared_ptr<WebSocket> socket) : socket_(std::move(socket)) {}
  void OnText(std::string_view message) override {
    if (message == "timer") {
      timer_ = socket_->executor().MakeTimer();
      timer_->ExpireAt(std::chrono::steady_clock::now() + 5ms, [this](bool cancelled) {
        if (!cancelled) socket_->SendText("tick");
      });
      return;
    }
    socket_->SendText(std::string(message));
  }
  void OnBinary(std::string_view message) override { socket_->SendBinary(std::string(message)); }
  void OnClose(const CloseInfo& info) override {
    ++close_calls_;
    timer_.reset();
    closed_.set_value(info);
    socket_.reset();
  }
  std::future<CloseInfo> Closed() { return closed_.get_future(); }
  int close_calls() const { return close_calls_; }

 private:
  std::shared_ptr<WebSocket> socket_;
  std::unique_ptr<Timer> timer_;
  std::promise<CloseInfo> closed_;
  int close_calls_ = 0;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add(Method::kGet, "/health",
                [](const Request&) { return Response::Json(200, R"({"status":"ok"})"); });
    router_.Add(Method::kPost, "/echo",
                [](const Request& r) { return Response::Text(200, r.body); });
    router_.Add(Method::kGet, "/items/{id}", [](const Request& r) {
      return Response::Text(200, std::string(r.PathParam("id")));
    });
    router_.AddAsync(Method::kGet, "/async", [this](Request, Responder responder) {
      std::lock_guard lock(mutex_);
      workers_.emplace_back([responder = std::move(responder)]() mutable {
        std::this_thread::sleep_for(10ms);
        responder.Send(Response::Text(200, "from another thread"));
      });
    });
    router_.AddAsync(Method::kGet, "/drop", [](Request, Responder) {});
    router_.AddAsync(Method::kGet, "/never", [this](Request, Responder responder) {
      std::lock_guard lock(mutex_);
      parked_.push_back(std::move(responder));
    });
    router_.AddWebSocket(
        "/ws/{room}",
        [this](const Request& request, std::shared_ptr<WebSocket> socket) -> UpgradeDecision {
          if (request.PathParam("room") == "forbidden") {
            return Response::Error(403, "forbidden", "not this room");
          }
          // Sent before the handshake completes: must be queued and delivered first.
          socket->SendText("welcome " + std::string(request.PathParam("room")));
          auto listener = std::make_shared<EchoListener>(socket);
          std::lock_guard lock(mutex_);
          listeners_.push_back(listener);
          return listener;
        });
  }

  void Start(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.handle_signals = false;
    options.max_header_bytes = 1024;
    options.max_body_bytes = 1024;
    options.max_ws_message_bytes = 1024;
    server_ = std::make_unique<Server>(options, router_);
    auto listened = server_->Listen();
    ASSERT_TRUE(listened) << listened.error().ToString();
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    run_result_ = std::async(std::launch::async, [this] { return server_->Run(); });
  }

  Result<void> StopAndWait() {
    server_->Stop();
    return run_result_.get();
  }

  void TearDown() override {
    if (run_result_.valid()) StopAndWait();
    std::lock_guard lock(mutex_);
    for (auto& t : workers_) t.join();
    parked_.clear();
  }

  Router router_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::future<Result<void>> run_result_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
  std::vector<Responder> parked_;
  std::vector<std::shared_ptr<EchoListener>> listeners_;
};

constexpr std::string_view kGetHealth = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";

nlohmann::json ErrorOf(const RawClient::Reply& reply) {
  auto json = nlohmann::json::parse(reply.body, nullptr, false);
  return json.is_discarded() ? nlohmann::json{} : json["error"];
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  Start();
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  client.Send(kGetHealth);
  auto first = client.Read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, R"({"status":"ok"})");
  EXPECT_EQ(first->headers["server"], "tempovoice");
  EXPECT_EQ(first->headers["content-type"], "application/json");
  EXPECT_EQ(first->headers.count("connection"), 0u);

  client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello");
  auto second = client.Read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "hello");

  client.Send("GET /items/abc?q=1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  auto third = client.Read();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->body, "abc");
  EXPECT_EQ(third->headers["connection"], "close");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(ServerTest, HeadHasLengthButNoBody) {
  Start();
  RawClient client(port_);
  client.Send("HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n");
  client.Send(kGetHealth);
  auto head = client.Read(RawClient::ForHead::kYes);  // a body would corrupt the next read
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->headers["content-length"], "15");
  auto get = client.Read();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, R"({"status":"ok"})");
}

TEST_F(ServerTest, UnknownPathIs404Json) {
  Start();
  auto& counter = metrics::Registry::Global().AddCounter(
      "tempo_http_requests_total", "", {{"route", "unmatched"}, {"code_class", "4xx"}});
  uint64_t before = counter.Value();
  RawClient client(port_);
  client.Send("GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 404);
  EXPECT_EQ(ErrorOf(*reply)["code"], "not_found");
  // The connection stays usable after a 404.
  client.Send(kGetHealth);
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(counter.Value(), before + 1);
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  Start();
  RawClient client(port_);
  client.Send("DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n");
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 405);
  EXPECT_EQ(reply->headers["allow"], "GET, HEAD");
  EXPECT_EQ(ErrorOf(*reply)["code"], "method_not_allowed");
}

TEST_F(ServerTest, OversizedHeaderIs431ThenClose) {
  Start();
  RawClient client(port_);
  client.Send("GET /health HTTP/1.1\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 431);
  EXPECT_EQ(reply->headers["connection"], "close");
  EXPECT_EQ(ErrorOf(*reply)["code"], "header_too_large");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(ServerTest, OversizedBodyIs413ThenClose) {
  Start();
  RawClient client(port_);
  client.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n");
  client.Send(std::string(5000, 'x'));
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
  EXPECT_EQ(ErrorOf(*reply)["code"], "body_too_large");
  EXPECT_TRUE(client.WaitClosed());

  RawClient chunked(port_);
  chunked.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; ++i) chunked.Send("200\r\n" + std::string(512, 'y') + "\r\n");
  auto chunked_reply = chunked.Read();
  ASSERT_TRUE(chunked_reply);
  EXPECT_EQ(chunked_reply->status, 413);
}

TEST_F(ServerTest, GarbageIs400ThenClose) {
  Start();
  RawClient client(port_);
  client.Send("\x01\x02\x03 what is this\r\n\r\n");
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 400);
  EXPECT_EQ(ErrorOf(*reply)["code"], "bad_request");
  EXPECT_TRUE(client.WaitClosed());
}

TEST_F(ServerTest, AsyncHandlerAnsweredFromAnotherThread) {
  Start();
  RawClient client(port_);
  client.Send("GET /async HTTP/1.1\r\nHost: t\r\n\r\n");
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "from another thread");
}

TEST_F(ServerTest, DroppedResponderIs500) {
  Start();
  RawClient client(port_);
  client.Send("GET /drop HTTP/1.1\r\nHost: t\r\n\r\n");
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 500);
  EXPECT_EQ(ErrorOf(*reply)["code"], "internal");
}

TEST_F(ServerTest, UnansweredHandlerIs503AfterRequestTimeout) {
  ServerOptions options;
  options.request_timeout = 300ms;
  Start(options);
  RawClient client(port_);
  client.Send("GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
  auto reply = client.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 503);
  // A late answer is dropped; the connection serves the next request normally.
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(parked_.size(), 1u);
    parked_[0].Send(Response::Text(200, "late"));
  }
  client.Send(kGetHealth);
  auto next = client.Read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, R"({"status":"ok"})");
}

TEST_F(ServerTest, StalledRequestIsClosedWhileOthersAreServed) {
  ServerOptions options;
  options.request_timeout = 300ms;
  Start(options);
  RawClient slow(port_);
  slow.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
  RawClient good(port_);
  good.Send(kGetHealth);
  auto reply = good.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(slow.WaitClosed());
}

// Issue #26: at the connection cap, the connection that has been sending its request head
// the longest (a slowloris) is closed to make room, and a new request is served.
TEST_F(ServerTest, AtTheConnectionCapTheOldestSlowConnectionMakesRoom) {
  ServerOptions options;
  options.max_connections = 3;
  options.shed_reserve = 1;
  options.head_timeout = 30s;  // only the cap closes the slow ones here
  options.pressure_timeout = 30s;
  Start(options);
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int n = 0; n < 3; ++n) {
    slow.push_back(std::make_unique<RawClient>(port_));
    slow.back()->Send("GET /health HTTP/1.1\r\nHo");
    std::this_thread::sleep_for(20ms);  // oldest first
  }
  std::this_thread::sleep_for(300ms);  // past the grace a new connection gets to send
  RawClient good(port_);
  good.Send(kGetHealth);
  auto reply = good.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_TRUE(slow[0]->WaitClosed());
  EXPECT_FALSE(slow[2]->Answered(100ms));  // the newest slow one is still open
  EXPECT_GE(metrics::Registry::Global()
                .AddCounter("tempo_http_connections_shed_total",
                            "Idle or slow connections closed to make room at the connection cap")
                .Value(),
            1u);
}

// Connections that are busy (a handler is working on their request) are never shed. Past the
// cap the reserve still takes whole requests; once it is used too, a new connection waits in
// the listen backlog until one of them is done.
TEST_F(ServerTest, AtTheCapBusyConnectionsStayAndNewOnesWait) {
  ServerOptions options;
  options.max_connections = 2;
  options.shed_reserve = 1;
  Start(options);
  const auto parked = [this](size_t n) {
    for (int i = 0; i < 1000; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (parked_.size() == n) return true;
      }
      std::this_thread::sleep_for(2ms);
    }
    return false;
  };
  std::vector<std::unique_ptr<RawClient>> busy;
  for (int n = 0; n < 3; ++n) {  // two under the cap, one in the reserve
    busy.push_back(std::make_unique<RawClient>(port_));
    busy.back()->Send("GET /never HTTP/1.1\r\nHost: t\r\n\r\n");
    ASSERT_TRUE(parked(n + 1u));
  }
  RawClient waiting(port_);
  waiting.Send(kGetHealth);
  EXPECT_FALSE(waiting.Answered(500ms));
  {
    std::lock_guard lock(mutex_);
    parked_[0].Send(Response::Text(200, "done"));
  }
  auto done = busy[0]->Read();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->body, "done");
  // The first connection stays open (keep-alive) but idle now: past its grace it makes room.
  auto reply = waiting.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_FALSE(busy[1]->Answered(50ms));  // still waiting for its handler, still open
  {
    std::lock_guard lock(mutex_);
    parked_[1].Send(Response::Text(200, "done too"));
    parked_[2].Send(Response::Text(200, "done too"));
  }
  for (int n = 1; n < 3; ++n) {
    auto later = busy[n]->Read();
    ASSERT_TRUE(later);
    EXPECT_EQ(later->body, "done too");
  }
}

// At the cap a new connection that brings half a request head is closed at the door.
TEST_F(ServerTest, AtTheCapHalfAHeadIsClosedAtTheDoorAndAWholeOneIsServed) {
  ServerOptions options;
  options.max_connections = 1;
  options.shed_reserve = 2;
  options.head_timeout = 30s;
  options.pressure_timeout = 30s;
  Start(options);
  RawClient first(port_);
  first.Send("GET /never HTTP/1.1\r\nHost: t\r\n\r\n");  // busy: the server is at its cap
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard lock(mutex_);
      if (!parked_.empty()) break;
    }
    std::this_thread::sleep_for(2ms);
  }
  RawClient slow(port_);
  slow.Send("GET /health HTTP/1.1\r\nHo");
  EXPECT_TRUE(slow.WaitClosed());
  RawClient good(port_);
  good.Send(kGetHealth);
  auto reply = good.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  {
    std::lock_guard lock(mutex_);
    parked_[0].Send(Response::Text(200, "done"));
  }
  ASSERT_TRUE(first.Read());
}

namespace websocket = boost::beast::websocket;
using tcp = boost::asio::ip::tcp;

struct WsClient {
  explicit WsClient(uint16_t port) : ws(ioc) {
    tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    ws.next_layer().connect(endpoint);
  }
  std::string ReadText() {
    boost::beast::flat_buffer buffer;
    ws.read(buffer);
    return boost::beast::buffers_to_string(buffer.data());
  }
  boost::asio::io_context ioc;
  websocket::stream<tcp::socket> ws;
};

TEST_F(ServerTest, WebSocketEcho) {
  Start();
  WsClient client(port_);
  client.ws.handshake("127.0.0.1", "/ws/lobby");
  EXPECT_EQ(client.ReadText(), "welcome lobby");
  client.ws.write(boost::asio::buffer(std::string("ping")));
  EXPECT_EQ(client.ReadText(), "ping");
  client.ws.binary(true);
  client.ws.write(boost::asio::buffer(std::string("\x00\x01", 2)));
  boost::beast::flat_buffer buffer;
  client.ws.read(buffer);
  EXPECT_FALSE(client.ws.got_text());
  EXPECT_EQ(boost::beast::buffers_to_string(buffer.data()), std::string("\x00\x01", 2));
  client.ws.text(true);
  client.ws.write(boost::asio::buffer(std::string("timer")));
  EXPECT_EQ(client.ReadText(), "tick");

  std::shared_ptr<EchoListener> listener;
  {
    std::lock_guard lock(mutex_);
    ASSERT_EQ(listeners_.size(), 1u);
    listener = listeners_[0];
  }
  auto closed = listener->Closed();
  client.ws.close(websocket::close_reason(websocket::close_code::normal, "bye"));
  ASSERT_EQ(closed.wait_for(10s), std::future_status::ready);
  CloseInfo info = closed.get();
  EXPECT_EQ(info.code, 1000);
  EXPECT_EQ(info.reason, "bye");
  EXPECT_TRUE(info.by_peer);
  EXPECT_EQ(listener->close_calls(), 1);
}

TEST_F(ServerTest, WebSocketRejectedUpgradeIsPlainHttp) {
  Start();
  WsClient client(port_);
  websocket::response_type response;
  boost::system::error_code ec;
  client.ws.handshake(response, "127.0.0.1", "/ws/forbidden", ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(response.result_int(), 403);

  RawClient plain(port_);
  plain.Send("GET /ws/lobby HTTP/1.1\r\nHost: t\r\n\r\n");
  auto reply = plain.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 426);
}

TEST_F(ServerTest, WebSocketOversizedMessageCloses1009) {
  Start();
  WsClient client(port_);
  client.ws.handshake("127.0.0.1", "/ws/big");
  EXPECT_EQ(client.ReadText(), "welcome big");
  client.ws.write(boost::asio::buffer(std::string(4096, 'z')));
  boost::beast::flat_buffer buffer;
  boost::system::error_code ec;
  client.ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(client.ws.reason().code, websocket::close_code::too_big);
  std::shared_ptr<EchoListener> listener;
  {
    std::lock_guard lock(mutex_);
    listener = listeners_.at(0);
  }
  auto closed = listener->Closed();
  ASSERT_EQ(closed.wait_for(10s), std::future_status::ready);
  CloseInfo info = closed.get();
  EXPECT_EQ(info.code, 1009) << info.reason;
  EXPECT_FALSE(info.by_peer);
}

TEST_F(ServerTest, StopLetsHalfSentRequestFinishAndClosesTheRest) {
  ServerOptions options;
  options.shutdown_grace = 10s;
  Start(options);

  // An idle keep-alive connection (proven accepted by a first request).
  RawClient idle(port_);
  idle.Send(kGetHealth);
  ASSERT_TRUE(idle.Read());

  // A connection in the middle of sending its request body.
  RawClient busy(port_);
  busy.Send(kGetHealth);
  ASSERT_TRUE(busy.Read());
  busy.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n01234");

  WsClient ws(port_);
  ws.ws.handshake("127.0.0.1", "/ws/stop");
  EXPECT_EQ(ws.ReadText(), "welcome stop");

  bool shutdown_callback_ran = false;
  server_->OnShutdown([&] { shutdown_callback_ran = true; });
  // Lets the server read the partial request before Stop (ordering, not a timing assertion).
  std::this_thread::sleep_for(200ms);
  server_->Stop();

  EXPECT_TRUE(idle.WaitClosed());

  boost::beast::flat_buffer buffer;
  boost::system::error_code ec;
  ws.ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws.ws.reason().code, websocket::close_code::going_away);

  busy.Send("56789");
  auto reply = busy.Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "0123456789");
  EXPECT_EQ(reply->headers["connection"], "close");
  EXPECT_TRUE(busy.WaitClosed());

  auto result = run_result_.get();
  EXPECT_TRUE(result) << result.error().ToString();
  EXPECT_TRUE(shutdown_callback_ran);
  // Stop is idempotent and safe after Run returned.
  server_->Stop();
}

TEST_F(ServerTest, MakeExecutorRunsPostedWorkAndTimers) {
  Start();
  auto executor = server_->MakeExecutor();
  std::promise<bool> fired;
  std::unique_ptr<Timer> timer;
  executor->Post([&] {
    timer = executor->MakeTimer();
    timer->ExpireAt(std::chrono::steady_clock::now() + 1h, [&](bool cancelled) {
      // Re-arming cancels the first wait.
      EXPECT_TRUE(cancelled);
    });
    timer->ExpireAt(std::chrono::steady_clock::now() + 1ms,
                    [&](bool cancelled) { fired.set_value(cancelled); });
  });
  auto future = fired.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(future.get());
  std::promise<void> destroyed;
  executor->Post([&] {
    timer.reset();
    destroyed.set_value();
  });
  destroyed.get_future().wait();

  std::promise<void> blocking_ran;
  server_->RunBlocking([&] { blocking_ran.set_value(); });
  EXPECT_EQ(blocking_ran.get_future().wait_for(10s), std::future_status::ready);
}

// A stop must not leave blocking work (a call's artefacts, its indexing) queued: Run returns only
// after every queued task, and every task those queue, has run, so the caller may destroy what
// they use as soon as Run returns. A task queued after that runs at once on the caller's thread.
TEST_F(ServerTest, RunReturnsOnlyAfterQueuedBlockingWorkHasRun) {
  Start();
  std::atomic<int> ran{0};
  std::promise<void> first_started;
  std::promise<void> release;
  auto released = release.get_future().share();
  // Occupy both threads of the pool, then queue more behind them, one of which queues another.
  for (int i = 0; i < 2; ++i) {
    server_->RunBlocking([&, i, released] {
      if (i == 0) first_started.set_value();
      released.wait();
      ran.fetch_add(1);
    });
  }
  for (int i = 0; i < 20; ++i) {
    server_->RunBlocking([&] {
      std::this_thread::sleep_for(1ms);
      ran.fetch_add(1);
    });
  }
  server_->RunBlocking([&] { server_->RunBlocking([&] { ran.fetch_add(1); }); });
  first_started.get_future().wait();
  server_->Stop();
  // Stopping has begun while the pool is busy; let it go only now.
  std::this_thread::sleep_for(50ms);
  release.set_value();
  auto stopped = run_result_.get();
  ASSERT_TRUE(stopped) << stopped.error().ToString();
  EXPECT_EQ(ran.load(), 23);

  std::thread::id ran_on;
  server_->RunBlocking([&] { ran_on = std::this_thread::get_id(); });
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

}  // namespace
}  // namespace tempo::net
