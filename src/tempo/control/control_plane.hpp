#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/control/auth.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/control/deployer.hpp"
#include "tempo/db/database.hpp"
#include "tempo/net/router.hpp"
#include "tempo/runtime/agent_directory.hpp"
#include "tempo/runtime/call_record.hpp"
#include "tempo/storage/object_store.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::runtime {
class Runtime;
}  // namespace tempo::runtime

namespace tempo::control {

struct ControlState;

struct ControlOptions {
  /// sqlite:///abs/path.db, sqlite://relative.db or postgres://... (see docs/database.md).
  /// Empty: sqlite://<data_dir>/tempo.db.
  std::string database_url;
  /// Holds secret.key (when TEMPO_SECRET_KEY is not set) and the default SQLite file.
  std::filesystem::path data_dir = "./data";
  /// Base URL Twilio reaches (shown in the numbers list as the Voice URL to configure).
  std::string public_url = "http://127.0.0.1:3000";
  /// TEMPO_SECRET_KEY: base64 of 32 bytes; empty -> <data_dir>/secret.key (created 0600).
  std::optional<std::string> secret_key_base64;
  /// First run (no users): the admin of organisation "Default".
  std::string admin_email = "admin@localhost";
  /// Empty -> a random password, printed once through `print_line`.
  std::optional<std::string> admin_password;
  PasswordCost password_cost = PasswordCost::kInteractive;
  std::chrono::seconds session_ttl{12 * 3600};
  int login_failures_per_minute = 5;
  /// Where the first-run admin password is shown (stdout by default; never the log).
  std::function<void(std::string_view)> print_line;
  /// Deploying an agent builds its speech engine's model first (see LocalDeployer), so that an
  /// agent the engine refuses (e.g. a knowledge base over its limits) fails to deploy.
  SpeechPreparer prepare_speech;
  /// The speech engines this server has (serve: engine::EngineRegistry::Names()). Agents may
  /// only name one of them (create and update answer 422 on `engine` otherwise), and
  /// GET /api/v1/engines lists them. Empty: no engine, so no agent can be saved.
  std::vector<std::string> engines;
  /// First run: this agent is created in organisation Default and deployed, and its Twilio
  /// auth token is shown once through `print_line` (serve's demo agent).
  std::optional<agent::AgentConfig> first_run_agent;
};

/// Reads TEMPO_ADMIN_EMAIL, TEMPO_ADMIN_PASSWORD and TEMPO_SECRET_KEY into `options`
/// (unset variables leave the fields as they are). `getenv` is injected for tests.
void ApplyEnvironment(ControlOptions& options,
                      const std::function<std::optional<std::string>(std::string_view)>& getenv);

/// The control plane: tenants, users, sessions, API keys, agents, numbers, deployments, the
/// call index and usage, served under /api/v1 (docs/api.md, GET /api/v1/openapi.json).
///
/// Every handler runs its database and storage work through `run_blocking`, never on an I/O
/// thread, and answers through the Responder. Thread-safe; must outlive the server routing
/// to it.
class ControlPlane {
 public:
  using RunBlocking = std::function<void(std::function<void()>)>;

  /// Opens the database (options.database_url), migrates it, loads the secret key, creates
  /// the first organisation and admin on first run and loads the deployed agents.
  /// Blocking: call at start-up. Errors name what failed (the URL is redacted).
  static Result<std::unique_ptr<ControlPlane>> Open(ControlOptions options,
                                                    storage::ObjectStore& store,
                                                    RunBlocking run_blocking,
                                                    const Clock& clock = SystemClock::Instance());
  /// As Open, with a database already opened (tests; custom connection setup).
  static Result<std::unique_ptr<ControlPlane>> Create(ControlOptions options,
                                                      std::unique_ptr<db::Database> database,
                                                      storage::ObjectStore& store,
                                                      RunBlocking run_blocking, const Clock& clock);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  /// Registers /api/v1/... routes and the dashboard (/dashboard/..., docs/dashboard.md).
  void AddRoutes(net::Router& router);

  /// Enables the dashboard's "talk to this agent" (POST /api/v1/agents/{id}/talk, then
  /// WS /api/v1/agents/{id}/talk?ticket=...): browser calls run through `runtime` like phone
  /// calls. Without it those routes answer 503. Call before serving; `runtime` must outlive
  /// the server.
  void SetRuntime(runtime::Runtime* runtime);

  /// What the runtime should use to find agents: deployed database agents first, then
  /// `fallback` (e.g. agents loaded from files), if set with SetFallbackDirectory.
  [[nodiscard]] const runtime::AgentDirectory& Directory() const;
  void SetFallbackDirectory(const runtime::AgentDirectory* fallback);

  /// Indexes a finished call (runtime::Runtime::SetCallFinishedHook) in the organisation that
  /// owns its agent. Blocking: the runtime calls it on the blocking pool. Calls of agents
  /// unknown to the database (file agents) are given to no organisation: they are kept in
  /// `unassigned_calls`, counted (tempo_calls_unassigned_total) and logged. An error (the
  /// database is unavailable) is returned: the runtime keeps the call and retries.
  Result<void> CallFinished(const runtime::CallRecord& record);

  /// The base URL shown in Voice URLs (set once the listening port is known).
  void SetPublicUrl(std::string url);

  /// Replaces the deployer (default: LocalDeployer). Call before serving.
  void SetDeployer(std::unique_ptr<Deployer> deployer);

  /// Tenants and users (operators, tests). Blocking.
  AuthService& Auth();
  [[nodiscard]] db::Database& Database();

 private:
  explicit ControlPlane(std::unique_ptr<ControlState> state);
  std::unique_ptr<ControlState> state_;
};

}  // namespace tempo::control
