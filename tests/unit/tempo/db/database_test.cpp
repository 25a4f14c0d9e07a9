#include "tempo/db/database.hpp"

#include "db_test_support.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace tempo::db {
namespace {

using testing::Backend;
using testing::DbTest;
using ::testing::HasSubstr;
using ::testing::Not;

Blob AllBytes() {
  Blob blob;
  for (int i = 0; i < 256; ++i) blob.push_back(static_cast<std::byte>(i));
  return blob;
}

class DatabaseTest : public DbTest {
 protected:
  void CreateValuesTable() {
    // The one type name that differs: BYTEA would get NUMERIC affinity in SQLite.
    std::string blob_type = IsPostgres() ? "BYTEA" : "BLOB";
    TEMPO_ASSERT_OK(db_->ExecuteScript(
        "CREATE TABLE vals (id INTEGER PRIMARY KEY, i BIGINT, d DOUBLE PRECISION, s TEXT, b " +
        blob_type + ")"));
  }
};

TEST_P(DatabaseTest, BindsAndReadsBackEveryType) {
  CreateValuesTable();
  const std::vector<std::string> strings = {
      "",
      "it's",
      "Robert'); DROP TABLE vals; --",
      "'; DELETE FROM vals WHERE '1'='1",
      "$1 $2 ? :name @p",
      "\"double\" and back\\slash",
      "\xc3\xbcnic\xc3\xb6"
      "de \xe2\x98\x8e",
  };
  const std::vector<int64_t> ints = {0, -1, 42, std::numeric_limits<int64_t>::max(),
                                     std::numeric_limits<int64_t>::min()};
  const std::vector<double> doubles = {0.0, 0.1, -2.5e300, 1e-300, 3.141592653589793};

  int64_t id = 0;
  std::vector<std::vector<Value>> expected;
  for (std::size_t k = 0; k < strings.size(); ++k) {
    std::vector<Value> row = {Value(id), Value(ints[k % ints.size()]),
                              Value(doubles[k % doubles.size()]), Value(strings[k]),
                              Value(k % 2 == 0 ? AllBytes() : Blob())};
    auto inserted =
        db_->Execute("INSERT INTO vals (id, i, d, s, b) VALUES ($1, $2, $3, $4, $5)", row);
    ASSERT_TRUE(inserted) << inserted.error().ToString();
    EXPECT_EQ(*inserted, 1);
    expected.push_back(std::move(row));
    ++id;
  }
  // A row of NULLs.
  TEMPO_ASSERT_OK(db_->Execute(
      "INSERT INTO vals (id, i, d, s, b) VALUES ($1, $2, $3, $4, $5)",
      {id, Value(), std::nullopt, std::optional<std::string>(), std::optional<Blob>()}));
  expected.push_back({Value(id), Value(), Value(), Value(), Value()});

  auto rows = db_->Query("SELECT id, i, d, s, b FROM vals ORDER BY id");
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), expected.size());
  EXPECT_THAT(rows->columns(), ::testing::ElementsAre("id", "i", "d", "s", "b"));
  for (std::size_t r = 0; r < expected.size(); ++r) {
    for (std::size_t c = 0; c < 5; ++c) {
      EXPECT_EQ((*rows)[r][c], expected[r][c]) << "row " << r << " column " << c;
    }
  }
}

TEST_P(DatabaseTest, ParametersAreNeverInterpretedAsSql) {
  CreateValuesTable();
  const std::string hostile = "x'); DROP TABLE vals; --";
  TEMPO_ASSERT_OK(db_->Execute("INSERT INTO vals (id, s) VALUES ($1, $2)", {1, hostile}));
  auto rows = db_->Query("SELECT id FROM vals WHERE s = $1", {hostile});
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].GetInt("id").value(), 1);
  EXPECT_EQ(Count("vals"), 1);
  // The same text as a statement would do what it says: the table is there only because the
  // value above was bound, not spliced.
  auto none = db_->Query("SELECT id FROM vals WHERE s = $1", {"x"});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(DatabaseTest, SameParameterUsedTwice) {
  auto rows = db_->Query("SELECT $1 + 1 AS a, $1 * 2 AS b", {int64_t{20}});
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetInt("a").value(), 21);
  EXPECT_EQ((*rows)[0].GetInt("b").value(), 40);
}

TEST_P(DatabaseTest, RowGettersCheckTypesAndNames) {
  CreateValuesTable();
  TEMPO_ASSERT_OK(
      db_->Execute("INSERT INTO vals (id, i, d, s) VALUES ($1, $2, $3, $4)", {7, 5, 2.5, "text"}));
  TEMPO_ASSERT_OK(db_->Execute("INSERT INTO vals (id) VALUES ($1)", {8}));
  auto rows = db_->Query("SELECT i, d, s, b FROM vals ORDER BY id");
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  const Row& full = (*rows)[0];
  const Row& empty = (*rows)[1];

  EXPECT_EQ(full.GetInt("i").value(), 5);
  EXPECT_EQ(full.GetDouble("d").value(), 2.5);
  EXPECT_EQ(full.GetDouble("i").value(), 5.0);  // integers widen to double
  EXPECT_EQ(full.GetString("s").value(), "text");
  EXPECT_EQ(full.GetOptionalString(2).value(), std::optional<std::string>("text"));
  EXPECT_EQ(full.IsNull("b").value(), true);

  auto mismatch = full.GetInt("s");
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, ErrorCode::kInternal);
  EXPECT_THAT(mismatch.error().message, HasSubstr("'s'"));
  EXPECT_FALSE(full.GetString("i"));
  EXPECT_FALSE(full.GetBlob("s"));
  EXPECT_FALSE(full.GetString("missing"));
  EXPECT_FALSE(full.GetInt(99));

  EXPECT_FALSE(empty.GetInt("i"));  // NULL is not an integer
  EXPECT_EQ(empty.GetOptionalInt("i").value(), std::nullopt);
  EXPECT_EQ(empty.GetOptionalString("s").value(), std::nullopt);
  EXPECT_EQ(empty.GetOptionalDouble("d").value(), std::nullopt);
  EXPECT_EQ(empty.GetOptionalBlob("b").value(), std::nullopt);
  EXPECT_FALSE(full.GetOptionalInt("s"));  // optional getters still check the type
}

TEST_P(DatabaseTest, ExecuteReturnsRowsAffected) {
  CreateValuesTable();
  for (int i = 0; i < 3; ++i) {
    TEMPO_ASSERT_OK(db_->Execute("INSERT INTO vals (id, i) VALUES ($1, $2)", {i, i * 10}));
  }
  EXPECT_EQ(db_->Execute("UPDATE vals SET s = $1", {"x"}).value(), 3);
  EXPECT_EQ(db_->Execute("UPDATE vals SET s = $1 WHERE i >= $2", {"y", 10}).value(), 2);
  EXPECT_EQ(db_->Execute("DELETE FROM vals WHERE id = $1", {99}).value(), 0);
  EXPECT_EQ(db_->Execute("DELETE FROM vals WHERE id = $1", {0}).value(), 1);
  EXPECT_EQ(Count("vals"), 2);
}

TEST_P(DatabaseTest, AggregatesKeepIntegers) {
  CreateValuesTable();
  TEMPO_ASSERT_OK(
      db_->Execute("INSERT INTO vals (id, i) VALUES ($1, $2)", {1, int64_t{3000000000}}));
  TEMPO_ASSERT_OK(
      db_->Execute("INSERT INTO vals (id, i) VALUES ($1, $2)", {2, int64_t{3000000000}}));
  auto rows = db_->Query("SELECT COUNT(*) AS n, SUM(i) AS total, MAX(i) AS top FROM vals");
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetInt("n").value(), 2);
  EXPECT_EQ((*rows)[0].GetInt("total").value(), 6000000000);  // NUMERIC in PostgreSQL
  EXPECT_EQ((*rows)[0].GetInt("top").value(), 3000000000);
}

TEST_P(DatabaseTest, WrongParameterCountIsInvalidArgument) {
  auto too_few = db_->Query("SELECT $1 AS a, $2 AS b", {1});
  ASSERT_FALSE(too_few);
  EXPECT_EQ(too_few.error().code, ErrorCode::kInvalidArgument) << too_few.error().ToString();
  auto too_many = db_->Query("SELECT $1 AS a", {1, 2});
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, ErrorCode::kInvalidArgument) << too_many.error().ToString();
}

TEST_P(DatabaseTest, PlaceholdersInsideLiteralsAndCommentsAreText) {
  auto rows = db_->Query("SELECT '$2 it''s' AS a, $1 AS \"b$3\" /* $4 */ -- $5\n", {"one"});
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetString("a").value(), "$2 it's");
  EXPECT_EQ((*rows)[0].GetString("b$3").value(), "one");
}

TEST_P(DatabaseTest, OneStatementPerQuery) {
  CreateValuesTable();
  auto r = db_->Execute("INSERT INTO vals (id) VALUES ($1); DELETE FROM vals", {1});
  EXPECT_FALSE(r);
  EXPECT_EQ(Count("vals"), 0);
  // Trailing semicolons and comments are fine.
  TEMPO_EXPECT_OK(db_->Execute("INSERT INTO vals (id) VALUES ($1); -- done", {2}));
  EXPECT_EQ(Count("vals"), 1);
}

TEST_P(DatabaseTest, SyntaxErrorCarriesEngineMessage) {
  auto r = db_->Query("SELEC 1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_THAT(r.error().message, HasSubstr("syntax error"));
}

TEST_P(DatabaseTest, UniqueViolationIsAlreadyExists) {
  CreateValuesTable();
  TEMPO_ASSERT_OK(db_->ExecuteScript("CREATE UNIQUE INDEX vals_s ON vals (s)"));
  TEMPO_ASSERT_OK(db_->Execute("INSERT INTO vals (id, s) VALUES ($1, $2)", {1, "a"}));
  auto same_key = db_->Execute("INSERT INTO vals (id, s) VALUES ($1, $2)", {1, "b"});
  ASSERT_FALSE(same_key);
  EXPECT_EQ(same_key.error().code, ErrorCode::kAlreadyExists) << same_key.error().ToString();
  auto same_unique = db_->Execute("INSERT INTO vals (id, s) VALUES ($1, $2)", {2, "a"});
  ASSERT_FALSE(same_unique);
  EXPECT_EQ(same_unique.error().code, ErrorCode::kAlreadyExists);
  // The connection is still usable.
  TEMPO_EXPECT_OK(db_->Execute("INSERT INTO vals (id, s) VALUES ($1, $2)", {2, "b"}));
  EXPECT_EQ(Count("vals"), 2);
}

TEST_P(DatabaseTest, TransactionCommitsOnOk) {
  CreateValuesTable();
  TEMPO_ASSERT_OK(db_->Transaction([](Database& tx) -> Result<void> {
    TEMPO_TRY(tx.Execute("INSERT INTO vals (id) VALUES ($1)", {1}));
    TEMPO_TRY(tx.Execute("INSERT INTO vals (id) VALUES ($1)", {2}));
    return Ok();
  }));
  auto other = Connect();
  ASSERT_TRUE(other) << other.error().ToString();
  auto rows = (*other)->Query("SELECT COUNT(*) FROM vals");
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetInt(0).value(), 2);  // visible to another connection: committed
}

TEST_P(DatabaseTest, TransactionRollsBackOnErrorAndReturnsIt) {
  CreateValuesTable();
  auto r = db_->Transaction([](Database& tx) -> Result<void> {
    TEMPO_TRY(tx.Execute("INSERT INTO vals (id) VALUES ($1)", {1}));
    return NotFound("the body gave up");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), NotFound("the body gave up"));
  EXPECT_EQ(Count("vals"), 0);
}

TEST_P(DatabaseTest, UniqueViolationInsideTransactionRollsBackEverything) {
  CreateValuesTable();
  auto r = db_->Transaction([](Database& tx) -> Result<void> {
    TEMPO_TRY(tx.Execute("INSERT INTO vals (id) VALUES ($1)", {1}));
    TEMPO_TRY(tx.Execute("INSERT INTO vals (id) VALUES ($1)", {1}));
    return Ok();
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(Count("vals"), 0);
}

TEST_P(DatabaseTest, IgnoredStatementFailureDoomsTheTransaction) {
  CreateValuesTable();
  auto r = db_->Transaction([](Database& tx) -> Result<void> {
    TEMPO_TRY(tx.Execute("INSERT INTO vals (id) VALUES ($1)", {1}));
    (void)tx.Execute("INSERT INTO vals (id) VALUES ($1)", {1});  // fails, ignored
    return Ok();
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_EQ(Count("vals"), 0);
}

TEST_P(DatabaseTest, NestedTransactionIsASavepoint) {
  CreateValuesTable();
  TEMPO_ASSERT_OK(db_->Transaction([](Database& tx) -> Result<void> {
    TEMPO_TRY(tx.Execute("INSERT INTO vals (id) VALUES ($1)", {1}));
    // A tentative insert that collides: only the inner part is undone.
    auto inner = tx.Transaction([](Database& tx2) -> Result<void> {
      TEMPO_TRY(tx2.Execute("INSERT INTO vals (id) VALUES ($1)", {2}));
      TEMPO_TRY(tx2.Execute("INSERT INTO vals (id) VALUES ($1)", {1}));
      return Ok();
    });
    if (inner || inner.error().code != ErrorCode::kAlreadyExists) {
      return Internal("expected the inner transaction to collide");
    }
    return tx.Transaction([](Database& tx2) -> Result<void> {
      TEMPO_TRY(tx2.Execute("INSERT INTO vals (id) VALUES ($1)", {3}));
      return Ok();
    });
  }));
  auto rows = db_->Query("SELECT id FROM vals ORDER BY id");
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].GetInt(0).value(), 1);
  EXPECT_EQ((*rows)[1].GetInt(0).value(), 3);
}

TEST_P(DatabaseTest, ConcurrentUseOfOneObjectIsSerialized) {
  CreateValuesTable();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int64_t id = t * kPerThread + i;
        Result<void> r = Ok();
        if (i % 2 == 0) {
          r = db_->Transaction([&](Database& tx) -> Result<void> {
            TEMPO_TRY(tx.Execute("INSERT INTO vals (id, i) VALUES ($1, $2)", {id, t}));
            return Ok();
          });
        } else if (auto e = db_->Execute("INSERT INTO vals (id, i) VALUES ($1, $2)", {id, t}); !e) {
          r = e.error();
        }
        if (!r) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Count("vals"), kThreads * kPerThread);
}

TEST_P(DatabaseTest, HundredThousandRowsInOneTransaction) {
  CreateValuesTable();
  constexpr int64_t kRows = 100000;
  TEMPO_ASSERT_OK(db_->Transaction([&](Database& tx) -> Result<void> {
    for (int64_t i = 0; i < kRows; ++i) {
      TEMPO_TRY(tx.Execute("INSERT INTO vals (id, i, s) VALUES ($1, $2, $3)",
                           {i, i, "row " + std::to_string(i)}));
    }
    return Ok();
  }));
  auto rows = db_->Query("SELECT COUNT(*) AS n, SUM(i) AS total FROM vals");
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetInt("n").value(), kRows);
  EXPECT_EQ((*rows)[0].GetInt("total").value(), kRows * (kRows - 1) / 2);
}

TEST_P(DatabaseTest, ReportsDialect) {
  EXPECT_EQ(db_->Dialect(), IsPostgres() ? SqlDialect::kPostgres : SqlDialect::kSqlite);
}

INSTANTIATE_TEST_SUITE_P(Backends, DatabaseTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

// --- backend-specific and backend-free cases ---------------------------------------------

class SqliteTest : public DbTest {};

TEST_P(SqliteTest, ConnectionIsConfigured) {
  auto rows = db_->Query(
      "SELECT (SELECT journal_mode FROM pragma_journal_mode) AS journal, "
      "(SELECT foreign_keys FROM pragma_foreign_keys) AS fk, "
      "(SELECT synchronous FROM pragma_synchronous) AS sync, "
      "(SELECT timeout FROM pragma_busy_timeout) AS busy");
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetString("journal").value(), "wal");
  EXPECT_EQ((*rows)[0].GetInt("fk").value(), 1);
  EXPECT_EQ((*rows)[0].GetInt("sync").value(), 1);  // NORMAL
  EXPECT_EQ((*rows)[0].GetInt("busy").value(), 5000);
}

TEST_P(SqliteTest, OnlyDollarNumberPlaceholders) {
  for (const char* sql :
       {"SELECT ?", "SELECT :name", "SELECT @p", "SELECT $1::text", "SELECT $name", "SELECT $0"}) {
    auto r = db_->Query(sql, {1});
    ASSERT_FALSE(r) << sql;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << sql << ": " << r.error().ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SqliteTest, ::testing::Values(Backend::kSqlite),
                         testing::BackendName);

TEST(OpenTest, MemoryDatabase) {
  auto db = Open("sqlite::memory:");
  ASSERT_TRUE(db) << db.error().ToString();
  auto rows = (*db)->Query("SELECT $1 AS x", {"hello"});
  ASSERT_TRUE(rows) << rows.error().ToString();
  EXPECT_EQ((*rows)[0].GetString("x").value(), "hello");
}

TEST(OpenTest, RejectsUnknownSchemesAndEmptyPaths) {
  for (const char* url : {"mysql://u:p@h/db", "", "sqlite:", "sqlite://", "file.db"}) {
    auto db = Open(url);
    ASSERT_FALSE(db) << url;
    EXPECT_EQ(db.error().code, ErrorCode::kInvalidArgument) << url;
  }
}

TEST(OpenTest, UnopenableSqliteFileIsUnavailable) {
  auto db = Open("sqlite:///nonexistent-dir-for-tempo-test/sub/x.db");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::kUnavailable);
}

TEST(OpenTest, UnreachablePostgresIsUnavailableAndHidesPassword) {
  // Port 1 on loopback refuses connections immediately.
  auto db = Open("postgres://tempo:hunter2secret@127.0.0.1:1/tempo?connect_timeout=2");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::kUnavailable);
  EXPECT_THAT(db.error().message, Not(HasSubstr("hunter2secret")));
  EXPECT_THAT(db.error().message, HasSubstr("tempo:***@127.0.0.1:1"));
}

TEST(OpenTest, MalformedPostgresUrlIsInvalidArgumentAndHidesPassword) {
  auto db = Open("postgresql://tempo:hunter2%zz@127.0.0.1:5432/tempo");
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, ErrorCode::kInvalidArgument);
  EXPECT_THAT(db.error().message, Not(HasSubstr("hunter2")));
}

TEST(RedactUrlTest, HidesPasswords) {
  EXPECT_EQ(RedactUrl("postgres://user:pa:ss@host:5432/db"), "postgres://user:***@host:5432/db");
  EXPECT_EQ(RedactUrl("postgresql://user@host/db?password=x&sslmode=require"),
            "postgresql://user@host/db?password=***&sslmode=require");
  EXPECT_EQ(RedactUrl("postgres://user@host/db"), "postgres://user@host/db");
  EXPECT_EQ(RedactUrl("postgres://host/db?x=a@b:c"), "postgres://host/db?x=a@b:c");
  EXPECT_EQ(RedactUrl("sqlite:///var/lib/tempo/tempo.db"), "sqlite:///var/lib/tempo/tempo.db");
  EXPECT_EQ(RedactUrl("host=h password=secret user=u"), "host=h password=*** user=u");
}

}  // namespace
}  // namespace tempo::db
