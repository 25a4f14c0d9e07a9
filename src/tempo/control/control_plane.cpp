#include "tempo/control/control_plane.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"
#include "tempo/control/agent_store.hpp"
#include "tempo/control/api_error.hpp"
#include "tempo/control/dashboard.hpp"
#include "tempo/control/openapi.hpp"
#include "tempo/control/request_parsing.hpp"
#include "tempo/db/migrations.hpp"
#include "tempo/runtime/runtime.hpp"

#include <boost/system/result.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <set>
#include <variant>

namespace tempo::control {
namespace {

using nlohmann::json;
template <class T>
using ApiResult = boost::system::result<T, ApiError>;

constexpr size_t kMaxAgentBodyBytes = 4 * 1024 * 1024;  // knowledge bases can be large
constexpr size_t kMaxBodyBytes = 64 * 1024;
constexpr int kMaxJsonDepth = 32;
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 200;
constexpr int64_t kDayMs = 86'400'000;
constexpr std::string_view kSessionCookie = "tempo_session";

// Fields the API returns with an agent that are not part of its configuration; accepted and
// ignored on input so that a client can send back what it read.
const std::set<std::string>& ReadOnlyAgentFields() {
  static const std::set<std::string> kFields = {
      "twilioAuthTokenSet", "twilioApiSecretSet", "version", "status",
      "createdAt",          "updatedAt",          "voiceUrl"};
  return kFields;
}

ApiError FromDb(const Error& e) { return FromError(e); }

// Cell readers for columns whose type the schema guarantees (a mismatch reads as empty).
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

#define API_CONCAT_INNER_(a, b) a##b
#define API_CONCAT_(a, b) API_CONCAT_INNER_(a, b)
// Declares `decl` from an ApiResult, or returns the error as a response.
#define API_ASSIGN(decl, expr) API_ASSIGN_IMPL_(API_CONCAT_(api_r_, __COUNTER__), decl, expr)
#define API_ASSIGN_IMPL_(tmp, decl, expr)               \
  auto tmp = (expr);                                    \
  if (!tmp) return std::move(tmp).error().ToResponse(); \
  decl = std::move(*tmp)
// Declares `decl` from a Result (database, storage), mapping its error.
#define DB_ASSIGN(decl, expr) DB_ASSIGN_IMPL_(API_CONCAT_(db_r_, __COUNTER__), decl, expr)
#define DB_ASSIGN_IMPL_(tmp, decl, expr)             \
  auto tmp = (expr);                                 \
  if (!tmp) return FromDb(tmp.error()).ToResponse(); \
  decl = std::move(*tmp)
#define DB_TRY(expr) DB_TRY_IMPL_(API_CONCAT_(db_t_, __COUNTER__), expr)
#define DB_TRY_IMPL_(tmp, expr)                                           \
  do {                                                                    \
    if (auto tmp = (expr); !tmp) return FromDb(tmp.error()).ToResponse(); \
  } while (0)

int64_t ToMs(Clock::Wall::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
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

bool IsSafeMethod(net::Method m) {
  return m == net::Method::kGet || m == net::Method::kHead || m == net::Method::kOptions;
}

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

/// Reads the declared fields of a small JSON object body strictly.
class BodyReader {
 public:
  explicit BodyReader(const json& j) : j_(j) {}

  std::optional<std::string> String(const char* key, bool required, size_t max = 1000) {
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
  /// True when `key` is present with an explicit null.
  bool IsNull(const char* key) const {
    auto it = j_.find(key);
    return it != j_.end() && it->is_null();
  }
  void Invalid(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }
  /// Unknown fields are errors too; call after reading every field.
  std::optional<ApiError> Finish() {
    for (const auto& [key, value] : j_.items()) {
      if (!seen_.count(key)) errors_.push_back({key, "is not a known field"});
    }
    if (errors_.empty()) return std::nullopt;
    return ValidationFailed(errors_);
  }

 private:
  const json& j_;
  std::set<std::string> seen_;
  std::vector<agent::FieldError> errors_;
};

struct Ctx {
  const net::Request& req;
  std::map<std::string, std::string> query;
  Principal who;
  std::string session_token;
};

enum class Access { kPublic, kRead, kWrite, kAdmin };

struct AgentRow {
  agent::AgentConfig config;
  int64_t version = 0;
  std::string status;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

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

}  // namespace

void ApplyEnvironment(ControlOptions& options,
                      const std::function<std::optional<std::string>(std::string_view)>& getenv) {
  if (auto v = getenv("TEMPO_ADMIN_EMAIL"); v && !v->empty()) options.admin_email = *v;
  if (auto v = getenv("TEMPO_ADMIN_PASSWORD"); v && !v->empty()) options.admin_password = *v;
  if (auto v = getenv("TEMPO_SECRET_KEY"); v && !v->empty()) options.secret_key_base64 = *v;
}

struct ControlPlane::Impl {
  Impl(ControlOptions o, std::unique_ptr<db::Database> d, storage::ObjectStore& s, RunBlocking rb,
       const Clock& c, const SecretBox::Key& key)
      : options(std::move(o)),
        db(std::move(d)),
        store(s),
        run_blocking(std::move(rb)),
        clock(c),
        box(key),
        auth(*db, c, options.password_cost, options.session_ttl),
        limiter(c, options.login_failures_per_minute, std::chrono::seconds(60)),
        directory(*db, box),
        deployer(std::make_unique<LocalDeployer>(store, directory, options.prepare_speech)),
        public_url(options.public_url) {}

  ControlOptions options;
  std::unique_ptr<db::Database> db;
  storage::ObjectStore& store;
  RunBlocking run_blocking;
  const Clock& clock;
  SecretBox box;
  AuthService auth;
  LoginRateLimiter limiter;
  DbAgentDirectory directory;
  std::unique_ptr<Deployer> deployer;
  mutable std::mutex url_mutex;
  std::string public_url;
  runtime::Runtime* runtime = nullptr;

  // "Talk to this agent": a logged-in POST (session + CSRF, tenant-checked on the blocking
  // pool) issues a single-use ticket; the WebSocket upgrade, which must decide on the I/O
  // thread, then only looks the ticket up in memory.
  struct TalkTicket {
    std::string agent_id;
    std::string call_sid;
    std::string session_token;  ///< the upgrade must carry the same session cookie
    std::chrono::steady_clock::time_point expires;
  };
  static constexpr std::chrono::seconds kTalkTicketTtl{60};
  static constexpr size_t kMaxTalkTickets = 1000;
  std::mutex talk_mutex;
  std::map<std::string, TalkTicket> talk_tickets;

  using Handler = net::Response (Impl::*)(Ctx&);

  int64_t NowMs() const { return ToMs(clock.WallNow()); }
  std::string PublicUrl() const {
    std::lock_guard lock(url_mutex);
    return public_url;
  }
  std::string VoiceUrl(std::string_view agent_id) const {
    return fmt::format("{}/agent/{}/incoming-call", PublicUrl(), agent_id);
  }

  // ---------------------------------------------------------------- plumbing

  void Route(net::Router& router, net::Method method, std::string_view pattern, Access access,
             Handler handler) {
    router.AddAsync(
        method, pattern, [this, access, handler](net::Request request, net::Responder responder) {
          auto req = std::make_shared<net::Request>(std::move(request));
          auto out = std::make_shared<net::Responder>(std::move(responder));
          run_blocking(
              [this, access, handler, req, out] { out->Send(Dispatch(*req, access, handler)); });
        });
  }

  net::Response Dispatch(const net::Request& req, Access access, Handler handler) {
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
        if (auto denied = Authenticate(ctx)) return denied->ToResponse();
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
      return (this->*handler)(ctx);
    } catch (const std::exception& e) {
      TEMPO_LOG(control, error, "{} {} failed: {}", net::ToString(req.method), req.path, e.what());
      return InternalError().ToResponse();
    }
  }

  std::optional<ApiError> Authenticate(Ctx& ctx) {
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

  /// The body as a JSON object (400 when it is not one).
  static ApiResult<json> ParseObject(const Ctx& c) {
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

  // ---------------------------------------------------------------- auth

  net::Response Login(Ctx& c) {
    API_ASSIGN(json body, ParseObject(c));
    BodyReader r(body);
    auto email = r.String("email", true, 254);
    auto password = r.String("password", true, 1000);
    if (auto e = r.Finish()) return e->ToResponse();
    const std::string ip_key = "ip:" + c.req.remote_address;
    const std::string email_key = "email:" + Lower(*email);
    const int64_t wait =
        std::max(limiter.RetryAfterSeconds(ip_key), limiter.RetryAfterSeconds(email_key));
    if (wait > 0) {
      auto response = ApiError{
          429,
          "rate_limited",
          fmt::format("too many failed logins; retry in {} s", wait),
          {}}.ToResponse();
      response.headers.Set("Retry-After", std::to_string(wait));
      return response;
    }
    DB_ASSIGN(auto session, auth.Login(*email, *password));
    if (!session) {
      limiter.RecordFailure(ip_key);
      limiter.RecordFailure(email_key);
      TEMPO_LOG_LIMITED(control, info, "failed login from {}", c.req.remote_address);
      return Unauthorized("wrong email or password").ToResponse();
    }
    limiter.Reset(email_key);
    auto response = JsonResponse(200, MeJson(session->principal, session->expires_at_ms));
    const bool secure = PublicUrl().rfind("https://", 0) == 0;
    response.headers.Add(
        "Set-Cookie",
        fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}", kSessionCookie,
                    session->token, options.session_ttl.count(), secure ? "; Secure" : ""));
    return response;
  }

  json MeJson(const Principal& who, std::optional<int64_t> expires_at = std::nullopt) {
    json j = {{"organisation", {{"id", who.org_id.str()}}}, {"role", ToString(who.role)}};
    auto org = db->Query("SELECT name FROM organisations WHERE id = $1", {who.org_id.str()});
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

  net::Response Logout(Ctx& c) {
    if (!c.session_token.empty()) DB_TRY(auth.Logout(c.session_token));
    auto response = NoContent();
    response.headers.Add("Set-Cookie", fmt::format("{}=; Path=/; HttpOnly; SameSite=Strict; "
                                                   "Max-Age=0",
                                                   kSessionCookie));
    return response;
  }

  net::Response Me(Ctx& c) { return JsonResponse(200, MeJson(c.who)); }

  net::Response ChangePassword(Ctx& c) {
    if (c.who.kind != Principal::Kind::kSession) {
      return Forbidden("API keys have no password").ToResponse();
    }
    API_ASSIGN(json body, ParseObject(c));
    BodyReader r(body);
    auto current = r.String("currentPassword", true);
    auto next = r.String("newPassword", true);
    if (next && next->size() < 10) r.Invalid("newPassword", "must be at least 10 characters");
    if (auto e = r.Finish()) return e->ToResponse();
    DB_ASSIGN(bool changed, auth.ChangePassword(c.who, *current, *next, c.session_token));
    if (!changed) return FieldInvalid("currentPassword", "is not your password").ToResponse();
    return NoContent();
  }

  // ---------------------------------------------------------------- users

  net::Response ListUsers(Ctx& c) {
    DB_ASSIGN(db::Rows rows, db->Query("SELECT id, email, role, created_at FROM users "
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

  net::Response CreateUser(Ctx& c) {
    API_ASSIGN(json body, ParseObject(c));
    BodyReader r(body);
    auto email = r.String("email", true, 254);
    auto password = r.String("password", true);
    auto role_text = r.String("role", true, 20);
    if (email && !ValidEmail(*email)) r.Invalid("email", "must be an email address");
    if (password && password->size() < 10) r.Invalid("password", "must be at least 10 characters");
    std::optional<Role> role = role_text ? ParseRole(*role_text) : std::nullopt;
    if (role_text && !role) r.Invalid("role", "must be admin, editor or viewer");
    if (auto e = r.Finish()) return e->ToResponse();
    auto id = auth.CreateUser(c.who.org_id, *email, *password, *role);
    if (!id && id.error().code == ErrorCode::kAlreadyExists) {
      return Conflict("a user with this email already exists").ToResponse();
    }
    DB_ASSIGN(std::string user_id, std::move(id));
    return JsonResponse(201, {{"id", user_id}, {"email", Lower(*email)}, {"role", *role_text}});
  }

  net::Response DeleteUser(Ctx& c) {
    const std::string id(c.req.PathParam("id"));
    if (id == c.who.user_id) return Conflict("you cannot delete yourself").ToResponse();
    DB_ASSIGN(int64_t n, db->Execute("DELETE FROM users WHERE org_id = $1 AND id = $2",
                                     {c.who.org_id.str(), id}));
    if (n == 0) return NotFoundError("user").ToResponse();
    return NoContent();
  }

  // ---------------------------------------------------------------- API keys

  net::Response ListKeys(Ctx& c) {
    DB_ASSIGN(db::Rows rows,
              db->Query("SELECT id, name, role, created_at, last_used_at FROM api_keys "
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

  net::Response CreateKey(Ctx& c) {
    API_ASSIGN(json body, ParseObject(c));
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
    DB_ASSIGN(NewApiKey key, auth.CreateApiKey(c.who.org_id, *name, role));
    return JsonResponse(201, {{"id", key.id},
                              {"name", *name},
                              {"role", ToString(role)},
                              {"createdAt", FormatTimeMs(NowMs())},
                              {"key", key.key}});
  }

  net::Response DeleteKey(Ctx& c) {
    DB_ASSIGN(int64_t n, db->Execute("DELETE FROM api_keys WHERE org_id = $1 AND id = $2",
                                     {c.who.org_id.str(), std::string(c.req.PathParam("id"))}));
    if (n == 0) return NotFoundError("API key").ToResponse();
    return NoContent();
  }

  // ---------------------------------------------------------------- agents

  Result<std::optional<AgentRow>> LoadAgent(const OrgId& org, std::string_view id) {
    TEMPO_ASSIGN_OR_RETURN(
        db::Rows rows,
        db->Query("SELECT config_json, secrets_ciphertext, version, deployed_state, created_at, "
                  "updated_at FROM agents WHERE org_id = $1 AND id = $2",
                  {org.str(), id}));
    if (rows.empty()) return std::optional<AgentRow>();
    const db::Row& row = rows[0];
    AgentRow a;
    TEMPO_ASSIGN_OR_RETURN(std::string config_json, row.GetString(0));
    TEMPO_ASSIGN_OR_RETURN(std::optional<std::string> secrets, row.GetOptionalString(1));
    TEMPO_ASSIGN_OR_RETURN(a.config, DecodeAgent(config_json, secrets, box));
    TEMPO_ASSIGN_OR_RETURN(a.version, row.GetInt(2));
    TEMPO_ASSIGN_OR_RETURN(std::optional<std::string> state, row.GetOptionalString(3));
    a.status = state.value_or("undeployed");
    TEMPO_ASSIGN_OR_RETURN(a.created_at, row.GetInt(4));
    TEMPO_ASSIGN_OR_RETURN(a.updated_at, row.GetInt(5));
    return std::optional<AgentRow>(std::move(a));
  }

  json AgentJson(const AgentRow& a) {
    json j = agent::ToJson(a.config, agent::Secrets::kOmit);
    j["version"] = a.version;
    j["status"] = a.status;
    j["createdAt"] = FormatTimeMs(a.created_at);
    j["updatedAt"] = FormatTimeMs(a.updated_at);
    j["voiceUrl"] = VoiceUrl(a.config.agent_id.str());
    return j;
  }

  net::Response AgentResponse(int status, const AgentRow& a) {
    auto r = JsonResponse(status, AgentJson(a));
    r.headers.Set("ETag", ETag(a.version));
    return r;
  }

  static void StripReadOnly(json& body) {
    for (const auto& key : ReadOnlyAgentFields()) body.erase(key);
  }

  static ApiResult<agent::AgentConfig> ParseAgent(const json& j) {
    std::vector<agent::FieldError> errors;
    auto config = agent::FromJson(j, agent::Unknown::kReject, &errors);
    if (!config) {
      if (errors.empty()) errors.push_back({"", config.error().message});
      return ValidationFailed(std::move(errors));
    }
    return std::move(*config);
  }

  net::Response ListAgents(Ctx& c) {
    if (auto e = OnlyQueryParams(c, {"limit", "cursor"})) return e->ToResponse();
    API_ASSIGN(int limit, PageLimit(c));
    std::vector<db::Value> params = {c.who.org_id.str()};
    std::string sql =
        "SELECT id, name, config_json, version, deployed_state, created_at, updated_at "
        "FROM agents WHERE org_id = $1";
    if (auto it = c.query.find("cursor"); it != c.query.end()) {
      auto cursor = DecodeCursor(it->second);
      if (!cursor) return BadRequest("invalid cursor").ToResponse();
      sql += " AND (created_at < $2 OR (created_at = $2 AND id < $3))";
      params.push_back(cursor->first);
      params.push_back(cursor->second);
    }
    sql += fmt::format(" ORDER BY created_at DESC, id DESC LIMIT ${}", params.size() + 1);
    params.push_back(limit + 1);
    DB_ASSIGN(db::Rows rows, db->Query(sql, params));
    json items = json::array();
    std::optional<std::string> next;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      const std::string id = Str(row, 0);
      const int64_t created = Int(row, 5);
      if (static_cast<int>(i) == limit) {
        const auto& prev = rows[i - 1];
        next = EncodeCursor(Int(prev, 5), Str(prev, 0));
        break;
      }
      auto config = json::parse(Str(row, 2), nullptr, false);
      auto field = [&](const char* key) {
        return config.is_object() && config.contains(key) ? config[key] : json(nullptr);
      };
      items.push_back({{"agentId", id},
                       {"agentName", Str(row, 1)},
                       {"description", field("description")},
                       {"engine", field("engine")},
                       {"enabled", field("enabled")},
                       {"callPhoneNumber", field("callPhoneNumber")},
                       {"version", Int(row, 3)},
                       {"status", OptStr(row, 4).value_or("undeployed")},
                       {"createdAt", FormatTimeMs(created)},
                       {"updatedAt", FormatTimeMs(Int(row, 6))}});
    }
    return JsonResponse(200, {{"items", items}, {"nextCursor", next ? json(*next) : json()}});
  }

  net::Response CreateAgent(Ctx& c) {
    API_ASSIGN(json body, ParseObject(c));
    StripReadOnly(body);
    API_ASSIGN(agent::AgentConfig config, ParseAgent(body));
    const int64_t now = NowMs();
    auto inserted = InsertAgent(c.who.org_id, config, now);
    if (!inserted && inserted.error().code == ErrorCode::kAlreadyExists) {
      return ApiError{409,
                      "conflict",
                      "an agent with this agentId already exists; agent ids are unique "
                      "across the platform",
                      {{"agentId", "is already taken"}}}
          .ToResponse();
    }
    DB_TRY(inserted);
    AgentRow row{std::move(config), 1, "undeployed", now, now};
    auto response = AgentResponse(201, row);
    response.headers.Set("Location", "/api/v1/agents/" + row.config.agent_id.str());
    return response;
  }

  /// A new agent, version 1, not deployed. Errors: kAlreadyExists for a taken agentId.
  Result<void> InsertAgent(const OrgId& org, const agent::AgentConfig& config, int64_t now) {
    const auto columns = EncodeAgent(config, box);
    TEMPO_TRY(db->Execute(
        "INSERT INTO agents (org_id, id, name, config_json, secrets_ciphertext, version, "
        "deployed_state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
        {org.str(), config.agent_id.str(), config.agent_name, columns.config_json,
         columns.secrets_ciphertext, "undeployed", now}));
    return Ok();
  }

  net::Response GetAgent(Ctx& c) {
    DB_ASSIGN(auto row, LoadAgent(c.who.org_id, c.req.PathParam("id")));
    if (!row) return NotFoundError("agent").ToResponse();
    return AgentResponse(200, *row);
  }

  enum class UpdateMode { kReplace, kMergePatch };
  net::Response PutAgent(Ctx& c) { return UpdateAgent(c, UpdateMode::kReplace); }
  net::Response PatchAgent(Ctx& c) { return UpdateAgent(c, UpdateMode::kMergePatch); }

  net::Response UpdateAgent(Ctx& c, UpdateMode mode) {
    const std::string id(c.req.PathParam("id"));
    DB_ASSIGN(auto current, LoadAgent(c.who.org_id, id));
    if (!current) return NotFoundError("agent").ToResponse();
    API_ASSIGN(int64_t expected, RequireIfMatch(c));
    if (expected != current->version) {
      return PreconditionFailed(fmt::format("the agent has changed (version {} is current); "
                                            "reload it and apply your change again",
                                            current->version))
          .ToResponse();
    }
    API_ASSIGN(json body, ParseObject(c));
    StripReadOnly(body);
    if (auto it = body.find("agentId"); it != body.end() && *it != json(id)) {
      return FieldInvalid("agentId", "cannot be changed; create a new agent instead").ToResponse();
    }
    json full;
    if (mode == UpdateMode::kMergePatch) {
      full = agent::ToJson(current->config, agent::Secrets::kInclude);
      full.merge_patch(body);
    } else {
      full = std::move(body);
      full["agentId"] = id;
      // Secrets are write-only: a client that never saw them keeps them by leaving them out.
      if (!full.contains("twilioAuthToken")) {
        full["twilioAuthToken"] = current->config.twilio_auth_token.Reveal();
      }
      if (!full.contains("twilioApiSecret")) {
        full["twilioApiSecret"] = current->config.twilio_api_secret.Reveal();
      }
    }
    API_ASSIGN(agent::AgentConfig config, ParseAgent(full));
    const auto columns = EncodeAgent(config, box);
    const int64_t now = NowMs();
    DB_ASSIGN(int64_t changed,
              db->Execute("UPDATE agents SET name = $1, config_json = $2, secrets_ciphertext = $3, "
                          "version = version + 1, updated_at = $4 "
                          "WHERE org_id = $5 AND id = $6 AND version = $7",
                          {config.agent_name, columns.config_json, columns.secrets_ciphertext, now,
                           c.who.org_id.str(), id, expected}));
    if (changed == 0) return PreconditionFailed("the agent changed meanwhile").ToResponse();
    if (auto ok = directory.Refresh(AgentId(id)); !ok) {
      TEMPO_LOG(control, error, "agent {} saved but not refreshed: {}", id, ok.error().message);
    }
    AgentRow row{std::move(config), expected + 1, current->status, current->created_at, now};
    return AgentResponse(200, row);
  }

  net::Response DeleteAgent(Ctx& c) {
    const std::string id(c.req.PathParam("id"));
    DB_ASSIGN(auto current, LoadAgent(c.who.org_id, id));
    if (!current) return NotFoundError("agent").ToResponse();
    API_ASSIGN(int64_t expected, RequireIfMatch(c));
    if (expected != current->version) {
      return PreconditionFailed("the agent has changed; reload it before deleting").ToResponse();
    }
    auto deleted = db->Execute("DELETE FROM agents WHERE org_id = $1 AND id = $2 AND version = $3",
                               {c.who.org_id.str(), id, expected});
    if (!deleted && deleted.error().code == ErrorCode::kFailedPrecondition) {
      return Conflict("phone numbers are assigned to this agent; remove them first").ToResponse();
    }
    DB_ASSIGN(int64_t n, std::move(deleted));
    if (n == 0) return PreconditionFailed("the agent changed meanwhile").ToResponse();
    if (auto ok = directory.Refresh(AgentId(id)); !ok) {
      TEMPO_LOG(control, error, "agent {} deleted but still cached: {}", id, ok.error().message);
    }
    return NoContent();
  }

  // ---------------------------------------------------------------- deployments

  struct Deployment {
    std::string id;
    std::string agent_id;
    std::string action;
    std::string state;  // in_progress | succeeded | failed
    std::string error;
    int64_t agent_version = 0;
    std::vector<std::string> step_names;
    std::vector<StepState> step_states;
    std::vector<std::string> step_messages;
    int64_t created_at = 0;
    int64_t updated_at = 0;
  };

  static json StepsJson(const Deployment& d) {
    json steps = json::array();
    for (size_t i = 0; i < d.step_names.size(); ++i) {
      steps.push_back({{"name", d.step_names[i]},
                       {"state", ToString(d.step_states[i])},
                       {"message", d.step_messages[i]}});
    }
    return {{"action", d.action},
            {"agentVersion", d.agent_version},
            {"error", d.error},
            {"steps", steps}};
  }

  static json DeploymentJson(const Deployment& d) {
    size_t done = 0;
    for (auto s : d.step_states) done += s == StepState::kDone ? 1 : 0;
    const int progress =
        d.step_names.empty() ? 100 : static_cast<int>(done * 100 / d.step_names.size());
    json j = StepsJson(d);
    j["id"] = d.id;
    j["agentId"] = d.agent_id;
    j["state"] = d.state;
    j["progress"] = progress;
    j["createdAt"] = FormatTimeMs(d.created_at);
    j["updatedAt"] = FormatTimeMs(d.updated_at);
    if (d.error.empty()) j["error"] = nullptr;
    return j;
  }

  static Result<Deployment> ReadDeployment(const db::Row& row) {
    Deployment d;
    TEMPO_ASSIGN_OR_RETURN(d.id, row.GetString("id"));
    TEMPO_ASSIGN_OR_RETURN(d.agent_id, row.GetString("agent_id"));
    TEMPO_ASSIGN_OR_RETURN(d.state, row.GetString("state"));
    TEMPO_ASSIGN_OR_RETURN(std::string steps_text, row.GetString("steps_json"));
    TEMPO_ASSIGN_OR_RETURN(d.created_at, row.GetInt("created_at"));
    TEMPO_ASSIGN_OR_RETURN(d.updated_at, row.GetInt("updated_at"));
    auto j = json::parse(steps_text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Internal("corrupt deployment steps");
    d.action = j.value("action", "deploy");
    d.agent_version = j.value("agentVersion", int64_t{0});
    d.error = j.value("error", "");
    for (const auto& s : j.value("steps", json::array())) {
      d.step_names.push_back(s.value("name", ""));
      const std::string state = s.value("state", "pending");
      d.step_states.push_back(state == "done"      ? StepState::kDone
                              : state == "running" ? StepState::kRunning
                              : state == "failed"  ? StepState::kFailed
                                                   : StepState::kPending);
      d.step_messages.push_back(s.value("message", ""));
    }
    return d;
  }

  Result<std::optional<Deployment>> LatestDeployment(const OrgId& org, std::string_view agent_id,
                                                     db::Database& on) {
    TEMPO_ASSIGN_OR_RETURN(
        db::Rows rows,
        on.Query("SELECT id, agent_id, state, steps_json, created_at, updated_at FROM deployments "
                 "WHERE org_id = $1 AND agent_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1",
                 {org.str(), agent_id}));
    if (rows.empty()) return std::optional<Deployment>();
    TEMPO_ASSIGN_OR_RETURN(Deployment d, ReadDeployment(rows[0]));
    return std::optional<Deployment>(std::move(d));
  }

  Result<void> SaveDeployment(const Deployment& d) {
    TEMPO_TRY(db->Execute(
        "UPDATE deployments SET state = $1, steps_json = $2, updated_at = $3 WHERE id = $4",
        {d.state, DumpJson(StepsJson(d)), d.updated_at, d.id}));
    return Ok();
  }

  net::Response Deploy(Ctx& c) { return StartDeployment(c, "deploy"); }
  net::Response Undeploy(Ctx& c) { return StartDeployment(c, "undeploy"); }

  net::Response StartDeployment(Ctx& c, const std::string& action) {
    const std::string id(c.req.PathParam("id"));
    DB_ASSIGN(auto agent_row, LoadAgent(c.who.org_id, id));
    if (!agent_row) return NotFoundError("agent").ToResponse();
    if (!c.req.body.empty()) {
      API_ASSIGN(json body, ParseObject(c));
      if (!body.empty()) return BodyReader(body).Finish()->ToResponse();
    }
    Deployment d;
    d.id = "dep_" + RandomHex(12);
    d.agent_id = id;
    d.action = action;
    d.state = "in_progress";
    d.agent_version = agent_row->version;
    d.step_names = action == "deploy" ? deployer->DeploySteps() : deployer->UndeploySteps();
    d.step_states.assign(d.step_names.size(), StepState::kPending);
    d.step_messages.assign(d.step_names.size(), "");
    d.created_at = d.updated_at = NowMs();
    bool busy = false;
    DB_TRY(db->Transaction([&](db::Database& tx) -> Result<void> {
      TEMPO_ASSIGN_OR_RETURN(auto latest, LatestDeployment(c.who.org_id, id, tx));
      if (latest && latest->state == "in_progress") {
        busy = true;
        return Ok();
      }
      // Keep created_at strictly increasing per agent so "latest" is well defined.
      if (latest && latest->created_at >= d.created_at) d.created_at = latest->created_at + 1;
      d.updated_at = d.created_at;
      TEMPO_TRY(tx.Execute(
          "INSERT INTO deployments (id, org_id, agent_id, state, steps_json, created_at, "
          "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
          {d.id, c.who.org_id.str(), id, d.state, DumpJson(StepsJson(d)), d.created_at}));
      return Ok();
    }));
    if (busy) return Conflict("a deployment of this agent is in progress").ToResponse();

    auto response = JsonResponse(202, DeploymentJson(d));
    response.headers.Set("Location", fmt::format("/api/v1/agents/{}/deployment", id));
    run_blocking([this, d, org = c.who.org_id, config = agent_row->config]() mutable {
      RunDeployment(std::move(d), org, config);
    });
    return response;
  }

  void RunDeployment(Deployment d, const OrgId& org, const agent::AgentConfig& config) {
    auto progress = [&](size_t step, StepState state, const std::string& message) {
      if (step >= d.step_states.size()) return;
      d.step_states[step] = state;
      d.step_messages[step] = message;
      d.updated_at = std::max(NowMs(), d.created_at);
      if (auto ok = SaveDeployment(d); !ok) {
        TEMPO_LOG(control, warn, "deployment {}: progress not saved: {}", d.id, ok.error().message);
      }
    };
    auto result = d.action == "deploy" ? deployer->Deploy(org, config, progress)
                                       : deployer->Undeploy(org, config.agent_id, progress);
    d.state = result ? "succeeded" : "failed";
    if (!result) d.error = result.error().message;
    d.updated_at = std::max(NowMs(), d.created_at);
    if (auto ok = SaveDeployment(d); !ok) {
      TEMPO_LOG(control, error, "deployment {}: final state not saved: {}", d.id,
                ok.error().message);
    }
    TEMPO_LOG(control, info, "{} of agent {} {} ({})", d.action, d.agent_id, d.state,
              deployer->Name());
  }

  net::Response GetDeployment(Ctx& c) {
    const std::string id(c.req.PathParam("id"));
    DB_ASSIGN(auto agent_row, LoadAgent(c.who.org_id, id));
    if (!agent_row) return NotFoundError("agent").ToResponse();
    DB_ASSIGN(auto d, LatestDeployment(c.who.org_id, id, *db));
    if (!d) return NotFoundError("deployment").ToResponse();
    return JsonResponse(200, DeploymentJson(*d));
  }

  // ---------------------------------------------------------------- numbers

  json NumberJson(const std::string& e164, const std::optional<std::string>& agent_id,
                  int64_t created_at) {
    return {{"e164", e164},
            {"agentId", agent_id ? json(*agent_id) : json(nullptr)},
            {"voiceUrl", agent_id ? json(VoiceUrl(*agent_id)) : json(nullptr)},
            {"voiceMethod", "POST"},
            {"createdAt", FormatTimeMs(created_at)}};
  }

  // ---------------------------------------------------------------- talk (browser calls)

  net::Response CreateTalk(Ctx& c) {
    const std::string id(c.req.PathParam("id"));
    DB_ASSIGN(bool owned, OwnsAgent(c.who.org_id, id));
    if (!owned) return NotFoundError("agent").ToResponse();
    if (runtime == nullptr) {
      return ApiError{503, "unavailable", "browser calls are not enabled on this server", {}}
          .ToResponse();
    }
    if (c.who.kind != Principal::Kind::kSession) {
      return Forbidden("talking to an agent needs a dashboard session").ToResponse();
    }
    auto deployed = directory.Find(AgentId(id));
    if (!deployed) return Conflict("deploy the agent before talking to it").ToResponse();
    // The session checks the stream's account against the agent's, as for a phone call.
    const std::string account_sid = deployed->twilio_account_sid.empty()
                                        ? "AC" + Sha256Hex(RandomToken(16)).substr(0, 32)
                                        : deployed->twilio_account_sid.str();
    const std::string ticket = RandomToken(32);
    const std::string call_sid = "CA" + Sha256Hex(RandomToken(16)).substr(0, 32);
    const std::string stream_sid = "MZ" + Sha256Hex(RandomToken(16)).substr(0, 32);
    {
      std::lock_guard lock(talk_mutex);
      const auto now = std::chrono::steady_clock::now();
      std::erase_if(talk_tickets, [now](const auto& t) { return t.second.expires <= now; });
      if (talk_tickets.size() >= kMaxTalkTickets) {
        return ApiError{503, "unavailable", "too many pending browser calls; retry soon", {}}
            .ToResponse();
      }
      talk_tickets[ticket] = {id, call_sid, c.session_token, now + kTalkTicketTtl};
    }
    return JsonResponse(201,
                        {{"ticket", ticket},
                         {"callSid", call_sid},
                         {"streamSid", stream_sid},
                         {"accountSid", account_sid},
                         {"url", fmt::format("/api/v1/agents/{}/talk?ticket={}", id, ticket)}});
  }

  net::UpgradeDecision TalkStream(const net::Request& req, std::shared_ptr<net::WebSocket> socket) {
    auto query = ParseQuery(req.query);
    std::string ticket_text;
    if (query) {
      if (auto it = query->find("ticket"); it != query->end()) ticket_text = it->second;
    }
    std::optional<TalkTicket> ticket;
    {
      std::lock_guard lock(talk_mutex);
      if (auto it = talk_tickets.find(ticket_text); it != talk_tickets.end()) {
        ticket = std::move(it->second);
        talk_tickets.erase(it);  // single use
      }
    }
    if (!ticket || ticket->expires <= std::chrono::steady_clock::now()) {
      return Unauthorized("ask POST /api/v1/agents/{id}/talk for a fresh ticket").ToResponse();
    }
    std::optional<std::string> cookie_token;
    if (auto cookie = req.headers.Find("Cookie")) {
      cookie_token = FindCookie(*cookie, kSessionCookie);
    }
    if (!cookie_token || !ConstantTimeEquals(*cookie_token, ticket->session_token)) {
      return Unauthorized("the ticket belongs to another session").ToResponse();
    }
    // The ticket was issued after the tenant check of this agent; another agent id is a 404.
    if (req.PathParam("id") != ticket->agent_id) return NotFoundError("agent").ToResponse();
    auto agent = directory.Find(AgentId(ticket->agent_id));
    if (!agent || runtime == nullptr) return NotFoundError("agent").ToResponse();
    runtime->ExpectCall(agent->agent_id, CallSid(ticket->call_sid), "browser", "dashboard");
    return runtime->AcceptAuthenticatedStream(std::move(agent), std::move(socket));
  }

  /// Checks that `agent_id` names an agent of the caller's organisation.
  Result<bool> OwnsAgent(const OrgId& org, const std::string& agent_id) {
    TEMPO_ASSIGN_OR_RETURN(
        db::Rows rows,
        db->Query("SELECT 1 FROM agents WHERE org_id = $1 AND id = $2", {org.str(), agent_id}));
    return !rows.empty();
  }

  net::Response CreateNumber(Ctx& c) {
    API_ASSIGN(json body, ParseObject(c));
    BodyReader r(body);
    auto e164 = r.String("e164", true, 20);
    auto agent_id = r.String("agentId", false, 100);
    if (e164 && !agent::IsE164(*e164)) {
      r.Invalid("e164", "must be an E.164 phone number such as +14155550100");
    }
    if (agent_id) {
      DB_ASSIGN(bool owned, OwnsAgent(c.who.org_id, *agent_id));
      if (!owned) r.Invalid("agentId", "no agent with this id");
    }
    if (auto e = r.Finish()) return e->ToResponse();
    const int64_t now = NowMs();
    auto inserted = db->Execute(
        "INSERT INTO numbers (org_id, e164, agent_id, created_at) VALUES ($1, $2, "
        "$3, $4)",
        {c.who.org_id.str(), *e164, agent_id, now});
    if (!inserted && inserted.error().code == ErrorCode::kAlreadyExists) {
      return ApiError{
          409, "conflict", "this number is already registered", {{"e164", "is already registered"}}}
          .ToResponse();
    }
    DB_TRY(inserted);
    auto response = JsonResponse(201, NumberJson(*e164, agent_id, now));
    return response;
  }

  net::Response ListNumbers(Ctx& c) {
    DB_ASSIGN(db::Rows rows, db->Query("SELECT e164, agent_id, created_at FROM numbers "
                                       "WHERE org_id = $1 ORDER BY e164",
                                       {c.who.org_id.str()}));
    json items = json::array();
    for (const auto& row : rows) {
      items.push_back(NumberJson(Str(row, 0), OptStr(row, 1), Int(row, 2)));
    }
    return JsonResponse(200, {{"items", items}});
  }

  ApiResult<std::string> NumberParam(const Ctx& c) {
    auto e164 = PercentDecode(c.req.PathParam("e164"));
    if (!e164) return BadRequest("malformed number in the path");
    return std::move(*e164);
  }

  net::Response PatchNumber(Ctx& c) {
    API_ASSIGN(std::string e164, NumberParam(c));
    DB_ASSIGN(db::Rows existing,
              db->Query("SELECT created_at FROM numbers WHERE org_id = $1 AND e164 = $2",
                        {c.who.org_id.str(), e164}));
    if (existing.empty()) return NotFoundError("number").ToResponse();
    API_ASSIGN(json body, ParseObject(c));
    BodyReader r(body);
    auto agent_id = r.String("agentId", false, 100);
    if (!agent_id && !r.IsNull("agentId") && !body.contains("agentId")) {
      r.Invalid("agentId", "is required (null unassigns the number)");
    }
    if (agent_id) {
      DB_ASSIGN(bool owned, OwnsAgent(c.who.org_id, *agent_id));
      if (!owned) r.Invalid("agentId", "no agent with this id");
    }
    if (auto e = r.Finish()) return e->ToResponse();
    DB_TRY(db->Execute("UPDATE numbers SET agent_id = $1 WHERE org_id = $2 AND e164 = $3",
                       {agent_id, c.who.org_id.str(), e164}));
    return JsonResponse(200, NumberJson(e164, agent_id, Int(existing[0], 0)));
  }

  net::Response DeleteNumber(Ctx& c) {
    API_ASSIGN(std::string e164, NumberParam(c));
    DB_ASSIGN(int64_t n, db->Execute("DELETE FROM numbers WHERE org_id = $1 AND e164 = $2",
                                     {c.who.org_id.str(), e164}));
    if (n == 0) return NotFoundError("number").ToResponse();
    return NoContent();
  }

  // ---------------------------------------------------------------- calls

  static constexpr std::string_view kCallColumns =
      "call_sid, agent_id, from_number, to_number, started_at, ended_at, duration_ms, outcome, "
      "turns, transcript_key, recording_key";

  static json CallJson(const db::Row& row) {
    const std::string sid = Str(row, 0);
    const auto ended = OptInt(row, 5);
    const auto duration = OptInt(row, 6);
    const auto outcome = OptStr(row, 7);
    const bool has_transcript = OptStr(row, 9).has_value();
    const bool has_recording = OptStr(row, 10).has_value();
    const int64_t started = Int(row, 4);
    return {{"callSid", sid},
            {"agentId", Str(row, 1)},
            {"from", OptStr(row, 2).value_or("")},
            {"to", OptStr(row, 3).value_or("")},
            {"startedAt", FormatTimeMs(started)},
            {"startedAtMs", started},
            {"endedAt", ended ? json(FormatTimeMs(*ended)) : json(nullptr)},
            {"durationMs", duration ? json(*duration) : json(nullptr)},
            {"outcome", outcome ? json(*outcome) : json(nullptr)},
            {"turns", Int(row, 8)},
            {"hasTranscript", has_transcript},
            {"hasRecording", has_recording},
            {"transcriptUrl",
             has_transcript ? json("/api/v1/calls/" + sid + "/transcript") : json(nullptr)},
            {"recordingUrl",
             has_recording ? json("/api/v1/calls/" + sid + "/recording.wav") : json(nullptr)}};
  }

  ApiResult<std::optional<int64_t>> TimeParam(const Ctx& c, const char* name) {
    auto it = c.query.find(name);
    if (it == c.query.end() || it->second.empty()) return std::optional<int64_t>();
    auto ms = ParseTimeMs(it->second);
    if (!ms) return FieldInvalid(name, ms.error().message);
    return std::optional<int64_t>(*ms);
  }

  net::Response ListCalls(Ctx& c) {
    if (auto e = OnlyQueryParams(c, {"agentId", "outcome", "from", "to", "limit", "cursor"})) {
      return e->ToResponse();
    }
    API_ASSIGN(int limit, PageLimit(c));
    API_ASSIGN(auto from, TimeParam(c, "from"));
    API_ASSIGN(auto to, TimeParam(c, "to"));
    std::vector<db::Value> params = {c.who.org_id.str()};
    std::string sql = fmt::format("SELECT {} FROM calls WHERE org_id = $1", kCallColumns);
    auto add = [&](std::string_view clause, db::Value v) {
      params.push_back(std::move(v));
      sql += fmt::format(fmt::runtime(clause), params.size());
    };
    if (auto it = c.query.find("agentId"); it != c.query.end() && !it->second.empty()) {
      add(" AND agent_id = ${}", it->second);
    }
    if (auto it = c.query.find("outcome"); it != c.query.end() && !it->second.empty()) {
      add(" AND outcome = ${}", it->second);
    }
    if (from) add(" AND started_at >= ${}", *from);
    if (to) add(" AND started_at < ${}", *to);
    if (auto it = c.query.find("cursor"); it != c.query.end()) {
      auto cursor = DecodeCursor(it->second);
      if (!cursor) return BadRequest("invalid cursor").ToResponse();
      params.push_back(cursor->first);
      params.push_back(cursor->second);
      sql += fmt::format(" AND (started_at < ${0} OR (started_at = ${0} AND call_sid < ${1}))",
                         params.size() - 1, params.size());
    }
    params.push_back(limit + 1);
    sql += fmt::format(" ORDER BY started_at DESC, call_sid DESC LIMIT ${}", params.size());
    DB_ASSIGN(db::Rows rows, db->Query(sql, params));
    json items = json::array();
    std::optional<std::string> next;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (static_cast<int>(i) == limit) {
        next = EncodeCursor(Int(rows[i - 1], 4), Str(rows[i - 1], 0));
        break;
      }
      items.push_back(CallJson(rows[i]));
    }
    return JsonResponse(200, {{"items", items}, {"nextCursor", next ? json(*next) : json()}});
  }

  Result<std::optional<db::Row>> LoadCall(const OrgId& org, std::string_view sid) {
    TEMPO_ASSIGN_OR_RETURN(db::Rows rows,
                           db->Query(fmt::format("SELECT {}, metadata_json FROM calls "
                                                 "WHERE org_id = $1 AND call_sid = $2",
                                                 kCallColumns),
                                     {org.str(), sid}));
    if (rows.empty()) return std::optional<db::Row>();
    return std::optional<db::Row>(rows[0]);
  }

  net::Response GetCall(Ctx& c) {
    DB_ASSIGN(auto row, LoadCall(c.who.org_id, c.req.PathParam("sid")));
    if (!row) return NotFoundError("call").ToResponse();
    json j = CallJson(*row);
    auto metadata = json::parse(OptStr(*row, 11).value_or("null"), nullptr, false);
    j["metadata"] = metadata.is_discarded() ? json(nullptr) : metadata;
    j["turnLatenciesMs"] = metadata.is_object() && metadata.contains("turnLatenciesMs")
                               ? metadata["turnLatenciesMs"]
                               : json::array();
    return JsonResponse(200, j);
  }

  static std::string Bucket(std::string_view agent_id) {
    return fmt::format("tempo-agent-transcripts-{}", agent_id);
  }

  net::Response GetTranscript(Ctx& c) {
    DB_ASSIGN(auto row, LoadCall(c.who.org_id, c.req.PathParam("sid")));
    if (!row) return NotFoundError("call").ToResponse();
    const auto key = OptStr(*row, 9);
    if (!key) return NotFoundError("transcript").ToResponse();
    auto text = store.Get(Bucket(Str(*row, 1)), *key);
    if (!text) {
      if (text.error().code == ErrorCode::kNotFound) {
        return NotFoundError("transcript").ToResponse();
      }
      return FromDb(text.error()).ToResponse();
    }
    auto r = net::Response::Json(200, std::move(*text));
    r.headers.Set("Cache-Control", "private, max-age=60");
    return r;
  }

  net::Response GetRecording(Ctx& c) {
    DB_ASSIGN(auto row, LoadCall(c.who.org_id, c.req.PathParam("sid")));
    if (!row) return NotFoundError("call").ToResponse();
    const auto key = OptStr(*row, 10);
    if (!key) return NotFoundError("recording").ToResponse();
    const std::string bucket = Bucket(Str(*row, 1));

    // Read only the requested bytes when the store has a local file; otherwise load it.
    std::optional<std::filesystem::path> path = store.LocalPath(bucket, *key);
    std::string whole;
    uint64_t size = 0;
    std::error_code ec;
    if (path && std::filesystem::exists(*path, ec)) {
      size = std::filesystem::file_size(*path, ec);
      if (ec) return InternalError().ToResponse();
    } else {
      auto data = store.Get(bucket, *key);
      if (!data) {
        if (data.error().code == ErrorCode::kNotFound) {
          return NotFoundError("recording").ToResponse();
        }
        return FromDb(data.error()).ToResponse();
      }
      whole = std::move(*data);
      size = whole.size();
      path.reset();
    }
    auto read = [&](uint64_t first, uint64_t count) -> std::optional<std::string> {
      if (!path) return whole.substr(first, count);
      std::ifstream in(*path, std::ios::binary);
      if (!in) return std::nullopt;
      std::string out(count, '\0');
      in.seekg(static_cast<std::streamoff>(first));
      in.read(out.data(), static_cast<std::streamsize>(count));
      if (static_cast<uint64_t>(in.gcount()) != count) return std::nullopt;
      return out;
    };
    net::Response r;
    r.headers.Set("Accept-Ranges", "bytes");
    r.headers.Set("Cache-Control", "private, max-age=3600");
    ByteRange range;
    const auto header = c.req.headers.Find("Range");
    switch (header ? ParseRange(*header, size, range) : RangeParse::kNone) {
      case RangeParse::kUnsatisfiable: {
        auto e = ApiError{
            416,
            "range_not_satisfiable",
            fmt::format("the recording has {} bytes", size),
            {}}.ToResponse();
        e.headers.Set("Content-Range", fmt::format("bytes */{}", size));
        return e;
      }
      case RangeParse::kRange: {
        auto body = read(range.first, range.last - range.first + 1);
        if (!body) return InternalError().ToResponse();
        r.status = 206;
        r.body = std::move(*body);
        r.headers.Set("Content-Range",
                      fmt::format("bytes {}-{}/{}", range.first, range.last, size));
        break;
      }
      case RangeParse::kNone: {
        auto body = read(0, size);
        if (!body) return InternalError().ToResponse();
        r.status = 200;
        r.body = std::move(*body);
        break;
      }
    }
    r.headers.Set("Content-Type", "audio/wav");
    return r;
  }

  // ---------------------------------------------------------------- usage

  net::Response Usage(Ctx& c) {
    if (auto e = OnlyQueryParams(c, {"from", "to", "agentId"})) return e->ToResponse();
    API_ASSIGN(auto from_param, TimeParam(c, "from"));
    API_ASSIGN(auto to_param, TimeParam(c, "to"));
    const int64_t to = to_param.value_or((NowMs() / kDayMs + 1) * kDayMs);
    const int64_t from = from_param.value_or(to - 30 * kDayMs);
    if (from >= to) return FieldInvalid("from", "must be before `to`").ToResponse();
    if (to - from > 366 * kDayMs) {
      return FieldInvalid("from", "the range may cover at most 366 days").ToResponse();
    }
    std::vector<db::Value> params = {c.who.org_id.str(), from, to};
    std::string filter;
    if (auto it = c.query.find("agentId"); it != c.query.end() && !it->second.empty()) {
      params.push_back(it->second);
      filter = " AND agent_id = $4";
    }
    DB_ASSIGN(
        db::Rows rows,
        db->Query("SELECT agent_id, started_at / 86400000 AS day, COUNT(*) AS calls, "
                  "COALESCE(SUM(duration_ms), 0) AS ms FROM calls "
                  "WHERE org_id = $1 AND started_at >= $2 AND started_at < $3" +
                      filter + " GROUP BY agent_id, started_at / 86400000 ORDER BY day, agent_id",
                  params));
    json items = json::array();
    int64_t total_calls = 0;
    int64_t total_ms = 0;
    for (const auto& row : rows) {
      const int64_t calls = Int(row, 2);
      const int64_t ms = Int(row, 3);
      total_calls += calls;
      total_ms += ms;
      items.push_back({{"date", FormatDay(Int(row, 1) * kDayMs)},
                       {"agentId", Str(row, 0)},
                       {"calls", calls},
                       {"durationMs", ms},
                       {"minutes", static_cast<double>(ms) / 60'000.0}});
    }
    return JsonResponse(200, {{"from", FormatTimeMs(from)},
                              {"to", FormatTimeMs(to)},
                              {"items", items},
                              {"totals",
                               {{"calls", total_calls},
                                {"durationMs", total_ms},
                                {"minutes", static_cast<double>(total_ms) / 60'000.0}}}});
  }

  // ---------------------------------------------------------------- calls index

  Result<void> IndexCall(const runtime::CallRecord& record) {
    const std::string& agent_id = record.info.agent_id.str();
    TEMPO_ASSIGN_OR_RETURN(db::Rows owner,
                           db->Query("SELECT org_id FROM agents WHERE id = $1", {agent_id}));
    std::string org;
    if (!owner.empty()) {
      TEMPO_ASSIGN_OR_RETURN(org, owner[0].GetString(0));
    } else {
      TEMPO_ASSIGN_OR_RETURN(
          db::Rows first,
          db->Query("SELECT id FROM organisations ORDER BY created_at, id LIMIT 1"));
      if (first.empty()) return NotFound("no organisation to record the call in");
      TEMPO_ASSIGN_OR_RETURN(org, first[0].GetString(0));
    }
    const std::string prefix = fmt::format("calls/{}/", record.info.call_sid);
    const std::string bucket = Bucket(agent_id);
    std::optional<std::string> recording;
    if (auto exists = store.Exists(bucket, prefix + "recording.wav"); exists && *exists) {
      recording = prefix + "recording.wav";
    }
    std::optional<std::string> transcript;
    if (auto exists = store.Exists(bucket, prefix + "transcript.json"); exists && *exists) {
      transcript = prefix + "transcript.json";
    }
    const int64_t ended = record.end.ended_at_ms;
    const std::optional<int64_t> ended_at =
        ended > 0 ? std::optional<int64_t>(ended) : std::nullopt;
    const std::optional<int64_t> duration =
        ended > 0 ? std::optional<int64_t>(std::max<int64_t>(0, ended - record.info.started_at_ms))
                  : std::nullopt;
    const std::string metadata =
        DumpJson(json::parse(record.MetadataJson(recording.has_value()), nullptr, false));
    TEMPO_TRY(db->Execute(
        "INSERT INTO calls (org_id, call_sid, agent_id, from_number, to_number, started_at, "
        "ended_at, duration_ms, outcome, turns, transcript_key, recording_key, metadata_json) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        "ON CONFLICT (call_sid) DO UPDATE SET ended_at = excluded.ended_at, "
        "duration_ms = excluded.duration_ms, outcome = excluded.outcome, turns = excluded.turns, "
        "transcript_key = excluded.transcript_key, recording_key = excluded.recording_key, "
        "metadata_json = excluded.metadata_json",
        // From/To are whatever Twilio's form held: PostgreSQL refuses text that is not UTF-8.
        {org, record.info.call_sid.str(), agent_id, ValidUtf8(record.info.from),
         ValidUtf8(record.info.to), record.info.started_at_ms, ended_at, duration,
         record.end.outcome, static_cast<int64_t>(record.turns.size()), transcript, recording,
         metadata}));
    return Ok();
  }

  // ---------------------------------------------------------------- start-up

  Result<void> Bootstrap() {
    TEMPO_ASSIGN_OR_RETURN(int64_t users, auth.CountUsers());
    if (users > 0) return Ok();
    const bool generated = !options.admin_password || options.admin_password->empty();
    const std::string password = generated ? RandomToken(15) : *options.admin_password;
    TEMPO_ASSIGN_OR_RETURN(OrgId org,
                           auth.CreateOrganisation("Default", options.admin_email, password));
    TEMPO_LOG(control, info, "first run: created organisation Default ({}) and admin {}", org,
              options.admin_email);
    if (generated) {
      PrintLine(fmt::format(
          "first run: admin login {} with password {} (shown once; change it after logging in)",
          options.admin_email, password));
    }
    if (options.first_run_agent) TEMPO_TRY(CreateFirstRunAgent(org, *options.first_run_agent));
    return Ok();
  }

  void PrintLine(const std::string& line) {
    if (options.print_line) {
      options.print_line(line);
    } else {
      fmt::print("{}\n", line);
      std::fflush(stdout);
    }
  }

  // The first organisation gets a ready agent: created and deployed as if the admin had done
  // it in the dashboard (the deployer validates, prepares, creates the bucket and activates).
  // A failed deployment (e.g. its speech engine is not installed) does not stop the start: the
  // agent stays undeployed, as a failed deployment from the dashboard would leave it.
  Result<void> CreateFirstRunAgent(const OrgId& org, const agent::AgentConfig& config) {
    TEMPO_TRY(InsertAgent(org, config, NowMs()));
    auto deployed = deployer->Deploy(org, config, [](size_t, StepState, const std::string&) {});
    if (!deployed) {
      TEMPO_LOG(control, warn, "first run: agent {} was created but not deployed: {}",
                config.agent_id, deployed.error().message);
    } else {
      TEMPO_LOG(control, info, "first run: created and deployed agent {} ({})", config.agent_id,
                config.agent_name);
    }
    PrintLine(fmt::format(
        "first run: agent '{}' ({}) is {}; its Twilio auth token is {} (shown once; set your "
        "own in the dashboard)",
        config.agent_id, config.agent_name, deployed ? "deployed" : "created (not deployed)",
        config.twilio_auth_token.Reveal()));
    return Ok();
  }

  Result<void> FailInterruptedDeployments() {
    TEMPO_ASSIGN_OR_RETURN(db::Rows rows,
                           db->Query("SELECT id, agent_id, state, steps_json, created_at, "
                                     "updated_at FROM deployments WHERE state = $1",
                                     {"in_progress"}));
    for (const auto& row : rows) {
      TEMPO_ASSIGN_OR_RETURN(Deployment d, ReadDeployment(row));
      d.state = "failed";
      d.error = "interrupted by a restart of the control plane";
      d.updated_at = std::max(NowMs(), d.created_at);
      TEMPO_TRY(SaveDeployment(d));
    }
    return Ok();
  }
};

ControlPlane::ControlPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ControlPlane::~ControlPlane() = default;

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(ControlOptions options,
                                                         storage::ObjectStore& store,
                                                         RunBlocking run_blocking,
                                                         const Clock& clock) {
  std::string url = options.database_url;
  if (url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    url = "sqlite://" + (options.data_dir / "tempo.db").string();
  }
  auto database = db::Open(url);
  if (!database) {
    return Error{database.error().code,
                 fmt::format("cannot open the database: {}", database.error().message)};
  }
  return Create(std::move(options), std::move(*database), store, std::move(run_blocking), clock);
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Create(ControlOptions options,
                                                           std::unique_ptr<db::Database> database,
                                                           storage::ObjectStore& store,
                                                           RunBlocking run_blocking,
                                                           const Clock& clock) {
  TEMPO_TRY(InitCrypto());
  if (auto migrated = db::Migrate(*database, clock); !migrated) {
    return Error{migrated.error().code,
                 fmt::format("cannot migrate the database {}: {}", database->RedactedUrl(),
                             migrated.error().message)};
  }
  TEMPO_ASSIGN_OR_RETURN(SecretBox::Key key, LoadOrCreateKey(options.secret_key_base64,
                                                             options.data_dir / "secret.key"));
  auto impl = std::make_unique<Impl>(std::move(options), std::move(database), store,
                                     std::move(run_blocking), clock, key);
  TEMPO_TRY(impl->Bootstrap());
  TEMPO_TRY(impl->FailInterruptedDeployments());
  TEMPO_ASSIGN_OR_RETURN(size_t deployed, impl->directory.Reload());
  TEMPO_LOG(control, info, "control plane on {}: {} deployed agent(s)", impl->db->RedactedUrl(),
            deployed);
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(impl)));
}

void ControlPlane::AddRoutes(net::Router& router) {
  using M = net::Method;
  using I = Impl;
  auto& i = *impl_;
  router.Add(M::kGet, "/api/v1/openapi.json", [](const net::Request&) {
    auto r = net::Response::Json(200, OpenApiDocument());
    r.headers.Set("Cache-Control", "public, max-age=300");
    return r;
  });
  i.Route(router, M::kPost, "/api/v1/auth/login", Access::kPublic, &I::Login);
  i.Route(router, M::kPost, "/api/v1/auth/logout", Access::kRead, &I::Logout);
  i.Route(router, M::kGet, "/api/v1/auth/me", Access::kRead, &I::Me);
  i.Route(router, M::kPost, "/api/v1/auth/password", Access::kRead, &I::ChangePassword);

  i.Route(router, M::kGet, "/api/v1/users", Access::kAdmin, &I::ListUsers);
  i.Route(router, M::kPost, "/api/v1/users", Access::kAdmin, &I::CreateUser);
  i.Route(router, M::kDelete, "/api/v1/users/{id}", Access::kAdmin, &I::DeleteUser);

  i.Route(router, M::kGet, "/api/v1/keys", Access::kRead, &I::ListKeys);
  i.Route(router, M::kPost, "/api/v1/keys", Access::kWrite, &I::CreateKey);
  i.Route(router, M::kDelete, "/api/v1/keys/{id}", Access::kWrite, &I::DeleteKey);

  i.Route(router, M::kGet, "/api/v1/agents", Access::kRead, &I::ListAgents);
  i.Route(router, M::kPost, "/api/v1/agents", Access::kWrite, &I::CreateAgent);
  i.Route(router, M::kGet, "/api/v1/agents/{id}", Access::kRead, &I::GetAgent);
  i.Route(router, M::kPut, "/api/v1/agents/{id}", Access::kWrite, &I::PutAgent);
  i.Route(router, M::kPatch, "/api/v1/agents/{id}", Access::kWrite, &I::PatchAgent);
  i.Route(router, M::kDelete, "/api/v1/agents/{id}", Access::kWrite, &I::DeleteAgent);
  i.Route(router, M::kPost, "/api/v1/agents/{id}/deploy", Access::kWrite, &I::Deploy);
  i.Route(router, M::kPost, "/api/v1/agents/{id}/undeploy", Access::kWrite, &I::Undeploy);
  i.Route(router, M::kGet, "/api/v1/agents/{id}/deployment", Access::kRead, &I::GetDeployment);

  i.Route(router, M::kGet, "/api/v1/numbers", Access::kRead, &I::ListNumbers);
  i.Route(router, M::kPost, "/api/v1/numbers", Access::kWrite, &I::CreateNumber);
  i.Route(router, M::kPatch, "/api/v1/numbers/{e164}", Access::kWrite, &I::PatchNumber);
  i.Route(router, M::kDelete, "/api/v1/numbers/{e164}", Access::kWrite, &I::DeleteNumber);

  i.Route(router, M::kGet, "/api/v1/calls", Access::kRead, &I::ListCalls);
  i.Route(router, M::kGet, "/api/v1/calls/{sid}", Access::kRead, &I::GetCall);
  i.Route(router, M::kGet, "/api/v1/calls/{sid}/transcript", Access::kRead, &I::GetTranscript);
  i.Route(router, M::kGet, "/api/v1/calls/{sid}/recording.wav", Access::kRead, &I::GetRecording);
  i.Route(router, M::kGet, "/api/v1/usage", Access::kRead, &I::Usage);

  i.Route(router, M::kPost, "/api/v1/agents/{id}/talk", Access::kWrite, &I::CreateTalk);
  router.AddWebSocket("/api/v1/agents/{id}/talk",
                      [&i](const net::Request& request, std::shared_ptr<net::WebSocket> socket) {
                        return i.TalkStream(request, std::move(socket));
                      });
  AddDashboardRoutes(router);
}

void ControlPlane::SetRuntime(runtime::Runtime* runtime) { impl_->runtime = runtime; }

const runtime::AgentDirectory& ControlPlane::Directory() const { return impl_->directory; }

void ControlPlane::SetFallbackDirectory(const runtime::AgentDirectory* fallback) {
  impl_->directory.SetFallback(fallback);
}

void ControlPlane::CallFinished(const runtime::CallRecord& record) {
  if (auto ok = impl_->IndexCall(record); !ok) {
    TEMPO_LOG(control, error, "[call={}] not indexed: {}", record.info.call_sid,
              ok.error().message);
  }
}

void ControlPlane::SetPublicUrl(std::string url) {
  std::lock_guard lock(impl_->url_mutex);
  impl_->public_url = std::move(url);
}

void ControlPlane::SetDeployer(std::unique_ptr<Deployer> deployer) {
  impl_->deployer = std::move(deployer);
}

AuthService& ControlPlane::Auth() { return impl_->auth; }
db::Database& ControlPlane::Database() { return *impl_->db; }

}  // namespace tempo::control
