#include "tempo/db/migrations.hpp"

#include "tempo/base/clock.hpp"

#include "db_test_support.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <thread>

namespace tempo::db {
namespace {

using testing::Backend;
using testing::DbTest;
using ::testing::HasSubstr;

// 2023-11-14T22:13:20Z
constexpr int64_t kStartMs = 1700000000000;

class MigrationsTest : public DbTest {
 protected:
  FakeClock clock_{Clock::Wall::time_point(std::chrono::milliseconds(kStartMs))};

  bool TableExists(std::string_view table) {
    return static_cast<bool>(db_->Query("SELECT COUNT(*) FROM " + std::string(table)));
  }
};

TEST_P(MigrationsTest, AppliesBuiltinMigrationsOnceAndIsIdempotent) {
  const int known = static_cast<int>(BuiltinMigrations().size());
  ASSERT_GE(known, 1);
  EXPECT_EQ(SchemaVersion(*db_).value(), 0);

  auto applied = Migrate(*db_, BuiltinMigrations(), clock_);
  ASSERT_TRUE(applied) << applied.error().ToString();
  EXPECT_EQ(*applied, known);
  EXPECT_EQ(SchemaVersion(*db_).value(), known);

  auto again = Migrate(*db_, BuiltinMigrations(), clock_);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(*again, 0);

  auto rows =
      db_->Query("SELECT version, name, applied_at FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), static_cast<std::size_t>(known));
  EXPECT_EQ((*rows)[0].GetInt("version").value(), 1);
  EXPECT_EQ((*rows)[0].GetString("name").value(), std::string(BuiltinMigrations()[0].name));
  EXPECT_EQ((*rows)[0].GetInt("applied_at").value(), kStartMs);

  for (const char* table : {"organisations", "users", "sessions", "api_keys", "agents", "numbers",
                            "calls", "deployments", "webhook_outbox", "callbacks"}) {
    EXPECT_TRUE(TableExists(table)) << table;
  }
}

TEST_P(MigrationsTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  auto other = Connect();
  ASSERT_TRUE(other) << other.error().ToString();
  Result<int> first = 0;
  Result<int> second = 0;
  std::thread a([&] { first = Migrate(*db_, BuiltinMigrations(), clock_); });
  std::thread b([&] { second = Migrate(**other, BuiltinMigrations(), clock_); });
  a.join();
  b.join();
  ASSERT_TRUE(first) << first.error().ToString();
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(*first + *second, static_cast<int>(BuiltinMigrations().size()));
  EXPECT_EQ(Count("schema_migrations"), static_cast<int64_t>(BuiltinMigrations().size()));
}

TEST_P(MigrationsTest, RefusesADatabaseFromANewerRelease) {
  TEMPO_ASSERT_OK(Migrate(*db_, BuiltinMigrations(), clock_));
  TEMPO_ASSERT_OK(
      db_->Execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                   {999, "from_the_future", kStartMs}));
  auto r = Migrate(*db_, BuiltinMigrations(), clock_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_THAT(r.error().message, HasSubstr("999"));
}

constexpr std::array kFirst = {
    Migration{1, "create_a", "CREATE TABLE a (id TEXT PRIMARY KEY); CREATE INDEX a_id ON a (id);"},
};
constexpr std::array kBroken = {
    kFirst[0],
    Migration{2, "create_b_then_fail",
              "CREATE TABLE b (id TEXT PRIMARY KEY); INSERT INTO no_such_table VALUES (1);"},
};
constexpr std::array kFixed = {
    kFirst[0],
    Migration{2, "create_b", "CREATE TABLE b (id TEXT PRIMARY KEY);"},
    Migration{3, "add_b_name", "ALTER TABLE b ADD COLUMN name TEXT;"},
};

TEST_P(MigrationsTest, AppliesOnlyPendingMigrations) {
  EXPECT_EQ(Migrate(*db_, kFirst, clock_).value(), 1);
  EXPECT_FALSE(TableExists("b"));
  EXPECT_EQ(Migrate(*db_, kFixed, clock_).value(), 2);
  EXPECT_EQ(SchemaVersion(*db_).value(), 3);
  TEMPO_EXPECT_OK(db_->Execute("INSERT INTO b (id, name) VALUES ($1, $2)", {"x", "y"}));
}

TEST_P(MigrationsTest, FailedMigrationLeavesNoTrace) {
  auto r = Migrate(*db_, kBroken, clock_);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("create_b_then_fail"));
  EXPECT_EQ(SchemaVersion(*db_).value(), 1);  // migration 1 stays applied
  EXPECT_TRUE(TableExists("a"));
  EXPECT_FALSE(TableExists("b"));  // the DDL of migration 2 was rolled back with it
  EXPECT_EQ(Migrate(*db_, kFixed, clock_).value(), 2);
}

TEST_P(MigrationsTest, RejectsMisnumberedLists) {
  constexpr std::array kGap = {kFirst[0], Migration{3, "gap", "SELECT 1;"}};
  auto r = Migrate(*db_, kGap, clock_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

// The schema itself: tenant integrity is enforced by the database, not only by the code.
class SchemaTest : public MigrationsTest {
 protected:
  void SetUp() override {
    MigrationsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    TEMPO_ASSERT_OK(Migrate(*db_, clock_));
    for (const char* org : {"o1", "o2"}) {
      TEMPO_ASSERT_OK(
          db_->Execute("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)",
                       {org, std::string("Org ") + org, kStartMs}));
    }
    TEMPO_ASSERT_OK(InsertAgent("o1", "a1"));
  }

  Result<int64_t> InsertAgent(std::string_view org, std::string_view id) {
    return db_->Execute(
        "INSERT INTO agents (org_id, id, name, config_json, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $5)",
        {org, id, "Agent", "{}", kStartMs});
  }
};

TEST_P(SchemaTest, AgentIdsAreGloballyUnique) {
  auto r = InsertAgent("o2", "a1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
  auto rows = db_->Query("SELECT version, deployed_state FROM agents WHERE id = $1", {"a1"});
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetInt("version").value(), 1);
  EXPECT_EQ((*rows)[0].GetOptionalString("deployed_state").value(), std::nullopt);
}

TEST_P(SchemaTest, NumbersCannotPointAtAnotherTenantsAgent) {
  const char* sql =
      "INSERT INTO numbers (org_id, e164, agent_id, created_at) VALUES ($1, $2, $3, $4)";
  auto cross = db_->Execute(sql, {"o2", "+15550000001", "a1", kStartMs});
  ASSERT_FALSE(cross);
  EXPECT_EQ(cross.error().code, ErrorCode::kFailedPrecondition) << cross.error().ToString();
  TEMPO_EXPECT_OK(db_->Execute(sql, {"o1", "+15550000001", "a1", kStartMs}));
  TEMPO_EXPECT_OK(db_->Execute(sql, {"o2", "+15550000002", Value(), kStartMs}));  // unassigned
  auto taken = db_->Execute(sql, {"o2", "+15550000001", Value(), kStartMs});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(SchemaTest, AgentWithAssignedNumbersCannotBeDeleted) {
  TEMPO_ASSERT_OK(db_->Execute(
      "INSERT INTO numbers (org_id, e164, agent_id, created_at) VALUES ($1, $2, $3, $4)",
      {"o1", "+15550000001", "a1", kStartMs}));
  auto r = db_->Execute("DELETE FROM agents WHERE org_id = $1 AND id = $2", {"o1", "a1"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition) << r.error().ToString();
  TEMPO_ASSERT_OK(
      db_->Execute("UPDATE numbers SET agent_id = NULL WHERE e164 = $1", {"+15550000001"}));
  EXPECT_EQ(db_->Execute("DELETE FROM agents WHERE org_id = $1 AND id = $2", {"o1", "a1"}).value(),
            1);
}

TEST_P(SchemaTest, EmailsAndKeyHashesAreUnique) {
  const char* user_sql =
      "INSERT INTO users (id, org_id, email, password_hash, role, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6)";
  TEMPO_ASSERT_OK(db_->Execute(user_sql, {"u1", "o1", "a@example.com", "h", "admin", kStartMs}));
  auto dup = db_->Execute(user_sql, {"u2", "o2", "a@example.com", "h", "admin", kStartMs});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);

  const char* key_sql =
      "INSERT INTO api_keys (id, org_id, name, key_hash, role, created_at) "
      "VALUES ($1, $2, $3, $4, $5, $6)";
  TEMPO_ASSERT_OK(db_->Execute(key_sql, {"k1", "o1", "ci", "hash1", "editor", kStartMs}));
  auto dup_key = db_->Execute(key_sql, {"k2", "o2", "ci", "hash1", "editor", kStartMs});
  ASSERT_FALSE(dup_key);
  EXPECT_EQ(dup_key.error().code, ErrorCode::kAlreadyExists);
}

TEST_P(SchemaTest, CallsListNewestFirstPerTenant) {
  const char* sql =
      "INSERT INTO calls (org_id, call_sid, agent_id, from_number, to_number, started_at) "
      "VALUES ($1, $2, $3, $4, $5, $6)";
  TEMPO_ASSERT_OK(db_->Execute(sql, {"o1", "CA1", "a1", "+1", "+2", kStartMs}));
  TEMPO_ASSERT_OK(db_->Execute(sql, {"o1", "CA2", "a1", "+1", "+2", kStartMs + 1000}));
  TEMPO_ASSERT_OK(db_->Execute(sql, {"o2", "CA3", "a9", "+1", "+2", kStartMs + 2000}));
  auto rows = db_->Query(
      "SELECT call_sid, turns FROM calls WHERE org_id = $1 ORDER BY started_at DESC LIMIT $2",
      {"o1", 10});
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].GetString("call_sid").value(), "CA2");
  EXPECT_EQ((*rows)[1].GetString("call_sid").value(), "CA1");
  EXPECT_EQ((*rows)[0].GetInt("turns").value(), 0);
}

TEST_P(SchemaTest, DeletingAnOrganisationRemovesItsRows) {
  TEMPO_ASSERT_OK(db_->Execute(
      "INSERT INTO numbers (org_id, e164, agent_id, created_at) VALUES ($1, $2, $3, $4)",
      {"o1", "+15550000001", "a1", kStartMs}));
  TEMPO_ASSERT_OK(db_->Execute(
      "INSERT INTO deployments (id, org_id, agent_id, state, steps_json, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $6)",
      {"d1", "o1", "a1", "done", "[]", kStartMs}));
  TEMPO_ASSERT_OK(InsertAgent("o2", "a2"));
  TEMPO_ASSERT_OK(db_->Execute("DELETE FROM organisations WHERE id = $1", {"o1"}));
  EXPECT_EQ(Count("agents"), 1);
  EXPECT_EQ(Count("numbers"), 0);
  EXPECT_EQ(Count("deployments"), 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, MigrationsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, SchemaTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace tempo::db
