#include "tempo/cli/migrate_command.hpp"

#include "tempo/db/database.hpp"
#include "tempo/db/migrations.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>

namespace tempo::cli {
namespace {

struct MigrateSettings {
  std::string database_url;
  std::string data_dir = "./data";
};

int RunMigrate(const MigrateSettings& s) {
  // The same default as `serve`: a SQLite file in the data directory.
  std::string url = s.database_url;
  if (url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(s.data_dir, ec);
    url = "sqlite://" + (std::filesystem::path(s.data_dir) / "tempo.db").string();
  }
  auto db = db::Open(url);
  if (!db) {
    fmt::print(stderr, "tempovoice migrate: {}\n", db.error().message);
    return 1;
  }
  auto before = db::SchemaVersion(**db);
  auto applied = db::Migrate(**db);
  if (!applied) {
    fmt::print(stderr, "tempovoice migrate: {}\n", applied.error().message);
    return 1;
  }
  auto after = db::SchemaVersion(**db);
  fmt::print("database {}: schema version {} -> {} ({} migration(s) applied)\n",
             (*db)->RedactedUrl(), before ? *before : 0, after ? *after : 0, *applied);
  return 0;
}

}  // namespace

void AddMigrateCommand(CLI::App& app) {
  auto settings = std::make_shared<MigrateSettings>();
  auto* migrate = app.add_subcommand(
      "migrate",
      "Bring the control-plane database schema up to date (serve also does this at start-up)");
  migrate
      ->add_option("--database-url", settings->database_url,
                   "sqlite:///path/tempo.db or postgres://user@host/db "
                   "(default: sqlite://<data-dir>/tempo.db)")
      ->envname("TEMPO_DATABASE_URL");
  migrate->add_option("--data-dir", settings->data_dir, "Data directory")
      ->envname("TEMPO_DATA_DIR")
      ->capture_default_str();
  migrate->callback([settings] { throw CLI::RuntimeError(RunMigrate(*settings)); });
}

}  // namespace tempo::cli
