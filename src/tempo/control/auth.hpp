#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/db/database.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::control {

/// What a user or API key may do: viewers read, editors also write, admins also manage users.
enum class Role { kViewer, kEditor, kAdmin };
std::string_view ToString(Role role);
std::optional<Role> ParseRole(std::string_view text);

/// Who is making a request.
struct Principal {
  enum class Kind { kSession, kApiKey };
  Kind kind = Kind::kSession;
  OrgId org_id;
  Role role = Role::kViewer;
  std::string user_id;     ///< kSession: the user
  std::string email;       ///< kSession: the user's email
  std::string key_id;      ///< kApiKey: the key
  std::string csrf_token;  ///< kSession: must accompany state-changing requests
};

struct LoginSession {
  std::string token;  ///< the cookie value; stored only as its SHA-256
  std::string csrf_token;
  int64_t expires_at_ms = 0;
  Principal principal;
};

struct NewApiKey {
  std::string id;
  std::string key;  ///< "tv_..."; shown once, stored only as its SHA-256
};

/// Users, sessions and API keys in the database. Blocking (database calls); thread-safe.
class AuthService {
 public:
  AuthService(db::Database& db, const Clock& clock, PasswordCost cost,
              std::chrono::seconds session_ttl);

  /// Creates an organisation and its first admin. Errors: kAlreadyExists (email taken).
  Result<OrgId> CreateOrganisation(std::string_view name, std::string_view admin_email,
                                   std::string_view admin_password);
  /// Creates a user. Errors: kAlreadyExists (email taken, in any organisation).
  Result<std::string> CreateUser(const OrgId& org, std::string_view email,
                                 std::string_view password, Role role);
  Result<int64_t> CountUsers();

  /// A new session when the credentials match, nullopt when they do not.
  Result<std::optional<LoginSession>> Login(std::string_view email, std::string_view password);
  /// The session's principal; nullopt for unknown or expired tokens.
  Result<std::optional<Principal>> FromSession(std::string_view token);
  /// The key's principal; nullopt for unknown keys.
  Result<std::optional<Principal>> FromApiKey(std::string_view key);
  Result<void> Logout(std::string_view token);
  /// Checks `current` and sets `next` (and ends the user's other sessions).
  /// Returns false when `current` is wrong.
  Result<bool> ChangePassword(const Principal& who, std::string_view current, std::string_view next,
                              std::string_view keep_session_token);

  Result<NewApiKey> CreateApiKey(const OrgId& org, std::string_view name, Role role);

 private:
  int64_t NowMs() const;

  db::Database& db_;
  const Clock& clock_;
  PasswordCost cost_;
  std::chrono::seconds session_ttl_;
  std::string dummy_hash_;  // verified against for unknown emails, so timing reveals nothing
  std::mutex last_used_mutex_;
  std::map<std::string, int64_t> key_last_used_written_;
};

/// Counts failed logins per key (client address, email) in a sliding window.
/// Thread-safe; memory is bounded (the oldest keys are dropped past `max_keys`).
class LoginRateLimiter {
 public:
  LoginRateLimiter(const Clock& clock, int max_failures, std::chrono::seconds window,
                   size_t max_keys = 10'000);
  /// Seconds until `key` may try again, or 0 when it may now.
  int64_t RetryAfterSeconds(const std::string& key);
  void RecordFailure(const std::string& key);
  void Reset(const std::string& key);

 private:
  const Clock& clock_;
  int max_failures_;
  std::chrono::seconds window_;
  size_t max_keys_;
  std::mutex mutex_;
  std::map<std::string, std::deque<Clock::Steady::time_point>> failures_;
};

}  // namespace tempo::control
