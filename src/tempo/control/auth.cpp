#include "tempo/control/auth.hpp"

#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"

#include <algorithm>

namespace tempo::control {
namespace {

// last_used_at is informative: writing it on every request would turn reads into writes.
constexpr int64_t kLastUsedResolutionMs = 60'000;

}  // namespace

std::string_view ToString(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kEditor:
      return "editor";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> ParseRole(std::string_view text) {
  if (text == "viewer") return Role::kViewer;
  if (text == "editor") return Role::kEditor;
  if (text == "admin") return Role::kAdmin;
  return std::nullopt;
}

AuthService::AuthService(db::Database& db, const Clock& clock, PasswordCost cost,
                         std::chrono::seconds session_ttl)
    : db_(db), clock_(clock), cost_(cost), session_ttl_(session_ttl) {
  dummy_hash_ = HashPassword(RandomToken(16), cost).value();
}

int64_t AuthService::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.WallNow().time_since_epoch())
      .count();
}

Result<OrgId> AuthService::CreateOrganisation(std::string_view name, std::string_view admin_email,
                                              std::string_view admin_password) {
  OrgId org("org_" + RandomHex(12));
  TEMPO_ASSIGN_OR_RETURN(std::string hash, HashPassword(admin_password, cost_));
  const int64_t now = NowMs();
  TEMPO_TRY(db_.Transaction([&](db::Database& tx) -> Result<void> {
    TEMPO_TRY(tx.Execute("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)",
                         {org.str(), name, now}));
    TEMPO_TRY(
        tx.Execute("INSERT INTO users (id, org_id, email, password_hash, role, created_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6)",
                   {"usr_" + RandomHex(12), org.str(), Lower(admin_email), hash, "admin", now}));
    return Ok();
  }));
  return org;
}

Result<std::string> AuthService::CreateUser(const OrgId& org, std::string_view email,
                                            std::string_view password, Role role) {
  TEMPO_ASSIGN_OR_RETURN(std::string hash, HashPassword(password, cost_));
  std::string id = "usr_" + RandomHex(12);
  TEMPO_TRY(
      db_.Execute("INSERT INTO users (id, org_id, email, password_hash, role, created_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6)",
                  {id, org.str(), Lower(email), hash, ToString(role), NowMs()}));
  return id;
}

Result<int64_t> AuthService::CountUsers() {
  TEMPO_ASSIGN_OR_RETURN(db::Rows rows, db_.Query("SELECT COUNT(*) FROM users"));
  return rows[0].GetInt(0);
}

Result<std::optional<LoginSession>> AuthService::Login(std::string_view email,
                                                       std::string_view password) {
  TEMPO_ASSIGN_OR_RETURN(
      db::Rows rows,
      db_.Query("SELECT id, org_id, email, password_hash, role FROM users WHERE email = $1",
                {Lower(email)}));
  if (rows.empty()) {
    (void)VerifyPassword(password, dummy_hash_);
    return std::optional<LoginSession>();
  }
  TEMPO_ASSIGN_OR_RETURN(std::string hash, rows[0].GetString("password_hash"));
  if (!VerifyPassword(password, hash)) return std::optional<LoginSession>();

  LoginSession s;
  TEMPO_ASSIGN_OR_RETURN(s.principal.user_id, rows[0].GetString("id"));
  TEMPO_ASSIGN_OR_RETURN(std::string org, rows[0].GetString("org_id"));
  TEMPO_ASSIGN_OR_RETURN(s.principal.email, rows[0].GetString("email"));
  TEMPO_ASSIGN_OR_RETURN(std::string role, rows[0].GetString("role"));
  s.principal.org_id = OrgId(org);
  s.principal.role = ParseRole(role).value_or(Role::kViewer);
  s.principal.kind = Principal::Kind::kSession;
  s.token = RandomToken(32);
  s.csrf_token = RandomToken(32);
  s.principal.csrf_token = s.csrf_token;
  const int64_t now = NowMs();
  s.expires_at_ms =
      now + std::chrono::duration_cast<std::chrono::milliseconds>(session_ttl_).count();
  TEMPO_TRY(db_.Execute("DELETE FROM sessions WHERE expires_at <= $1", {now}));
  TEMPO_TRY(
      db_.Execute("INSERT INTO sessions (id_hash, user_id, org_id, csrf_token, expires_at) "
                  "VALUES ($1, $2, $3, $4, $5)",
                  {Sha256Hex(s.token), s.principal.user_id, org, s.csrf_token, s.expires_at_ms}));
  return std::optional<LoginSession>(std::move(s));
}

Result<std::optional<Principal>> AuthService::FromSession(std::string_view token) {
  if (token.empty() || token.size() > 200) return std::optional<Principal>();
  TEMPO_ASSIGN_OR_RETURN(
      db::Rows rows,
      db_.Query("SELECT s.user_id, s.org_id, s.csrf_token, s.expires_at, u.email, u.role "
                "FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
                {Sha256Hex(token)}));
  if (rows.empty()) return std::optional<Principal>();
  TEMPO_ASSIGN_OR_RETURN(int64_t expires, rows[0].GetInt("expires_at"));
  if (expires <= NowMs()) return std::optional<Principal>();
  Principal p;
  p.kind = Principal::Kind::kSession;
  TEMPO_ASSIGN_OR_RETURN(p.user_id, rows[0].GetString("user_id"));
  TEMPO_ASSIGN_OR_RETURN(std::string org, rows[0].GetString("org_id"));
  TEMPO_ASSIGN_OR_RETURN(p.csrf_token, rows[0].GetString("csrf_token"));
  TEMPO_ASSIGN_OR_RETURN(p.email, rows[0].GetString("email"));
  TEMPO_ASSIGN_OR_RETURN(std::string role, rows[0].GetString("role"));
  p.org_id = OrgId(org);
  p.role = ParseRole(role).value_or(Role::kViewer);
  return std::optional<Principal>(std::move(p));
}

Result<std::optional<Principal>> AuthService::FromApiKey(std::string_view key) {
  if (key.substr(0, 3) != "tv_" || key.size() > 200) return std::optional<Principal>();
  TEMPO_ASSIGN_OR_RETURN(
      db::Rows rows,
      db_.Query("SELECT id, org_id, role FROM api_keys WHERE key_hash = $1", {Sha256Hex(key)}));
  if (rows.empty()) return std::optional<Principal>();
  Principal p;
  p.kind = Principal::Kind::kApiKey;
  TEMPO_ASSIGN_OR_RETURN(p.key_id, rows[0].GetString("id"));
  TEMPO_ASSIGN_OR_RETURN(std::string org, rows[0].GetString("org_id"));
  TEMPO_ASSIGN_OR_RETURN(std::string role, rows[0].GetString("role"));
  p.org_id = OrgId(org);
  p.role = ParseRole(role).value_or(Role::kViewer);
  const int64_t now = NowMs();
  bool write = false;
  {
    std::lock_guard lock(last_used_mutex_);
    auto& last = key_last_used_written_[p.key_id];
    if (now - last >= kLastUsedResolutionMs) {
      last = now;
      write = true;
    }
    if (key_last_used_written_.size() > 10'000) key_last_used_written_.clear();
  }
  if (write) {
    TEMPO_TRY(db_.Execute("UPDATE api_keys SET last_used_at = $1 WHERE id = $2", {now, p.key_id}));
  }
  return std::optional<Principal>(std::move(p));
}

Result<void> AuthService::Logout(std::string_view token) {
  TEMPO_TRY(db_.Execute("DELETE FROM sessions WHERE id_hash = $1", {Sha256Hex(token)}));
  return Ok();
}

Result<bool> AuthService::ChangePassword(const Principal& who, std::string_view current,
                                         std::string_view next,
                                         std::string_view keep_session_token) {
  TEMPO_ASSIGN_OR_RETURN(db::Rows rows,
                         db_.Query("SELECT password_hash FROM users WHERE id = $1 AND org_id = $2",
                                   {who.user_id, who.org_id.str()}));
  if (rows.empty()) return false;
  TEMPO_ASSIGN_OR_RETURN(std::string hash, rows[0].GetString(0));
  if (!VerifyPassword(current, hash)) return false;
  TEMPO_ASSIGN_OR_RETURN(std::string next_hash, HashPassword(next, cost_));
  TEMPO_TRY(db_.Transaction([&](db::Database& tx) -> Result<void> {
    TEMPO_TRY(
        tx.Execute("UPDATE users SET password_hash = $1 WHERE id = $2", {next_hash, who.user_id}));
    TEMPO_TRY(tx.Execute("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2",
                         {who.user_id, Sha256Hex(keep_session_token)}));
    return Ok();
  }));
  return true;
}

Result<NewApiKey> AuthService::CreateApiKey(const OrgId& org, std::string_view name, Role role) {
  NewApiKey k;
  k.id = "key_" + RandomHex(12);
  k.key = "tv_" + RandomToken(32);
  TEMPO_TRY(
      db_.Execute("INSERT INTO api_keys (id, org_id, name, key_hash, role, created_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6)",
                  {k.id, org.str(), name, Sha256Hex(k.key), ToString(role), NowMs()}));
  return k;
}

LoginRateLimiter::LoginRateLimiter(const Clock& clock, int max_failures,
                                   std::chrono::seconds window, size_t max_keys)
    : clock_(clock), max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

int64_t LoginRateLimiter::RetryAfterSeconds(const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  const auto now = clock_.Now();
  auto& q = it->second;
  while (!q.empty() && q.front() + window_ <= now) q.pop_front();
  if (q.empty()) {
    failures_.erase(it);
    return 0;
  }
  if (static_cast<int>(q.size()) < max_failures_) return 0;
  const auto wait = std::chrono::ceil<std::chrono::seconds>(q.front() + window_ - now).count();
  return std::max<int64_t>(wait, 1);
}

void LoginRateLimiter::RecordFailure(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (failures_.size() >= max_keys_ && failures_.find(key) == failures_.end()) {
    // Under a spray of distinct keys, forget the oldest entries rather than grow without bound.
    auto oldest = std::min_element(failures_.begin(), failures_.end(), [](auto& a, auto& b) {
      return a.second.back() < b.second.back();
    });
    failures_.erase(oldest);
  }
  auto& q = failures_[key];
  q.push_back(clock_.Now());
  while (static_cast<int>(q.size()) > max_failures_) q.pop_front();
}

void LoginRateLimiter::Reset(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

}  // namespace tempo::control
