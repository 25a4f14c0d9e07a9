#pragma once

#include "tempo/db/database.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

namespace tempo::db::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

#define TEMPO_ASSERT_OK(expr)                                   \
  do {                                                          \
    auto tempo_ok_r_ = (expr);                                  \
    ASSERT_TRUE(tempo_ok_r_) << tempo_ok_r_.error().ToString(); \
  } while (0)

#define TEMPO_EXPECT_OK(expr)                                   \
  do {                                                          \
    auto tempo_ok_r_ = (expr);                                  \
    EXPECT_TRUE(tempo_ok_r_) << tempo_ok_r_.error().ToString(); \
  } while (0)

/// Gives each test a database of its own: a SQLite file in a fresh temp directory, or a fresh
/// schema in the PostgreSQL database named by TEMPO_TEST_POSTGRES_URL (dropped afterwards),
/// so reruns and parallel runs never collide.
class DbTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::random_device random;
    std::string suffix = std::to_string(random()) + std::to_string(random());
    if (GetParam() == Backend::kSqlite) {
      dir_ = std::filesystem::temp_directory_path() / ("tempo_db_test_" + suffix);
      std::filesystem::create_directories(dir_);
      url_ = "sqlite://" + (dir_ / "test.db").string();
    } else {
      const char* url = std::getenv("TEMPO_TEST_POSTGRES_URL");
      if (url == nullptr || *url == '\0') {
        GTEST_SKIP() << "TEMPO_TEST_POSTGRES_URL is not set; start a throw-away server with "
                        "`export \"$(tools/pg-test-cluster.sh)\"` to run the PostgreSQL variant";
      }
      url_ = url;
      schema_ = "test_" + suffix;
      auto admin = Open(url_);
      ASSERT_TRUE(admin) << admin.error().ToString();
      admin_ = std::move(*admin);
      TEMPO_ASSERT_OK(admin_->ExecuteScript("CREATE SCHEMA " + schema_));
    }
    auto db = Connect();
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
  }

  void TearDown() override {
    db_.reset();
    if (admin_) TEMPO_EXPECT_OK(admin_->ExecuteScript("DROP SCHEMA " + schema_ + " CASCADE"));
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  /// Another connection to the same test database.
  Result<std::unique_ptr<Database>> Connect() {
    TEMPO_ASSIGN_OR_RETURN(auto db, Open(url_));
    if (!schema_.empty()) TEMPO_TRY(db->ExecuteScript("SET search_path TO " + schema_));
    return db;
  }

  [[nodiscard]] bool IsPostgres() const { return GetParam() == Backend::kPostgres; }

  int64_t Count(std::string_view table) {
    auto rows = db_->Query("SELECT COUNT(*) FROM " + std::string(table));
    if (!rows) {
      ADD_FAILURE() << rows.error().ToString();
      return -1;
    }
    return (*rows)[0].GetInt(0).value();
  }

  std::unique_ptr<Database> db_;

 private:
  std::string url_;
  std::filesystem::path dir_;
  std::string schema_;
  std::unique_ptr<Database> admin_;
};

}  // namespace tempo::db::testing
