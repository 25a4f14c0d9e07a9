// /api/v1/auth (login, logout, me, password), /api/v1/users and /api/v1/keys.

#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/control/api_support.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/request_parsing.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace tempo::control {
namespace {

using nlohmann::json;

json MeJson(ControlState& s, const Principal& who,
            std::optional<int64_t> expires_at = std::nullopt) {
  json j = {{"organisation", {{"id", who.org_id.str()}}}, {"role", ToString(who.role)}};
  auto org = s.db->Query("SELECT name FROM organisations WHERE id = $1", {who.org_id.str()});
  if (org && !org->empty()) j["organisation"]["name"] = Str((*org)[0], 0);
  if (who.kind == Principal::Kind::kSession) {
    j["user"] = {{"id", who.user_id}, {"email", who.email}, {"role", ToString(who.role)}};
    j["csrfToken"] = who.csrf_token;
    if (expires_at) j["expiresAt"] = FormatTimeMs(*expires_at);
  } else {
    j["apiKey"] = {{"id", who.key_id}, {"role", ToString(who.role)}};
  }
  return j;
}

net::Response Login(ControlState& s, Ctx& c) {
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  BodyReader r(body);
  auto email = r.String("email", true, 254);
  auto password = r.String("password", true, 1000);
  if (auto e = r.Finish()) return e->ToResponse();
  const std::string ip_key = "ip:" + c.req.remote_address;
  const std::string email_key = "email:" + Lower(*email);
  const int64_t wait =
      std::max(s.limiter.RetryAfterSeconds(ip_key), s.limiter.RetryAfterSeconds(email_key));
  if (wait > 0) {
    auto response = ApiError{
        429,
        "rate_limited",
        fmt::format("too many failed logins; retry in {} s", wait),
        {}}.ToResponse();
    response.headers.Set("Retry-After", std::to_string(wait));
    return response;
  }
  TEMPO_DB_ASSIGN(auto session, s.auth.Login(*email, *password));
  if (!session) {
    s.limiter.RecordFailure(ip_key);
    s.limiter.RecordFailure(email_key);
    TEMPO_LOG_LIMITED(control, info, "failed login from {}", c.req.remote_address);
    return Unauthorized("wrong email or password").ToResponse();
  }
  s.limiter.Reset(email_key);
  auto response = JsonResponse(200, MeJson(s, session->principal, session->expires_at_ms));
  const bool secure = s.PublicUrl().rfind("https://", 0) == 0;
  response.headers.Add(
      "Set-Cookie",
      fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kSessionCookie,
                  session->token, s.options.session_ttl.count(), secure ? "; Secure" : ""));
  return response;
}

net::Response Logout(ControlState& s, Ctx& c) {
  if (!c.session_token.empty()) TEMPO_DB_TRY(s.auth.Logout(c.session_token));
  auto response = NoContent();
  response.headers.Add("Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; "
                                                 "Max-Age=0",
                                                 kSessionCookie));
  return response;
}

net::Response Me(ControlState& s, Ctx& c) { return JsonResponse(200, MeJson(s, c.who)); }

net::Response ChangePassword(ControlState& s, Ctx& c) {
  if (c.who.kind != Principal::Kind::kSession) {
    return Forbidden("API keys have no password").ToResponse();
  }
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  BodyReader r(body);
  auto current = r.String("currentPassword", true);
  auto next = r.String("newPassword", true);
  if (next && next->size() < 10) r.Invalid("newPassword", "must be at least 10 characters");
  if (auto e = r.Finish()) return e->ToResponse();
  TEMPO_DB_ASSIGN(bool changed, s.auth.ChangePassword(c.who, *current, *next, c.session_token));
  if (!changed) return FieldInvalid("currentPassword", "is not your password").ToResponse();
  return NoContent();
}

// ---------------------------------------------------------------- users

net::Response ListUsers(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(db::Rows rows, s.db->Query("SELECT id, email, role, created_at FROM users "
                                             "WHERE org_id = $1 ORDER BY email",
                                             {c.who.org_id.str()}));
  json items = json::array();
  for (const auto& row : rows) {
    items.push_back({{"id", Str(row, 0)},
                     {"email", Str(row, 1)},
                     {"role", Str(row, 2)},
                     {"createdAt", FormatTimeMs(Int(row, 3))}});
  }
  return JsonResponse(200, {{"items", items}});
}

net::Response CreateUser(ControlState& s, Ctx& c) {
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  BodyReader r(body);
  auto email = r.String("email", true, 254);
  auto password = r.String("password", true);
  auto role_text = r.String("role", true, 20);
  if (email && !ValidEmail(*email)) r.Invalid("email", "must be an email address");
  if (password && password->size() < 10) r.Invalid("password", "must be at least 10 characters");
  std::optional<Role> role = role_text ? ParseRole(*role_text) : std::nullopt;
  if (role_text && !role) r.Invalid("role", "must be admin, editor or viewer");
  if (auto e = r.Finish()) return e->ToResponse();
  auto id = s.auth.CreateUser(c.who.org_id, *email, *password, *role);
  if (!id && id.error().code == ErrorCode::kAlreadyExists) {
    return Conflict("a user with this email already exists").ToResponse();
  }
  TEMPO_DB_ASSIGN(std::string user_id, std::move(id));
  return JsonResponse(201, {{"id", user_id}, {"email", Lower(*email)}, {"role", *role_text}});
}

net::Response DeleteUser(ControlState& s, Ctx& c) {
  const std::string id(c.req.PathParam("id"));
  if (id == c.who.user_id) return Conflict("you cannot delete yourself").ToResponse();
  TEMPO_DB_ASSIGN(int64_t n, s.db->Execute("DELETE FROM users WHERE org_id = $1 AND id = $2",
                                           {c.who.org_id.str(), id}));
  if (n == 0) return NotFoundError("user").ToResponse();
  return NoContent();
}

// ---------------------------------------------------------------- API keys

net::Response ListKeys(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(db::Rows rows,
                  s.db->Query("SELECT id, name, role, created_at, last_used_at FROM api_keys "
                              "WHERE org_id = $1 ORDER BY created_at DESC, id",
                              {c.who.org_id.str()}));
  json items = json::array();
  for (const auto& row : rows) {
    auto last = OptInt(row, 4);
    items.push_back({{"id", Str(row, 0)},
                     {"name", Str(row, 1)},
                     {"role", Str(row, 2)},
                     {"createdAt", FormatTimeMs(Int(row, 3))},
                     {"lastUsedAt", last ? json(FormatTimeMs(*last)) : json(nullptr)}});
  }
  return JsonResponse(200, {{"items", items}});
}

net::Response CreateKey(ControlState& s, Ctx& c) {
  TEMPO_API_ASSIGN(json body, ParseObject(c));
  BodyReader r(body);
  auto name = r.String("name", true, 100);
  auto role_text = r.String("role", false, 20);
  Role role = c.who.role;
  if (role_text) {
    auto parsed = ParseRole(*role_text);
    if (!parsed) {
      r.Invalid("role", "must be admin, editor or viewer");
    } else if (*parsed > c.who.role) {
      r.Invalid("role", "cannot exceed your own role");
    } else {
      role = *parsed;
    }
  }
  if (auto e = r.Finish()) return e->ToResponse();
  TEMPO_DB_ASSIGN(NewApiKey key, s.auth.CreateApiKey(c.who.org_id, *name, role));
  return JsonResponse(201, {{"id", key.id},
                            {"name", *name},
                            {"role", ToString(role)},
                            {"createdAt", FormatTimeMs(s.NowMs())},
                            {"key", key.key}});
}

net::Response DeleteKey(ControlState& s, Ctx& c) {
  TEMPO_DB_ASSIGN(int64_t n,
                  s.db->Execute("DELETE FROM api_keys WHERE org_id = $1 AND id = $2",
                                {c.who.org_id.str(), std::string(c.req.PathParam("id"))}));
  if (n == 0) return NotFoundError("API key").ToResponse();
  return NoContent();
}

}  // namespace

void AddAuthRoutes(ApiRoutes& routes) {
  using M = net::Method;
  routes.Add(M::kPost, "/api/v1/auth/login", Access::kPublic, &Login);
  routes.Add(M::kPost, "/api/v1/auth/logout", Access::kRead, &Logout);
  routes.Add(M::kGet, "/api/v1/auth/me", Access::kRead, &Me);
  routes.Add(M::kPost, "/api/v1/auth/password", Access::kRead, &ChangePassword);

  routes.Add(M::kGet, "/api/v1/users", Access::kAdmin, &ListUsers);
  routes.Add(M::kPost, "/api/v1/users", Access::kAdmin, &CreateUser);
  routes.Add(M::kDelete, "/api/v1/users/{id}", Access::kAdmin, &DeleteUser);

  routes.Add(M::kGet, "/api/v1/keys", Access::kRead, &ListKeys);
  routes.Add(M::kPost, "/api/v1/keys", Access::kWrite, &CreateKey);
  routes.Add(M::kDelete, "/api/v1/keys/{id}", Access::kWrite, &DeleteKey);
}

}  // namespace tempo::control
