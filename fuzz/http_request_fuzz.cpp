// Feeds bytes through the server's request path without sockets: the same Beast parser
// configuration (limits included), then routing and the early error responses.
#include "tempo/net/http_parse.hpp"
#include "tempo/net/router.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace {

const tempo::net::Router& FuzzRouter() {
  static const auto* router = [] {
    auto* r = new tempo::net::Router();
    using tempo::net::Method;
    using tempo::net::Request;
    using tempo::net::Response;
    r->Add(Method::kGet, "/health", [](const Request&) { return Response::Text(200, "ok"); });
    r->Add(Method::kPost, "/agent/{agentId}/incoming-call", [](const Request& q) {
      return Response::Text(200, std::string(q.PathParam("agentId")));
    });
    r->Add(Method::kGet, "/api/v1/agents/{id}/calls/{callSid}",
           [](const Request&) { return Response::Text(200, ""); });
    r->AddAsync(Method::kPut, "/api/v1/agents/{id}", [](Request, tempo::net::Responder) {});
    r->AddWebSocket(
        "/agent/{agentId}/media-stream",
        [](const Request&, std::shared_ptr<tempo::net::WebSocket>) -> tempo::net::UpgradeDecision {
          return Response::Text(403, "");
        });
    return r;
  }();
  return *router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  tempo::net::RequestLimits limits{4096, 4096};
  auto parsed = tempo::net::ParseRequest(bytes, limits);
  using tempo::net::ParseOutcome;
  switch (parsed.outcome) {
    case ParseOutcome::kIncomplete:
      return 0;
    case ParseOutcome::kMalformed:
    case ParseOutcome::kHeaderTooLarge:
    case ParseOutcome::kBodyTooLarge:
      if (tempo::net::RejectionResponse(parsed.outcome).status < 400) std::abort();
      return 0;
    case ParseOutcome::kComplete:
      break;
  }
  if (parsed.consumed > size || parsed.request.body.size() > limits.max_body_bytes) std::abort();
  const auto& request = parsed.request;
  auto match = FuzzRouter().Find(request.method, request.path, parsed.websocket_upgrade);
  auto routed = tempo::net::RoutingResponse(match);
  using Kind = tempo::net::Router::Match::Kind;
  bool reaches_handler = match.kind == Kind::kHandler || match.kind == Kind::kWebSocket;
  if (routed.has_value() == reaches_handler) std::abort();
  if (match.kind == Kind::kHandler && match.sync != nullptr) {
    tempo::net::Request copy = request;
    copy.path_params = match.params;
    (void)(*match.sync)(copy);
  }
  return 0;
}
