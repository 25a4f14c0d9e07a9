#include "tempo/net/http_parse.hpp"

#include "tempo/net/beast_request.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <string>

namespace tempo::net {
namespace http = boost::beast::http;

namespace detail {

void ConfigureParser(BeastRequestParser& parser, const RequestLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
}

Request ToRequest(BeastRequest& req, std::string_view remote_address) {
  Request out;
  std::string_view method = req.method_string();
  out.method = ParseMethod(method);
  out.method_text = std::string(method);
  std::string_view target = req.target();
  out.target = std::string(target);
  size_t question = target.find('?');
  out.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) out.query = std::string(target.substr(question + 1));
  for (const auto& field : req) {
    out.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(req.body());
  out.remote_address = std::string(remote_address);
  return out;
}

std::optional<ParseOutcome> RejectionFor(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return ParseOutcome::kHeaderTooLarge;
  if (ec == http::error::body_limit) return ParseOutcome::kBodyTooLarge;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
    return ParseOutcome::kMalformed;
  }
  return std::nullopt;
}

}  // namespace detail

ParsedRequest ParseRequest(std::string_view bytes, const RequestLimits& limits) {
  ParsedRequest result;
  detail::BeastRequestParser parser;
  detail::ConfigureParser(parser, limits);
  parser.eager(true);
  size_t used = 0;
  while (!parser.is_done()) {
    boost::system::error_code ec;
    size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    // need_more means put() has taken what it can of everything it was offered and must next
    // see those unconsumed bytes *plus more*: Beast keeps offsets (skip_, the final-chunk
    // flag) that assume the buffer grew, and re-offering the same bytes trips its asserts
    // (parse_chunk_header's `n >= 5`). We hold every byte there is, so the request is
    // incomplete. A head larger than the limit is reported by put() itself, not as need_more.
    if (ec == http::error::need_more) return result;
    if (ec) {
      auto rejection = detail::RejectionFor(ec);
      result.outcome = rejection.value_or(ParseOutcome::kMalformed);
      return result;
    }
    // No error and not done: put() stopped at a boundary (it does that only when not eager);
    // go on from there while there is something left.
    if (!parser.is_done() && (n == 0 || used == bytes.size())) return result;
  }
  auto& req = parser.get();
  result.outcome = ParseOutcome::kComplete;
  result.websocket_upgrade = boost::beast::websocket::is_upgrade(req);
  result.keep_alive = req.keep_alive();
  result.consumed = used;
  result.request = detail::ToRequest(req, {});
  return result;
}

Response RejectionResponse(ParseOutcome outcome) {
  switch (outcome) {
    case ParseOutcome::kMalformed:
      return Response::Error(400, "bad_request", "malformed HTTP request");
    case ParseOutcome::kHeaderTooLarge:
      return Response::Error(431, "header_too_large", "request header fields too large");
    case ParseOutcome::kBodyTooLarge:
      return Response::Error(413, "body_too_large", "request body too large");
    case ParseOutcome::kComplete:
    case ParseOutcome::kIncomplete:
      break;
  }
  return Response::Error(500, "internal", "request was not rejected");
}

std::optional<Response> RoutingResponse(const Router::Match& match) {
  switch (match.kind) {
    case Router::Match::Kind::kNotFound:
      return Response::Error(404, "not_found", "no such route");
    case Router::Match::Kind::kMethodNotAllowed: {
      Response r = Response::Error(405, "method_not_allowed", "method not allowed for this route");
      r.headers.Add("Allow", match.allow);
      return r;
    }
    case Router::Match::Kind::kUpgradeRequired: {
      Response r = Response::Error(426, "upgrade_required", "this route needs a WebSocket upgrade");
      r.headers.Add("Upgrade", "websocket");
      return r;
    }
    case Router::Match::Kind::kHandler:
    case Router::Match::Kind::kWebSocket:
      break;
  }
  return std::nullopt;
}

}  // namespace tempo::net
