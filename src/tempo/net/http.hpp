#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::net {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view ToString(Method m);
Method ParseMethod(std::string_view text);

/// Case-insensitive, order-preserving header list.
class Headers {
 public:
  struct Field {
    std::string name;
    std::string value;
  };
  /// First value of `name` (case-insensitive), if present.
  [[nodiscard]] std::optional<std::string_view> Find(std::string_view name) const;
  void Add(std::string name, std::string value);
  /// Replaces every field named `name` with one.
  void Set(std::string name, std::string value);
  [[nodiscard]] const std::vector<Field>& fields() const { return fields_; }

 private:
  std::vector<Field> fields_;
};

/// A fully read HTTP request, detached from the connection (no Asio types).
struct Request {
  Method method = Method::kGet;
  std::string method_text;  ///< as sent, e.g. "GET"
  std::string target;       ///< raw request-target, e.g. "/agent/a1/incoming-call?x=1"
  std::string path;         ///< target before '?', percent-decoding NOT applied
  std::string query;        ///< target after '?', without the '?'
  Headers headers;
  std::string body;
  std::string remote_address;  ///< peer IP address
  /// Values of `{name}` segments of the matched route pattern, in pattern order.
  std::vector<std::pair<std::string, std::string>> path_params;

  /// The value of path parameter `name` ("" if the route has none by that name).
  [[nodiscard]] std::string_view PathParam(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  /// `body` with Content-Type application/json.
  static Response Json(int status, std::string body);
  /// `body` with Content-Type text/plain; charset=utf-8.
  static Response Text(int status, std::string body);
  /// {"error":{"code":<code>,"message":<message>}} — the one error shape of every endpoint.
  static Response Error(int status, std::string_view code, std::string_view message);
};

/// Reason phrase for a status code ("Not Found").
std::string_view StatusReason(int status);

}  // namespace tempo::net
