#include "tempo/db/migrations.hpp"

#include "tempo/base/log.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>

namespace tempo::db {
namespace {

// Portable SQL only: TEXT / BIGINT / INTEGER, application-generated text ids, times as BIGINT
// milliseconds since the Unix epoch. Every tenant-owned table carries org_id.
// The agent's primary key is (org_id, id) so child rows can reference it together with their
// own org_id (a row can never point at another tenant's agent); id is also unique on its own
// because Twilio webhook URLs carry only the agent id.
constexpr std::string_view kControlPlaneSchema = R"sql(
CREATE TABLE organisations (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  org_id        TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  email         TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role          TEXT NOT NULL,
  created_at    BIGINT NOT NULL
);
CREATE INDEX users_org_idx ON users (org_id);

CREATE TABLE sessions (
  id_hash    TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  org_id     TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  org_id       TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  role         TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX api_keys_org_idx ON api_keys (org_id);

CREATE TABLE agents (
  org_id             TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  id                 TEXT NOT NULL UNIQUE,
  name               TEXT NOT NULL,
  config_json        TEXT NOT NULL,
  secrets_ciphertext TEXT,
  version            INTEGER NOT NULL DEFAULT 1,
  deployed_state     TEXT,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL,
  PRIMARY KEY (org_id, id)
);
CREATE INDEX agents_org_created_idx ON agents (org_id, created_at);

CREATE TABLE numbers (
  org_id     TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  e164       TEXT NOT NULL PRIMARY KEY,
  agent_id   TEXT,
  created_at BIGINT NOT NULL,
  FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id)
);
CREATE INDEX numbers_org_idx ON numbers (org_id);
CREATE INDEX numbers_agent_idx ON numbers (org_id, agent_id);

CREATE TABLE calls (
  org_id         TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  call_sid       TEXT NOT NULL PRIMARY KEY,
  agent_id       TEXT NOT NULL,
  from_number    TEXT,
  to_number      TEXT,
  started_at     BIGINT NOT NULL,
  ended_at       BIGINT,
  duration_ms    BIGINT,
  outcome        TEXT,
  turns          INTEGER NOT NULL DEFAULT 0,
  transcript_key TEXT,
  recording_key  TEXT,
  metadata_json  TEXT
);
CREATE INDEX calls_org_started_idx ON calls (org_id, started_at DESC);
CREATE INDEX calls_org_agent_started_idx ON calls (org_id, agent_id, started_at);

CREATE TABLE deployments (
  id         TEXT PRIMARY KEY,
  org_id     TEXT NOT NULL,
  agent_id   TEXT NOT NULL,
  state      TEXT NOT NULL,
  steps_json TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  FOREIGN KEY (org_id, agent_id) REFERENCES agents (org_id, id) ON DELETE CASCADE
);
CREATE INDEX deployments_agent_idx ON deployments (org_id, agent_id, created_at);

CREATE TABLE webhook_outbox (
  id              TEXT PRIMARY KEY,
  org_id          TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  agent_id        TEXT NOT NULL,
  url             TEXT NOT NULL,
  body            TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  last_error      TEXT,
  state           TEXT NOT NULL
);
CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (state, next_attempt_at);
CREATE INDEX webhook_outbox_org_idx ON webhook_outbox (org_id);

CREATE TABLE callbacks (
  id                  TEXT PRIMARY KEY,
  org_id              TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  agent_id            TEXT NOT NULL,
  call_sid            TEXT,
  phone               TEXT NOT NULL,
  requested_time_text TEXT,
  created_at          BIGINT NOT NULL
);
CREATE INDEX callbacks_org_created_idx ON callbacks (org_id, created_at);
)sql";

// A call row belongs to its organisation: the key is (org_id, call_sid), so a CallSid that
// another organisation reuses gets a row of its own instead of overwriting the first one's.
// Calls of agents no organisation owns (agents served from files) are kept apart in
// unassigned_calls, which no tenant API reads. SQLite cannot change a primary key in place,
// so the table is rebuilt (the same script runs on PostgreSQL).
constexpr std::string_view kCallsOwnedByOrganisation = R"sql(
CREATE TABLE calls_by_org (
  org_id         TEXT NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  call_sid       TEXT NOT NULL,
  agent_id       TEXT NOT NULL,
  from_number    TEXT,
  to_number      TEXT,
  started_at     BIGINT NOT NULL,
  ended_at       BIGINT,
  duration_ms    BIGINT,
  outcome        TEXT,
  turns          INTEGER NOT NULL DEFAULT 0,
  transcript_key TEXT,
  recording_key  TEXT,
  metadata_json  TEXT,
  PRIMARY KEY (org_id, call_sid)
);
INSERT INTO calls_by_org (org_id, call_sid, agent_id, from_number, to_number, started_at,
                          ended_at, duration_ms, outcome, turns, transcript_key, recording_key,
                          metadata_json)
  SELECT org_id, call_sid, agent_id, from_number, to_number, started_at, ended_at, duration_ms,
         outcome, turns, transcript_key, recording_key, metadata_json FROM calls;
DROP TABLE calls;
ALTER TABLE calls_by_org RENAME TO calls;
CREATE INDEX calls_org_started_idx ON calls (org_id, started_at DESC);
CREATE INDEX calls_org_agent_started_idx ON calls (org_id, agent_id, started_at);

CREATE TABLE unassigned_calls (
  agent_id       TEXT NOT NULL,
  call_sid       TEXT NOT NULL,
  from_number    TEXT,
  to_number      TEXT,
  started_at     BIGINT NOT NULL,
  ended_at       BIGINT,
  duration_ms    BIGINT,
  outcome        TEXT,
  turns          INTEGER NOT NULL DEFAULT 0,
  transcript_key TEXT,
  recording_key  TEXT,
  metadata_json  TEXT,
  PRIMARY KEY (agent_id, call_sid)
);
)sql";

constexpr std::array kBuiltinMigrations = {
    Migration{1, "control_plane_schema", kControlPlaneSchema},
    Migration{2, "calls_owned_by_organisation", kCallsOwnedByOrganisation},
};

constexpr std::string_view kCreateSchemaMigrations = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at BIGINT NOT NULL
))sql";

// pg_advisory_xact_lock key shared by every process migrating the same database ("tempo").
constexpr int64_t kMigrationLockKey = 0x74656d706f;

// Serializes concurrent migrators. SQLite needs nothing: transactions start with BEGIN IMMEDIATE.
Result<void> LockForMigration(Database& tx) {
  if (tx.Dialect() != SqlDialect::kPostgres) return Ok();
  TEMPO_TRY(tx.Query("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey}));
  return Ok();
}

Result<bool> SchemaMigrationsExists(Database& db) {
  if (db.Dialect() == SqlDialect::kPostgres) {
    TEMPO_ASSIGN_OR_RETURN(
        Rows rows, db.Query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present"));
    if (rows.empty()) return false;
    TEMPO_ASSIGN_OR_RETURN(int64_t present, rows[0].GetInt(0));
    return present != 0;
  }
  TEMPO_ASSIGN_OR_RETURN(Rows rows, db.Query("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                             "AND name = 'schema_migrations'"));
  return !rows.empty();
}

Result<int> MaxVersion(Database& db) {
  TEMPO_ASSIGN_OR_RETURN(Rows rows,
                         db.Query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations"));
  if (rows.empty()) return 0;
  TEMPO_ASSIGN_OR_RETURN(int64_t version, rows[0].GetInt(0));
  return static_cast<int>(version);
}

Result<void> CheckNotNewer(int current, int known) {
  if (current <= known) return Ok();
  return Error{ErrorCode::kFailedPrecondition,
               fmt::format("database schema is at version {} but this binary knows only up to {}; "
                           "it was migrated by a newer release: upgrade tempovoice",
                           current, known)};
}

}  // namespace

std::span<const Migration> BuiltinMigrations() { return kBuiltinMigrations; }

Result<int> SchemaVersion(Database& db) {
  TEMPO_ASSIGN_OR_RETURN(bool exists, SchemaMigrationsExists(db));
  if (!exists) return 0;
  return MaxVersion(db);
}

Result<int> Migrate(Database& db, const Clock& clock) {
  return Migrate(db, BuiltinMigrations(), clock);
}

Result<int> Migrate(Database& db, std::span<const Migration> migrations, const Clock& clock) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return InvalidArgument(fmt::format("migration #{} has version {}; versions must be 1..n",
                                         i + 1, migrations[i].version));
    }
  }
  const int known = static_cast<int>(migrations.size());

  auto created = db.Transaction([](Database& tx) -> Result<void> {
    TEMPO_TRY(LockForMigration(tx));
    return tx.ExecuteScript(kCreateSchemaMigrations);
  });
  if (!created) return created.error();
  TEMPO_ASSIGN_OR_RETURN(int current, MaxVersion(db));
  TEMPO_TRY(CheckNotNewer(current, known));

  int applied = 0;
  for (const Migration& migration : migrations) {
    if (migration.version <= current) continue;
    bool did_apply = false;
    auto result = db.Transaction([&](Database& tx) -> Result<void> {
      TEMPO_TRY(LockForMigration(tx));
      // Another process may have migrated while we waited for the lock.
      TEMPO_ASSIGN_OR_RETURN(int now, MaxVersion(tx));
      TEMPO_TRY(CheckNotNewer(now, known));
      if (now >= migration.version) return Ok();
      TEMPO_TRY(tx.ExecuteScript(migration.sql));
      const int64_t applied_at =
          std::chrono::duration_cast<std::chrono::milliseconds>(clock.WallNow().time_since_epoch())
              .count();
      TEMPO_TRY(
          tx.Execute("INSERT INTO schema_migrations (version, name, applied_at) "
                     "VALUES ($1, $2, $3)",
                     {migration.version, migration.name, applied_at}));
      did_apply = true;
      return Ok();
    });
    if (!result) {
      return Error{result.error().code,
                   fmt::format("migration {} ({}) failed: {}", migration.version, migration.name,
                               result.error().message)};
    }
    if (did_apply) {
      ++applied;
      TEMPO_LOG(db, info, "applied migration {} ({})", migration.version, migration.name);
    }
  }
  return applied;
}

}  // namespace tempo::db
