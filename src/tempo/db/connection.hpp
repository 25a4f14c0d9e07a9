#pragma once

// Internal to tempo::db: the per-backend connection behind a Database. Not part of the API.

#include "tempo/base/result.hpp"
#include "tempo/db/database.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace tempo::db::internal {

/// One raw connection. Not thread-safe: SerializedDatabase guards it with a mutex.
class Connection {
 public:
  virtual ~Connection() = default;
  [[nodiscard]] virtual SqlDialect Dialect() const = 0;
  virtual Result<Rows> Query(std::string_view sql, std::span<const Value> params) = 0;
  virtual Result<int64_t> Execute(std::string_view sql, std::span<const Value> params) = 0;
  virtual Result<void> ExecuteScript(std::string_view sql) = 0;
  virtual Result<void> Begin() = 0;
  virtual Result<void> Commit() = 0;
  /// Must leave the connection outside any transaction, even after a failed Commit.
  virtual Result<void> Rollback() = 0;
};

/// `text` with every password found in `url` replaced by "***" (for messages from libraries
/// that may echo parts of the URL they were given).
std::string ScrubPasswords(std::string text, std::string_view url);

/// Wraps a connection in the thread-safe Database (mutex + transactions with savepoints).
std::unique_ptr<Database> MakeSerializedDatabase(std::unique_ptr<Connection> connection,
                                                 std::string redacted_url);

/// `path` is a file name or ":memory:".
Result<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                               const std::string& redacted_url);

/// `url` is a libpq connection URI.
Result<std::unique_ptr<Connection>> OpenPostgres(const std::string& url,
                                                 const std::string& redacted_url);

}  // namespace tempo::db::internal
