#include "tempo/net/http.hpp"

#include "tempo/net/http_parse.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace tempo::net {
namespace {

TEST(HeadersTest, FindIsCaseInsensitive) {
  Headers h;
  h.Add("Content-Type", "text/plain");
  h.Add("X-Twilio-Signature", "abc");
  EXPECT_EQ(h.Find("content-type"), "text/plain");
  EXPECT_EQ(h.Find("X-TWILIO-SIGNATURE"), "abc");
  EXPECT_FALSE(h.Find("content-length").has_value());
}

TEST(HeadersTest, FindReturnsFirstAndSetReplacesAll) {
  Headers h;
  h.Add("Set-Cookie", "a=1");
  h.Add("set-cookie", "b=2");
  EXPECT_EQ(h.Find("SET-COOKIE"), "a=1");
  EXPECT_EQ(h.fields().size(), 2u);
  h.Set("Set-Cookie", "c=3");
  ASSERT_EQ(h.fields().size(), 1u);
  EXPECT_EQ(h.Find("set-cookie"), "c=3");
}

TEST(ResponseTest, ErrorHasTheOneErrorShape) {
  Response r = Response::Error(404, "not_found", "no \"agent\"\n here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.headers.Find("content-type"), "application/json");
  auto json = nlohmann::json::parse(r.body);
  ASSERT_TRUE(json.is_object());
  ASSERT_EQ(json.size(), 1u);
  EXPECT_EQ(json["error"]["code"], "not_found");
  EXPECT_EQ(json["error"]["message"], "no \"agent\"\n here");
  EXPECT_EQ(json["error"].size(), 2u);
}

TEST(ResponseTest, ErrorEscapesControlCharacters) {
  Response r = Response::Error(400, "bad",
                               std::string("a\x01"
                                           "b",
                                           3));
  auto json = nlohmann::json::parse(r.body);
  EXPECT_EQ(json["error"]["message"], std::string("a\x01"
                                                  "b",
                                                  3));
}

TEST(ResponseTest, TextAndJsonSetContentType) {
  EXPECT_EQ(Response::Text(200, "hi").headers.Find("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(Response::Json(201, "{}").status, 201);
}

TEST(MethodTest, RoundTrips) {
  for (Method m : {Method::kGet, Method::kHead, Method::kPost, Method::kPut, Method::kPatch,
                   Method::kDelete, Method::kOptions}) {
    EXPECT_EQ(ParseMethod(ToString(m)), m);
  }
  EXPECT_EQ(ParseMethod("get"), Method::kOther);
  EXPECT_EQ(ParseMethod("BREW"), Method::kOther);
}

TEST(StatusReasonTest, KnownCodes) {
  EXPECT_EQ(StatusReason(404), "Not Found");
  EXPECT_EQ(StatusReason(431), "Request Header Fields Too Large");
}

TEST(RequestTest, PathParam) {
  Request r;
  r.path_params = {{"agentId", "a1"}, {"callSid", "CA9"}};
  EXPECT_EQ(r.PathParam("callSid"), "CA9");
  EXPECT_EQ(r.PathParam("missing"), "");
}

RequestLimits SmallLimits() { return RequestLimits{256, 64}; }

TEST(ParseRequestTest, CompleteGet) {
  std::string raw = "GET /agent/a1/x?y=1&z=2 HTTP/1.1\r\nHost: h\r\nX-A: b\r\n\r\nNEXT";
  ParsedRequest p = ParseRequest(raw, SmallLimits());
  ASSERT_EQ(p.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(p.request.method, Method::kGet);
  EXPECT_EQ(p.request.method_text, "GET");
  EXPECT_EQ(p.request.target, "/agent/a1/x?y=1&z=2");
  EXPECT_EQ(p.request.path, "/agent/a1/x");
  EXPECT_EQ(p.request.query, "y=1&z=2");
  EXPECT_EQ(p.request.headers.Find("x-a"), "b");
  EXPECT_TRUE(p.keep_alive);
  EXPECT_FALSE(p.websocket_upgrade);
  EXPECT_EQ(p.consumed, raw.size() - 4);
}

TEST(ParseRequestTest, PostWithBodyAndChunked) {
  ParsedRequest p = ParseRequest(
      "POST /e HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello", SmallLimits());
  ASSERT_EQ(p.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(p.request.body, "hello");
  EXPECT_FALSE(p.keep_alive);

  ParsedRequest c = ParseRequest(
      "POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      SmallLimits());
  ASSERT_EQ(c.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(c.request.body, "abcde");
}

TEST(ParseRequestTest, IncompleteRequests) {
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nHost:", SmallLimits()).outcome,
            ParseOutcome::kIncomplete);
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab", SmallLimits()).outcome,
            ParseOutcome::kIncomplete);
  EXPECT_EQ(ParseRequest("", SmallLimits()).outcome, ParseOutcome::kIncomplete);
}

TEST(ParseRequestTest, Rejections) {
  EXPECT_EQ(ParseRequest("\x01\x02 nonsense\r\n\r\n", SmallLimits()).outcome,
            ParseOutcome::kMalformed);
  EXPECT_EQ(ParseRequest("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", SmallLimits()).outcome,
            ParseOutcome::kMalformed);
  std::string big_header = "GET / HTTP/1.1\r\nX-Big: " + std::string(400, 'a') + "\r\n\r\n";
  EXPECT_EQ(ParseRequest(big_header, SmallLimits()).outcome, ParseOutcome::kHeaderTooLarge);
  EXPECT_EQ(ParseRequest("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", SmallLimits()).outcome,
            ParseOutcome::kBodyTooLarge);
  std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                        std::string(64, 'x') + "\r\n1\r\nx\r\n0\r\n\r\n";
  EXPECT_EQ(ParseRequest(chunked, SmallLimits()).outcome, ParseOutcome::kBodyTooLarge);
}

// Regression (fuzz_http_request): after need_more the loop offered Beast the same bytes
// again, which aborted on parse_chunk_header's `n >= 5` assertion once the final chunk had
// been seen but its trailer had not ended.
TEST(ParseRequestTest, FinalChunkWithoutEndIsIncompleteNotAnAbort) {
  const std::string head = "POST ,l HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(ParseRequest(head + "0\r\n\n", SmallLimits()).outcome, ParseOutcome::kIncomplete);
  EXPECT_EQ(ParseRequest(head + "0\r\n\r\n", SmallLimits()).outcome, ParseOutcome::kComplete);
  // Complete but malformed: an error value.
  EXPECT_EQ(ParseRequest(head + "zz\r\nabc\r\n0\r\n\r\n", SmallLimits()).outcome,
            ParseOutcome::kMalformed);
  EXPECT_EQ(ParseRequest(head + "3\r\nabcXY0\r\n\r\n", SmallLimits()).outcome,
            ParseOutcome::kMalformed);
}

TEST(ParseRequestTest, EveryPrefixOfAChunkedRequestIsIncomplete) {
  const std::string raw =
      "POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n"
      "Trailer-A: 1\r\n\r\n";
  for (size_t i = 0; i < raw.size(); ++i) {
    EXPECT_EQ(ParseRequest(raw.substr(0, i), SmallLimits()).outcome, ParseOutcome::kIncomplete)
        << "prefix of " << i << " bytes";
  }
  ParsedRequest whole = ParseRequest(raw, SmallLimits());
  ASSERT_EQ(whole.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(whole.request.body, "abc");
  EXPECT_EQ(whole.consumed, raw.size());
}

TEST(ParseRequestTest, WebSocketUpgrade) {
  ParsedRequest p = ParseRequest(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      SmallLimits());
  ASSERT_EQ(p.outcome, ParseOutcome::kComplete);
  EXPECT_TRUE(p.websocket_upgrade);
}

TEST(RejectionResponseTest, StatusPerOutcome) {
  EXPECT_EQ(RejectionResponse(ParseOutcome::kMalformed).status, 400);
  EXPECT_EQ(RejectionResponse(ParseOutcome::kHeaderTooLarge).status, 431);
  EXPECT_EQ(RejectionResponse(ParseOutcome::kBodyTooLarge).status, 413);
  auto json = nlohmann::json::parse(RejectionResponse(ParseOutcome::kBodyTooLarge).body);
  EXPECT_EQ(json["error"]["code"], "body_too_large");
}

}  // namespace
}  // namespace tempo::net
