#include "tempo/net/router.hpp"

#include "tempo/net/http_parse.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace tempo::net {
namespace {

using Kind = Router::Match::Kind;

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    router_.Add(Method::kGet, "/health", [](const Request&) { return Response::Text(200, "h"); });
    router_.Add(Method::kPost, "/agent/{agentId}/incoming-call", [](const Request& r) {
      return Response::Text(200, std::string(r.PathParam("agentId")));
    });
    router_.Add(Method::kGet, "/agent/{agentId}/calls/{callSid}",
                [](const Request&) { return Response::Text(200, "call"); });
    router_.Add(Method::kDelete, "/agent/{agentId}/calls/{callSid}",
                [](const Request&) { return Response::Text(204, ""); });
    router_.AddAsync(Method::kPut, "/async/{id}", [](Request, Responder) {});
    router_.AddWebSocket("/agent/{agentId}/media-stream",
                         [](const Request&, std::shared_ptr<WebSocket>) -> UpgradeDecision {
                           return Response::Error(403, "forbidden", "no");
                         });
  }
  Router router_;
};

TEST_F(RouterTest, LiteralRoute) {
  auto m = router_.Find(Method::kGet, "/health", false);
  ASSERT_EQ(m.kind, Kind::kHandler);
  ASSERT_NE(m.sync, nullptr);
  EXPECT_EQ(m.async, nullptr);
  EXPECT_EQ(m.route, "/health");
  EXPECT_EQ((*m.sync)(Request{}).body, "h");
  EXPECT_TRUE(m.params.empty());
}

TEST_F(RouterTest, ParamsInPatternOrder) {
  auto m = router_.Find(Method::kGet, "/agent/a1/calls/CA42", false);
  ASSERT_EQ(m.kind, Kind::kHandler);
  EXPECT_EQ(m.route, "/agent/{agentId}/calls/{callSid}");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"agentId", "a1"}));
  EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"callSid", "CA42"}));
}

TEST_F(RouterTest, MethodSelectsAmongRoutesOfOnePath) {
  auto del = router_.Find(Method::kDelete, "/agent/a1/calls/CA42", false);
  ASSERT_EQ(del.kind, Kind::kHandler);
  EXPECT_EQ((*del.sync)(Request{}).status, 204);
}

TEST_F(RouterTest, AsyncRoute) {
  auto m = router_.Find(Method::kPut, "/async/7", false);
  ASSERT_EQ(m.kind, Kind::kHandler);
  EXPECT_EQ(m.sync, nullptr);
  EXPECT_NE(m.async, nullptr);
  EXPECT_EQ(m.params[0].second, "7");
}

TEST_F(RouterTest, NotFound) {
  EXPECT_EQ(router_.Find(Method::kGet, "/nope", false).kind, Kind::kNotFound);
  // Exact match only: no trailing-slash folding, no empty parameters, no prefix matches.
  EXPECT_EQ(router_.Find(Method::kGet, "/health/", false).kind, Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "/agent//calls/x", false).kind, Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "/agent/a1/calls", false).kind, Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "/agent/a1/calls/x/y", false).kind, Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "health", false).kind, Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "", false).kind, Kind::kNotFound);
}

TEST_F(RouterTest, MethodNotAllowedListsAllow) {
  auto m = router_.Find(Method::kPost, "/health", false);
  EXPECT_EQ(m.kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD");
  auto calls = router_.Find(Method::kPut, "/agent/a/calls/c", false);
  EXPECT_EQ(calls.kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(calls.allow, "GET, HEAD, DELETE");
  auto routed = RoutingResponse(calls);
  ASSERT_TRUE(routed.has_value());
  EXPECT_EQ(routed->status, 405);
  EXPECT_EQ(routed->headers.Find("allow"), "GET, HEAD, DELETE");
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  auto m = router_.Find(Method::kHead, "/health", false);
  EXPECT_EQ(m.kind, Kind::kHandler);
}

TEST_F(RouterTest, WebSocketRouteNeedsUpgrade) {
  auto ws = router_.Find(Method::kGet, "/agent/a9/media-stream", true);
  ASSERT_EQ(ws.kind, Kind::kWebSocket);
  ASSERT_NE(ws.upgrade, nullptr);
  EXPECT_EQ(ws.route, "/agent/{agentId}/media-stream");
  EXPECT_EQ(ws.params[0].second, "a9");

  auto plain = router_.Find(Method::kGet, "/agent/a9/media-stream", false);
  EXPECT_EQ(plain.kind, Kind::kUpgradeRequired);
  EXPECT_EQ(RoutingResponse(plain)->status, 426);

  auto post = router_.Find(Method::kPost, "/agent/a9/media-stream", false);
  EXPECT_EQ(post.kind, Kind::kMethodNotAllowed);
  EXPECT_EQ(post.allow, "GET");
}

TEST_F(RouterTest, UpgradeRequestOnHttpRouteIsPlainHttp) {
  auto m = router_.Find(Method::kGet, "/health", true);
  EXPECT_EQ(m.kind, Kind::kHandler);
}

TEST_F(RouterTest, NotFoundResponse) {
  auto routed = RoutingResponse(router_.Find(Method::kGet, "/x", false));
  ASSERT_TRUE(routed.has_value());
  EXPECT_EQ(routed->status, 404);
  EXPECT_FALSE(RoutingResponse(router_.Find(Method::kGet, "/health", false)).has_value());
}

TEST(ResponderTest, DroppedResponderAnswers500) {
  struct Capture : Responder::Sink {
    void Send(Response r) override { statuses.push_back(r.status); }
    std::vector<int> statuses;
  };
  auto sink = std::make_shared<Capture>();
  { Responder r(sink); }
  {
    Responder r(sink);
    r.Send(Response::Text(200, "ok"));
  }
  {
    Responder a(sink);
    Responder b = std::move(a);
    b.Send(Response::Text(201, ""));
  }
  EXPECT_EQ(sink->statuses, (std::vector<int>{500, 200, 201}));
}

}  // namespace
}  // namespace tempo::net
