#pragma once

#include "tempo/net/http.hpp"
#include "tempo/net/router.hpp"

#include <cstddef>
#include <optional>
#include <string_view>

namespace tempo::net {

/// Size limits applied while reading one request (the server takes them from ServerOptions).
struct RequestLimits {
  size_t max_header_bytes = 16 * 1024;  ///< request line + header fields
  size_t max_body_bytes = 1024 * 1024;  ///< decoded body (Content-Length or chunked)
};

enum class ParseOutcome {
  kComplete,        ///< one whole request was parsed
  kIncomplete,      ///< more bytes are needed
  kMalformed,       ///< not valid HTTP/1.x -> 400
  kHeaderTooLarge,  ///< head exceeds max_header_bytes -> 431
  kBodyTooLarge,    ///< body exceeds max_body_bytes -> 413
};

struct ParsedRequest {
  ParseOutcome outcome = ParseOutcome::kIncomplete;
  Request request;  ///< meaningful only for kComplete (path_params stay empty: routing fills them)
  bool websocket_upgrade = false;  ///< `Connection: upgrade` + `Upgrade: websocket` on a GET
  bool keep_alive = false;         ///< the connection may carry another request afterwards
  size_t consumed = 0;             ///< bytes of `bytes` that belong to this request
};

/// Sans-I/O: parses one HTTP/1.x request from the front of `bytes` with the exact parser
/// configuration the server uses on sockets (for tests and fuzzing). Never throws.
ParsedRequest ParseRequest(std::string_view bytes, const RequestLimits& limits);

/// The response the server sends for a rejected request; `outcome` is kMalformed,
/// kHeaderTooLarge or kBodyTooLarge (anything else yields a 500).
Response RejectionResponse(ParseOutcome outcome);

/// The response the server sends when routing reaches no handler (404, 405 with Allow,
/// 426 with Upgrade); nullopt for kHandler and kWebSocket matches.
std::optional<Response> RoutingResponse(const Router::Match& match);

}  // namespace tempo::net
