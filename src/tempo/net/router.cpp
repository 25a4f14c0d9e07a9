#include "tempo/net/router.hpp"

#include "tempo/base/check.hpp"

#include <utility>

namespace tempo::net {

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    // Assigning over an unsent responder must not leave its request hanging.
    if (sink_) sink_->Send(Response::Error(500, "internal", "request was not answered"));
    sink_ = std::move(other.sink_);
  }
  return *this;
}

Responder::~Responder() {
  if (sink_) sink_->Send(Response::Error(500, "internal", "request was not answered"));
}

void Responder::Send(Response response) {
  auto sink = std::move(sink_);
  if (!sink) {
    TEMPO_BUG("Responder::Send called twice or on an empty responder");
    return;
  }
  sink->Send(std::move(response));
}

struct Router::Route {
  enum class Kind { kSync, kAsync, kWebSocket };
  struct Segment {
    bool param = false;
    std::string text;  // literal text, or the parameter name
  };
  Kind kind = Kind::kSync;
  Method method = Method::kGet;
  std::string pattern;
  std::vector<Segment> segments;
  SyncHandler sync;
  AsyncHandler async;
  UpgradeHandler upgrade;
};

namespace {

/// Calls fn(segment) for each '/'-separated segment after the leading '/'.
/// Returns false if `path` does not start with '/'.
template <class Fn>
bool ForEachSegment(std::string_view path, Fn&& fn) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    if (!fn(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool MethodMatches(Method route_method, Method method) {
  return route_method == method || (method == Method::kHead && route_method == Method::kGet);
}

void AppendAllow(std::string& allow, std::string_view method) {
  // The list is tiny (a handful of methods), so a linear scan beats a set.
  size_t pos = 0;
  while (pos < allow.size()) {
    size_t comma = allow.find(", ", pos);
    std::string_view item = std::string_view(allow).substr(
        pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item == method) return;
    if (comma == std::string::npos) break;
    pos = comma + 2;
  }
  if (!allow.empty()) allow += ", ";
  allow += method;
}

}  // namespace

Router::Router() = default;
Router::~Router() = default;

namespace {

template <class Segments>
void ParsePattern(std::string_view pattern, Segments& segments) {
  bool ok = ForEachSegment(pattern, [&](std::string_view seg) {
    auto& out = segments.emplace_back();
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      out.param = true;
      out.text = std::string(seg.substr(1, seg.size() - 2));
    } else {
      out.text = std::string(seg);
    }
    return true;
  });
  TEMPO_CHECK(ok, "route patterns start with '/'");
}

}  // namespace

void Router::Add(Method method, std::string_view pattern, SyncHandler handler) {
  auto route = std::make_unique<Route>();
  route->kind = Route::Kind::kSync;
  route->method = method;
  route->pattern = std::string(pattern);
  ParsePattern(pattern, route->segments);
  route->sync = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::AddAsync(Method method, std::string_view pattern, AsyncHandler handler) {
  auto route = std::make_unique<Route>();
  route->kind = Route::Kind::kAsync;
  route->method = method;
  route->pattern = std::string(pattern);
  ParsePattern(pattern, route->segments);
  route->async = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::AddWebSocket(std::string_view pattern, UpgradeHandler handler) {
  auto route = std::make_unique<Route>();
  route->kind = Route::Kind::kWebSocket;
  route->method = Method::kGet;
  route->pattern = std::string(pattern);
  ParsePattern(pattern, route->segments);
  route->upgrade = std::move(handler);
  routes_.push_back(std::move(route));
}

namespace {

template <class RouteT>
bool PathMatches(const RouteT& route, std::string_view path,
                 std::vector<std::pair<std::string, std::string>>* params) {
  size_t index = 0;
  bool ok = ForEachSegment(path, [&](std::string_view seg) {
    if (index >= route.segments.size()) return false;
    const auto& want = route.segments[index++];
    if (want.param) {
      if (seg.empty()) return false;
      if (params != nullptr) params->emplace_back(want.text, std::string(seg));
      return true;
    }
    return seg == want.text;
  });
  return ok && index == route.segments.size();
}

}  // namespace

Router::Match Router::Find(Method method, std::string_view path, bool websocket) const {
  Match match;
  bool websocket_path = false;
  for (const auto& route : routes_) {
    if (!PathMatches(*route, path, nullptr)) continue;
    if (route->kind == Route::Kind::kWebSocket) {
      if (websocket && method == Method::kGet) {
        match.kind = Match::Kind::kWebSocket;
        match.upgrade = &route->upgrade;
      } else {
        websocket_path = true;
        continue;
      }
    } else if (MethodMatches(route->method, method)) {
      match.kind = Match::Kind::kHandler;
      if (route->kind == Route::Kind::kSync) {
        match.sync = &route->sync;
      } else {
        match.async = &route->async;
      }
    } else {
      AppendAllow(match.allow, ToString(route->method));
      if (route->method == Method::kGet) AppendAllow(match.allow, "HEAD");
      continue;
    }
    match.route = route->pattern;
    match.allow.clear();
    PathMatches(*route, path, &match.params);
    return match;
  }
  if (!match.allow.empty()) {
    if (websocket_path) AppendAllow(match.allow, "GET");
    match.kind = Match::Kind::kMethodNotAllowed;
  } else if (websocket_path) {
    if (method == Method::kGet || method == Method::kHead) {
      match.kind = Match::Kind::kUpgradeRequired;
    } else {
      match.kind = Match::Kind::kMethodNotAllowed;
      match.allow = "GET";
    }
  }
  return match;
}

}  // namespace tempo::net
