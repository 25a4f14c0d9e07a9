#include "tempo/net/client.hpp"

#include "tempo/net/router.hpp"
#include "tempo/net/server.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace tempo::net {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class EchoListener : public WebSocketListener {
 public:
  explicit EchoListener(std::shared_ptr<WebSocket> socket) : socket_(socket) {}
  void OnText(std::string_view message) override {
    if (message == "close-please") {
      socket_.lock()->Close(4000, "asked to");
      return;
    }
    if (auto s = socket_.lock()) s->SendText("echo:" + std::string(message));
  }
  void OnBinary(std::string_view message) override {
    if (auto s = socket_.lock()) s->SendBinary(std::string(message));
  }
  void OnClose(const CloseInfo&) override {}

 private:
  std::weak_ptr<WebSocket> socket_;
};

/// A real server on 127.0.0.1:0 running on its own thread.
class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add(Method::kPost, "/echo", [](const Request& req) {
      Response res = Response::Text(201, "got:" + req.body);
      res.headers.Add("X-Seen-Signature", std::string(req.headers.Find("X-Sig").value_or("")));
      return res;
    });
    router_.Add(Method::kGet, "/big",
                [](const Request&) { return Response::Text(200, std::string(100000, 'b')); });
    router_.AddWebSocket("/ws", [](const Request& req, std::shared_ptr<WebSocket> socket) {
      if (req.headers.Find("X-Token") != "ok") return UpgradeDecision(Response::Text(403, "no"));
      return UpgradeDecision(std::make_shared<EchoListener>(socket));
    });
    ServerOptions options;
    options.port = 0;
    options.threads = 1;
    options.handle_signals = false;
    server_ = std::make_unique<Server>(options, router_);
    ASSERT_TRUE(server_->Listen().has_value());
    thread_ = std::thread([this] { (void)server_->Run(); });
  }

  void TearDown() override {
    server_->Stop();
    thread_.join();
  }

  std::string Url(std::string_view scheme, std::string_view path) const {
    return fmt::format("{}://127.0.0.1:{}{}", scheme, server_->port(), path);
  }

  Router router_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST(ParseClientUrlTest, SplitsUrls) {
  auto u = ParseClientUrl("https://Example.com/agent/a1/incoming-call?x=1#frag");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "Example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/agent/a1/incoming-call?x=1");
  EXPECT_TRUE(u->tls());
  auto ws = ParseClientUrl("ws://127.0.0.1:3000");
  ASSERT_TRUE(ws.has_value());
  EXPECT_EQ(ws->port, 3000);
  EXPECT_EQ(ws->target, "/");
  EXPECT_FALSE(ws->tls());
  auto v6 = ParseClientUrl("wss://[::1]:8443/m");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8443);
  EXPECT_FALSE(ParseClientUrl("ftp://h/").has_value());
  EXPECT_FALSE(ParseClientUrl("http://:80/").has_value());
  EXPECT_FALSE(ParseClientUrl("http://h:99999/").has_value());
  EXPECT_FALSE(ParseClientUrl("http://user:pw@h/").has_value());
  EXPECT_FALSE(ParseClientUrl("no-scheme").has_value());
}

TEST_F(ClientTest, FetchBlockingPostsAndReadsTheResponse) {
  ClientRequest request;
  request.method = Method::kPost;
  request.url = Url("http", "/echo");
  request.headers.Set("X-Sig", "abc=");
  request.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  request.body = "a=1&b=2";
  auto response = FetchBlocking(request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "got:a=1&b=2");
  EXPECT_EQ(response->headers.Find("X-Seen-Signature"), "abc=");
}

TEST_F(ClientTest, FetchReportsStatusAndLimits) {
  ClientRequest missing;
  missing.url = Url("http", "/nothing-here");
  auto not_found = FetchBlocking(missing);
  ASSERT_TRUE(not_found.has_value());
  EXPECT_EQ(not_found->status, 404);

  ClientRequest big;
  big.url = Url("http", "/big");
  big.max_response_bytes = 1000;
  auto too_big = FetchBlocking(big);
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().code, ErrorCode::kResourceExhausted);

  big.max_response_bytes = 200000;
  auto ok = FetchBlocking(big);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->body.size(), 100000U);
}

// Issue #24: a HEAD answer says how long the body would be and sends none; the client used to
// wait for that body until the timeout (S3 HeadObject failed and was retried as a network
// error).
TEST_F(ClientTest, HeadAnswersAtOnceWithoutABody) {
  ClientRequest head;
  head.method = Method::kHead;
  head.url = Url("http", "/big");
  head.response_timeout = std::chrono::seconds(5);
  const auto start = std::chrono::steady_clock::now();
  auto response = FetchBlocking(head);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.Find("Content-Length"), "100000");
  EXPECT_TRUE(response->body.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// Whether a failed request may have reached the server decides if a change may be sent again.
TEST_F(ClientTest, AFailureSaysWhetherTheRequestMayHaveArrived) {
  // Nothing listens: refused before a byte was sent.
  const int closed = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(closed, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  getsockname(closed, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientRequest refused;
  refused.method = Method::kPost;
  refused.url = fmt::format("http://127.0.0.1:{}/create", ntohs(addr.sin_port));
  auto not_sent = FetchBlocking(refused);
  ASSERT_FALSE(not_sent.has_value());
  EXPECT_FALSE(RequestMayHaveArrived(not_sent.error())) << not_sent.error().message;
  // A server that takes the request and never answers: it may have acted on it.
  ASSERT_EQ(listen(closed, 4), 0);
  refused.response_timeout = std::chrono::milliseconds(300);
  auto lost = FetchBlocking(refused);
  close(closed);
  ASSERT_FALSE(lost.has_value());
  EXPECT_EQ(lost.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_TRUE(RequestMayHaveArrived(lost.error())) << lost.error().message;
  EXPECT_FALSE(RequestMayHaveArrived(InvalidArgument("bad URL")));
}

// Issue #24: AWS calls used to open a new connection each. The pool keeps them.
TEST_F(ClientTest, ThePoolKeepsConnectionsAlive) {
  HttpPool pool;
  for (int i = 0; i < 20; ++i) {
    ClientRequest request;
    request.method = i % 3 == 0 ? Method::kHead : Method::kPost;
    request.url = Url("http", i % 3 == 0 ? "/big" : "/echo");
    request.body = i % 3 == 0 ? "" : fmt::format("n={}", i);
    auto response = pool.Fetch(request);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    if (i % 3 != 0) {
      EXPECT_EQ(response->body, fmt::format("got:n={}", i));
    }
  }
  EXPECT_EQ(pool.stats().requests, 20U);
  EXPECT_EQ(pool.stats().connections_opened, 1U);

  // Four threads at once: at most one more connection each.
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        ClientRequest request;
        request.method = Method::kPost;
        request.url = Url("http", "/echo");
        request.body = fmt::format("{}-{}", t, i);
        auto response = pool.Fetch(request);
        if (!response || response->body != "got:" + request.body) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_LE(pool.stats().connections_opened, 5U);
}

TEST_F(ClientTest, APooledConnectionTheServerClosedIsReplaced) {
  HttpPool pool;
  ClientRequest request;
  request.method = Method::kPost;
  request.url = Url("http", "/echo");
  request.body = "first";
  ASSERT_TRUE(pool.Fetch(request).has_value());
  // The server restarts on the same port: the kept connection is dead.
  const uint16_t port = server_->port();
  server_->Stop();
  thread_.join();
  ServerOptions options;
  options.port = port;
  options.threads = 1;
  options.handle_signals = false;
  server_ = std::make_unique<Server>(options, router_);
  ASSERT_TRUE(server_->Listen().has_value());
  thread_ = std::thread([this] { (void)server_->Run(); });
  request.body = "second";
  auto response = pool.Fetch(request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->body, "got:second");
  EXPECT_EQ(pool.stats().connections_opened, 2U);
}

TEST_F(ClientTest, FetchFailsCleanlyWhenNothingListens) {
  const uint16_t port = server_->port();
  server_->Stop();
  thread_.join();
  thread_ = std::thread([] {});
  ClientRequest request;
  request.url = fmt::format("http://127.0.0.1:{}/echo", port);
  auto response = FetchBlocking(request);
  ASSERT_FALSE(response.has_value());
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  ClientRequest gopher;
  gopher.url = "gopher://x/";
  EXPECT_FALSE(FetchBlocking(gopher).has_value());
}

class RecordingListener : public WebSocketListener {
 public:
  void OnText(std::string_view message) override {
    std::lock_guard lock(mutex);
    texts.emplace_back(message);
    if (texts.size() == 2) socket->Close(1000, "done");
  }
  void OnBinary(std::string_view message) override {
    std::lock_guard lock(mutex);
    binaries.emplace_back(message);
  }
  void OnClose(const CloseInfo& info) override {
    closed.set_value(info);
    socket.reset();
  }
  std::mutex mutex;
  std::shared_ptr<WebSocket> socket;
  std::vector<std::string> texts;
  std::vector<std::string> binaries;
  std::promise<CloseInfo> closed;
};

TEST_F(ClientTest, WebSocketEchoesAndClosesOnBothSides) {
  ClientContext context(1);
  auto listener = std::make_shared<RecordingListener>();
  auto closed = listener->closed.get_future();
  WebSocketConnectOptions options;
  options.url = Url("ws", "/ws");
  options.headers.Set("X-Token", "ok");
  context.ConnectWebSocket(
      options,
      [&](std::shared_ptr<WebSocket> socket) -> std::shared_ptr<WebSocketListener> {
        listener->socket = socket;
        socket->SendBinary(std::string("\x00\x01", 2));
        socket->SendText("one");
        socket->SendText("two");
        return listener;
      },
      [&](Error error) {
        ADD_FAILURE() << error.message;
        context.Stop();
      });
  std::thread runner([&] { context.Run(); });
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const CloseInfo info = closed.get();
  context.Stop();
  runner.join();
  EXPECT_THAT(listener->texts, ElementsAre("echo:one", "echo:two"));
  EXPECT_THAT(listener->binaries, ElementsAre(std::string("\x00\x01", 2)));
  EXPECT_EQ(info.code, 1000) << info.reason;
  EXPECT_FALSE(info.by_peer);
}

TEST_F(ClientTest, WebSocketSeesTheServersClose) {
  ClientContext context(1);
  auto listener = std::make_shared<RecordingListener>();
  auto closed = listener->closed.get_future();
  WebSocketConnectOptions options;
  options.url = Url("ws", "/ws");
  options.headers.Set("X-Token", "ok");
  context.ConnectWebSocket(
      options,
      [&](std::shared_ptr<WebSocket> socket) -> std::shared_ptr<WebSocketListener> {
        listener->socket = socket;
        socket->SendText("close-please");
        return listener;
      },
      [&](Error error) { ADD_FAILURE() << error.message; });
  std::thread runner([&] { context.Run(); });
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const CloseInfo info = closed.get();
  context.Stop();
  runner.join();
  EXPECT_EQ(info.code, 4000);
  EXPECT_EQ(info.reason, "asked to");
  EXPECT_TRUE(info.by_peer);
}

TEST_F(ClientTest, RefusedUpgradeIsUnauthenticated) {
  ClientContext context(1);
  std::optional<Error> failure;
  WebSocketConnectOptions options;
  options.url = Url("ws", "/ws");  // no X-Token: 403
  context.ConnectWebSocket(
      options,
      [&](std::shared_ptr<WebSocket>) -> std::shared_ptr<WebSocketListener> {
        ADD_FAILURE() << "opened";
        context.Stop();
        return nullptr;
      },
      [&](Error error) {
        failure = error;
        context.Stop();
      });
  context.Run();
  ASSERT_TRUE(failure.has_value());
  EXPECT_EQ(failure->code, ErrorCode::kUnauthenticated);
  EXPECT_THAT(failure->message, HasSubstr("403"));
}

TEST_F(ClientTest, ManyConcurrentWebSocketsOnOneThread) {
  constexpr int kSockets = 100;
  ClientContext context(1);
  std::atomic<int> echoes{0};
  std::atomic<int> closed{0};

  class Counter : public WebSocketListener {
   public:
    Counter(std::shared_ptr<WebSocket> s, std::atomic<int>& echoes, std::atomic<int>& closed,
            ClientContext& context)
        : socket_(std::move(s)), echoes_(echoes), closed_(closed), context_(context) {}
    void OnText(std::string_view) override {
      ++echoes_;
      socket_->Close(1000, "");
    }
    void OnBinary(std::string_view) override {}
    void OnClose(const CloseInfo&) override {
      socket_.reset();
      if (++closed_ == kSockets) context_.Stop();
    }

   private:
    std::shared_ptr<WebSocket> socket_;
    std::atomic<int>& echoes_;
    std::atomic<int>& closed_;
    ClientContext& context_;
  };

  for (int i = 0; i < kSockets; ++i) {
    WebSocketConnectOptions options;
    options.url = Url("ws", "/ws");
    options.headers.Set("X-Token", "ok");
    context.ConnectWebSocket(
        options,
        [&](std::shared_ptr<WebSocket> socket) -> std::shared_ptr<WebSocketListener> {
          socket->SendText("hi");
          return std::make_shared<Counter>(socket, echoes, closed, context);
        },
        [&](Error error) {
          ADD_FAILURE() << error.message;
          if (++closed == kSockets) context.Stop();
        });
  }
  context.Run();
  EXPECT_EQ(echoes.load(), kSockets);
  EXPECT_EQ(closed.load(), kSockets);
}

TEST_F(ClientTest, ExecutorTimersFireOnTheirExecutor) {
  ClientContext context(2);
  auto executor = context.MakeExecutor();
  auto timer = std::shared_ptr<Timer>(executor->MakeTimer());
  std::vector<int> order;
  executor->Post([&] {
    timer->ExpireAt(std::chrono::steady_clock::now() + std::chrono::milliseconds(5),
                    [&](bool cancelled) {
                      order.push_back(cancelled ? -1 : 2);
                      context.Stop();
                    });
    order.push_back(1);
  });
  context.Run();
  EXPECT_THAT(order, ElementsAre(1, 2));
}

}  // namespace
}  // namespace tempo::net
