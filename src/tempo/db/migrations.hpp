#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"
#include "tempo/db/database.hpp"

#include <span>
#include <string_view>

namespace tempo::db {

/// One schema change. `sql` is a script (several statements, no parameters) that must run
/// unchanged on SQLite and PostgreSQL. Released migrations are never edited: fix forward.
struct Migration {
  int version;            ///< 1, 2, 3, ... without gaps, in order
  std::string_view name;  ///< short snake_case description, recorded in schema_migrations
  std::string_view sql;
};

/// The migrations compiled into this binary, in version order.
std::span<const Migration> BuiltinMigrations();

/// The highest version in schema_migrations, or 0 for a database never migrated.
/// Errors: those of the database.
Result<int> SchemaVersion(Database& db);

/// Brings the schema up to date with BuiltinMigrations(): creates schema_migrations if needed
/// and applies every pending migration, each in its own transaction together with its
/// schema_migrations row (version, name, applied_at in ms since the epoch from `clock`).
/// Idempotent; safe when several processes migrate at once (PostgreSQL serializes them with
/// an advisory lock, SQLite with its write lock). Returns how many migrations it applied.
/// Errors: kFailedPrecondition when the database has a version this binary does not know
/// (it was migrated by a newer release: refuse rather than run against an unknown schema);
/// the database's error when a migration fails (that migration and later ones stay unapplied).
Result<int> Migrate(Database& db, const Clock& clock = SystemClock::Instance());

/// As above with an explicit list (tests). Precondition: versions ascending, starting at 1.
Result<int> Migrate(Database& db, std::span<const Migration> migrations, const Clock& clock);

}  // namespace tempo::db
