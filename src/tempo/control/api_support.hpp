#pragma once

// Internal to the control module: what every /api/v1 resource shares (the request context,
// access levels and the route table that enforces them, the strict body reader, cursors,
// page limits and the JSON responses). Not included outside src/tempo/control/.

#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/control/api_error.hpp"
#include "tempo/control/auth.hpp"
#include "tempo/control/request_parsing.hpp"
#include "tempo/db/database.hpp"
#include "tempo/net/router.hpp"

#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::control {

struct ControlState;

template <class T>
using ApiResult = boost::system::result<T, ApiError>;

inline constexpr size_t kMaxAgentBodyBytes = 4 * 1024 * 1024;  // knowledge bases can be large
inline constexpr size_t kMaxBodyBytes = 64 * 1024;
inline constexpr int kMaxJsonDepth = 32;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 200;
inline constexpr int64_t kDayMs = 86'400'000;
inline constexpr std::string_view kSessionCookie = "tempo_session";

/// One API request after authentication: the parsed query and who is asking.
struct Ctx {
  const net::Request& req;
  std::map<std::string, std::string> query;
  Principal who;
  std::string session_token;  ///< empty unless authenticated by the session cookie
};

/// Who may call a route: anyone, any authenticated principal, editors and admins, admins.
enum class Access { kPublic, kRead, kWrite, kAdmin };

using ApiHandler = net::Response (*)(ControlState&, Ctx&);

/// The route table: every /api/v1 route is added here with its access level, so that
/// authentication, CSRF, role checks and body limits are enforced in one place. Handlers run
/// on the blocking pool (ControlState::run_blocking), never on an I/O thread.
class ApiRoutes {
 public:
  ApiRoutes(net::Router& router, ControlState& state) : router_(router), state_(state) {}
  void Add(net::Method method, std::string_view pattern, Access access, ApiHandler handler);
  [[nodiscard]] net::Router& Router() { return router_; }
  [[nodiscard]] ControlState& State() { return state_; }

 private:
  net::Router& router_;
  ControlState& state_;
};

// The resources; each adds its routes (and access levels) next to its handlers.
void AddAuthRoutes(ApiRoutes& routes);    // auth_api.cpp: login, sessions, users, API keys
void AddAgentRoutes(ApiRoutes& routes);   // agents_api.cpp: agents (ETags), deployments, engines
void AddNumberRoutes(ApiRoutes& routes);  // numbers_api.cpp
void AddCallRoutes(ApiRoutes& routes);    // calls_api.cpp: call index, transcript, recording
void AddUsageRoutes(ApiRoutes& routes);   // usage_api.cpp
void AddTalkRoutes(ApiRoutes& routes);    // talk_api.cpp: browser calls into the runtime

/// Reads the declared fields of a small JSON object body strictly.
class BodyReader {
 public:
  explicit BodyReader(const nlohmann::json& j) : j_(j) {}

  std::optional<std::string> String(const char* key, bool required, size_t max = 1000);
  /// True when `key` is present with an explicit null.
  [[nodiscard]] bool IsNull(const char* key) const;
  void Invalid(std::string field, std::string message);
  /// Unknown fields are errors too; call after reading every field.
  std::optional<ApiError> Finish();

 private:
  const nlohmann::json& j_;
  std::set<std::string> seen_;
  std::vector<agent::FieldError> errors_;
};

inline ApiError FromDb(const Error& e) { return FromError(e); }

// Cell readers for columns whose type the schema guarantees (a mismatch reads as empty).
std::string Str(const db::Row& row, size_t i);
int64_t Int(const db::Row& row, size_t i);
std::optional<std::string> OptStr(const db::Row& row, size_t i);
std::optional<int64_t> OptInt(const db::Row& row, size_t i);

/// Milliseconds since the epoch of the clock's wall time (how the database stores times).
int64_t WallMs(const Clock& clock);

net::Response JsonResponse(int status, const nlohmann::json& body);
net::Response NoContent();
std::string ETag(int64_t version);
bool ValidEmail(std::string_view email);

// Page cursors (EncodeCursor / DecodeCursor) are in request_parsing.hpp, with the fuzzed
// parsers of what arrives.

/// `limit` (default kDefaultPageSize, 1..kMaxPageSize).
ApiResult<int> PageLimit(const Ctx& c);
/// A validation error naming every query parameter not in `ok`.
std::optional<ApiError> OnlyQueryParams(const Ctx& c, std::initializer_list<std::string_view> ok);
/// An optional time filter (see ParseTimeMs).
ApiResult<std::optional<int64_t>> TimeParam(const Ctx& c, const char* name);
/// The body as a JSON object (400 when it is not one, 415 for another media type).
ApiResult<nlohmann::json> ParseObject(const Ctx& c);
/// The version the client read (If-Match), required by changes of versioned resources.
ApiResult<int64_t> RequireIfMatch(const Ctx& c);

#define TEMPO_API_CONCAT_INNER_(a, b) a##b
#define TEMPO_API_CONCAT_(a, b) TEMPO_API_CONCAT_INNER_(a, b)
// Declares `decl` from an ApiResult, or returns the error as a response.
#define TEMPO_API_ASSIGN(decl, expr) \
  TEMPO_API_ASSIGN_IMPL_(TEMPO_API_CONCAT_(api_r_, __COUNTER__), decl, expr)
#define TEMPO_API_ASSIGN_IMPL_(tmp, decl, expr)         \
  auto tmp = (expr);                                    \
  if (!tmp) return std::move(tmp).error().ToResponse(); \
  decl = std::move(*tmp)
// Declares `decl` from a Result (database, storage), mapping its error.
#define TEMPO_DB_ASSIGN(decl, expr) \
  TEMPO_DB_ASSIGN_IMPL_(TEMPO_API_CONCAT_(db_r_, __COUNTER__), decl, expr)
#define TEMPO_DB_ASSIGN_IMPL_(tmp, decl, expr)                         \
  auto tmp = (expr);                                                   \
  if (!tmp) return ::tempo::control::FromDb(tmp.error()).ToResponse(); \
  decl = std::move(*tmp)
#define TEMPO_DB_TRY(expr) TEMPO_DB_TRY_IMPL_(TEMPO_API_CONCAT_(db_t_, __COUNTER__), expr)
#define TEMPO_DB_TRY_IMPL_(tmp, expr)                                                       \
  do {                                                                                      \
    if (auto tmp = (expr); !tmp) return ::tempo::control::FromDb(tmp.error()).ToResponse(); \
  } while (0)

}  // namespace tempo::control
