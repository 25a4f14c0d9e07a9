#include "tempo/control/api_support.hpp"

#include "tempo/base/base64.hpp"
#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/control/request_parsing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

namespace tempo::control {
namespace {

using nlohmann::json;

bool IsSafeMethod(net::Method m) {
  return m == net::Method::kGet || m == net::Method::kHead || m == net::Method::kOptions;
}

std::optional<ApiError> Authenticate(AuthService& auth, Ctx& ctx) {
  if (auto authorization = ctx.req.headers.Find("Authorization")) {
    std::string_view value = *authorization;
    if (value.size() < 7 || Lower(value.substr(0, 7)) != "bearer ") {
      return Unauthorized("the Authorization header must be `Bearer <API key>`");
    }
    auto who = auth.FromApiKey(value.substr(7));
    if (!who) return FromDb(who.error());
    if (!*who) return Unauthorized("unknown or revoked API key");
    ctx.who = std::move(**who);
    return std::nullopt;
  }
  if (auto cookie = ctx.req.headers.Find("Cookie")) {
    if (auto token = FindCookie(*cookie, kSessionCookie)) {
      auto who = auth.FromSession(*token);
      if (!who) return FromDb(who.error());
      if (!*who) return Unauthorized("the session has expired or is invalid; log in again");
      ctx.who = std::move(**who);
      ctx.session_token = std::move(*token);
      return std::nullopt;
    }
  }
  return Unauthorized("log in or send an API key as `Authorization: Bearer tv_...`");
}

net::Response Dispatch(ControlState& state, const net::Request& req, Access access,
                       ApiHandler handler) {
  try {
    const size_t limit =
        req.path.rfind("/api/v1/agents", 0) == 0 ? kMaxAgentBodyBytes : kMaxBodyBytes;
    if (req.body.size() > limit) {
      return PayloadTooLarge(fmt::format("the body is larger than {} bytes", limit)).ToResponse();
    }
    auto query = ParseQuery(req.query);
    if (!query) return BadRequest("malformed query string").ToResponse();
    Ctx ctx{req, std::move(*query), {}, {}};
    if (access != Access::kPublic) {
      if (auto denied = Authenticate(state.auth, ctx)) return denied->ToResponse();
      if (ctx.who.kind == Principal::Kind::kSession && !IsSafeMethod(req.method)) {
        const auto header = req.headers.Find("X-CSRF-Token");
        if (!header || !ConstantTimeEquals(*header, ctx.who.csrf_token)) {
          return CsrfFailed().ToResponse();
        }
      }
      if (access == Access::kWrite && ctx.who.role == Role::kViewer) {
        return Forbidden("viewers cannot change anything").ToResponse();
      }
      if (access == Access::kAdmin && ctx.who.role != Role::kAdmin) {
        return Forbidden("only admins can manage users").ToResponse();
      }
    }
    return handler(state, ctx);
  } catch (const std::exception& e) {
    TEMPO_LOG(control, error, "{} {} failed: {}", net::ToString(req.method), req.path, e.what());
    return InternalError().ToResponse();
  }
}

}  // namespace

void ApiRoutes::Add(net::Method method, std::string_view pattern, Access access,
                    ApiHandler handler) {
  ControlState* state = &state_;
  router_.AddAsync(method, pattern,
                   [state, access, handler](net::Request request, net::Responder responder) {
                     auto req = std::make_shared<net::Request>(std::move(request));
                     auto out = std::make_shared<net::Responder>(std::move(responder));
                     state->run_blocking([state, access, handler, req, out] {
                       out->Send(Dispatch(*state, *req, access, handler));
                     });
                   });
}

std::optional<std::string> BodyReader::String(const char* key, bool required, size_t max) {
  seen_.insert(key);
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) {
    if (required) errors_.push_back({key, "is required"});
    return std::nullopt;
  }
  if (!it->is_string()) {
    errors_.push_back({key, "must be a string"});
    return std::nullopt;
  }
  std::string value = it->get<std::string>();
  if (value.size() > max) {
    errors_.push_back({key, fmt::format("is longer than {} characters", max)});
    return std::nullopt;
  }
  if (required && value.empty()) {
    errors_.push_back({key, "is required"});
    return std::nullopt;
  }
  return value;
}

bool BodyReader::IsNull(const char* key) const {
  auto it = j_.find(key);
  return it != j_.end() && it->is_null();
}

void BodyReader::Invalid(std::string field, std::string message) {
  errors_.push_back({std::move(field), std::move(message)});
}

std::optional<ApiError> BodyReader::Finish() {
  for (const auto& [key, value] : j_.items()) {
    if (!seen_.count(key)) errors_.push_back({key, "is not a known field"});
  }
  if (errors_.empty()) return std::nullopt;
  return ValidationFailed(errors_);
}

std::string Str(const db::Row& row, size_t i) {
  auto v = row.GetString(i);
  return v ? std::move(*v) : std::string();
}
int64_t Int(const db::Row& row, size_t i) {
  auto v = row.GetInt(i);
  return v ? *v : 0;
}
std::optional<std::string> OptStr(const db::Row& row, size_t i) {
  auto v = row.GetOptionalString(i);
  return v ? std::move(*v) : std::nullopt;
}
std::optional<int64_t> OptInt(const db::Row& row, size_t i) {
  auto v = row.GetOptionalInt(i);
  return v ? *v : std::nullopt;
}

int64_t WallMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.WallNow().time_since_epoch())
      .count();
}

net::Response JsonResponse(int status, const json& body) {
  auto r = net::Response::Json(status, DumpJson(body));
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

net::Response NoContent() {
  net::Response r;
  r.status = 204;
  r.headers.Set("Cache-Control", "no-store");
  return r;
}

std::string ETag(int64_t version) { return fmt::format("\"{}\"", version); }

bool ValidEmail(std::string_view email) {
  const size_t at = email.find('@');
  if (email.size() < 3 || email.size() > 254 || at == 0 || at == std::string_view::npos ||
      at + 1 >= email.size() || email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return std::none_of(email.begin(), email.end(), [](unsigned char c) {
    return c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"';
  });
}

ApiResult<int> PageLimit(const Ctx& c) {
  auto it = c.query.find("limit");
  if (it == c.query.end()) return kDefaultPageSize;
  auto n = ParseInt(it->second);
  if (!n || *n < 1 || *n > kMaxPageSize) {
    return FieldInvalid("limit", fmt::format("must be a whole number from 1 to {}", kMaxPageSize));
  }
  return static_cast<int>(*n);
}

std::optional<ApiError> OnlyQueryParams(const Ctx& c, std::initializer_list<std::string_view> ok) {
  std::vector<agent::FieldError> errors;
  for (const auto& [key, value] : c.query) {
    if (std::find(ok.begin(), ok.end(), key) == ok.end()) {
      errors.push_back({key, "is not a known query parameter"});
    }
  }
  if (errors.empty()) return std::nullopt;
  return ValidationFailed(std::move(errors));
}

ApiResult<std::optional<int64_t>> TimeParam(const Ctx& c, const char* name) {
  auto it = c.query.find(name);
  if (it == c.query.end() || it->second.empty()) return std::optional<int64_t>();
  auto ms = ParseTimeMs(it->second);
  if (!ms) return FieldInvalid(name, ms.error().message);
  return std::optional<int64_t>(*ms);
}

ApiResult<json> ParseObject(const Ctx& c) {
  if (c.req.body.empty()) return BadRequest("a JSON body is required");
  if (auto type = c.req.headers.Find("Content-Type"); type && !IsJsonMediaType(*type)) {
    // Also keeps cross-site HTML forms out: they cannot send a JSON media type.
    return ApiError{415, "unsupported_media_type", "send the body as application/json", {}};
  }
  if (JsonTooDeep(c.req.body, kMaxJsonDepth)) {
    return BadRequest(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  }
  auto j = json::parse(c.req.body, nullptr, false);
  if (j.is_discarded()) return InvalidJson("the body is not valid JSON");
  if (!j.is_object()) return BadRequest("the body must be a JSON object");
  return j;
}

ApiResult<int64_t> RequireIfMatch(const Ctx& c) {
  auto header = c.req.headers.Find("If-Match");
  if (!header) {
    return PreconditionRequired(
        "send If-Match with the agent's ETag (its version) to avoid overwriting a newer "
        "change");
  }
  auto version = ParseIfMatch(*header);
  if (!version) return PreconditionFailed("If-Match does not name a version of this agent");
  return *version;
}

}  // namespace tempo::control
