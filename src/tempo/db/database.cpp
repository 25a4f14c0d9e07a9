#include "tempo/db/database.hpp"

#include "tempo/base/log.hpp"
#include "tempo/db/connection.hpp"

#include <fmt/format.h>

#include <exception>
#include <mutex>
#include <utility>

namespace tempo::db {

std::string_view ToString(ValueType type) {
  switch (type) {
    case ValueType::kNull:
      return "NULL";
    case ValueType::kInt:
      return "INTEGER";
    case ValueType::kDouble:
      return "DOUBLE";
    case ValueType::kText:
      return "TEXT";
    case ValueType::kBlob:
      return "BLOB";
  }
  return "?";
}

std::string_view ToString(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kSqlite:
      return "sqlite";
    case SqlDialect::kPostgres:
      return "postgres";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Row

namespace {

Error TypeMismatch(const Row& row, std::size_t index, ValueType want) {
  return Internal(fmt::format("column {} ('{}') holds {}, expected {}", index, row.columns()[index],
                              ToString(row[index].type()), ToString(want)));
}

// Reads column `index` as T; NULL gives nullopt, another type an error.
template <class T>
Result<std::optional<T>> GetOptionalAs(const Row& row, std::size_t index, ValueType want) {
  TEMPO_ASSIGN_OR_RETURN(const Value* value, row.Get(index));
  if (value->is_null()) return std::optional<T>();
  if constexpr (std::is_same_v<T, double>) {
    if (const auto* i = std::get_if<int64_t>(&value->storage())) {
      return std::optional<T>(static_cast<double>(*i));
    }
  }
  if (const auto* v = std::get_if<T>(&value->storage())) return std::optional<T>(*v);
  return TypeMismatch(row, index, want);
}

template <class T>
Result<T> GetAs(const Row& row, std::size_t index, ValueType want) {
  TEMPO_ASSIGN_OR_RETURN(std::optional<T> value, GetOptionalAs<T>(row, index, want));
  if (!value) {
    return Internal(fmt::format("column {} ('{}') is NULL, expected {}", index,
                                row.columns()[index], ToString(want)));
  }
  return std::move(*value);
}

}  // namespace

Result<std::size_t> Row::IndexOf(std::string_view name) const {
  for (std::size_t i = 0; i < columns_->size(); ++i) {
    if ((*columns_)[i] == name) return i;
  }
  return Internal(fmt::format("result has no column '{}'", name));
}

Result<const Value*> Row::Get(std::size_t index) const {
  if (index >= values_.size()) {
    return Internal(fmt::format("column index {} out of range (row has {})", index, size()));
  }
  return &values_[index];
}

Result<const Value*> Row::Get(std::string_view name) const {
  TEMPO_ASSIGN_OR_RETURN(std::size_t index, IndexOf(name));
  return Get(index);
}

Result<bool> Row::IsNull(std::size_t index) const {
  TEMPO_ASSIGN_OR_RETURN(const Value* value, Get(index));
  return value->is_null();
}

Result<bool> Row::IsNull(std::string_view name) const {
  TEMPO_ASSIGN_OR_RETURN(std::size_t index, IndexOf(name));
  return IsNull(index);
}

// Each by-name getter resolves the index and forwards to the by-index one.
#define TEMPO_DB_ROW_GETTERS_(Name, T, kType)                                    \
  Result<T> Row::Get##Name(std::size_t index) const {                            \
    return GetAs<T>(*this, index, ValueType::kType);                             \
  }                                                                              \
  Result<T> Row::Get##Name(std::string_view name) const {                        \
    TEMPO_ASSIGN_OR_RETURN(std::size_t index, IndexOf(name));                    \
    return Get##Name(index);                                                     \
  }                                                                              \
  Result<std::optional<T>> Row::GetOptional##Name(std::size_t index) const {     \
    return GetOptionalAs<T>(*this, index, ValueType::kType);                     \
  }                                                                              \
  Result<std::optional<T>> Row::GetOptional##Name(std::string_view name) const { \
    TEMPO_ASSIGN_OR_RETURN(std::size_t index, IndexOf(name));                    \
    return GetOptional##Name(index);                                             \
  }

TEMPO_DB_ROW_GETTERS_(String, std::string, kText)
TEMPO_DB_ROW_GETTERS_(Int, int64_t, kInt)
TEMPO_DB_ROW_GETTERS_(Double, double, kDouble)
TEMPO_DB_ROW_GETTERS_(Blob, Blob, kBlob)
#undef TEMPO_DB_ROW_GETTERS_

// ---------------------------------------------------------------------------------------------
// URL handling

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // user:password@ in the authority of scheme://authority/...
  if (auto scheme_end = out.find("://"); scheme_end != std::string::npos) {
    std::size_t authority_begin = scheme_end + 3;
    std::size_t authority_end = out.find_first_of("/?#", authority_begin);
    if (authority_end == std::string::npos) authority_end = out.size();
    std::size_t at = out.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority_begin) {
      std::size_t colon = out.find(':', authority_begin);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  // password=... as a URI query parameter or in a key=value connection string.
  constexpr std::string_view kKey = "password=";
  for (std::size_t pos = out.find(kKey); pos != std::string::npos; pos = out.find(kKey, pos)) {
    std::size_t value_begin = pos + kKey.size();
    std::size_t value_end = out.find_first_of("& #", value_begin);
    if (value_end == std::string::npos) value_end = out.size();
    out.replace(value_begin, value_end - value_begin, "***");
    pos = value_begin + 3;
  }
  return out;
}

namespace internal {

std::string ScrubPasswords(std::string text, std::string_view url) {
  std::vector<std::string> secrets;
  if (auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
    std::size_t authority_begin = scheme_end + 3;
    std::size_t authority_end = url.find_first_of("/?#", authority_begin);
    if (authority_end == std::string_view::npos) authority_end = url.size();
    std::size_t at = url.rfind('@', authority_end);
    if (at != std::string_view::npos && at >= authority_begin) {
      std::size_t colon = url.find(':', authority_begin);
      if (colon != std::string_view::npos && colon < at) {
        secrets.emplace_back(url.substr(colon + 1, at - colon - 1));
      }
    }
  }
  constexpr std::string_view kKey = "password=";
  for (std::size_t pos = url.find(kKey); pos != std::string_view::npos;
       pos = url.find(kKey, pos + kKey.size())) {
    std::size_t value_begin = pos + kKey.size();
    std::size_t value_end = url.find_first_of("& #", value_begin);
    if (value_end == std::string_view::npos) value_end = url.size();
    secrets.emplace_back(url.substr(value_begin, value_end - value_begin));
  }
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t pos = text.find(secret); pos != std::string::npos;
         pos = text.find(secret, pos + 3)) {
      text.replace(pos, secret.size(), "***");
    }
  }
  return text;
}

}  // namespace internal

Result<std::unique_ptr<Database>> Open(std::string_view url) {
  std::string redacted = RedactUrl(url);
  if (url.starts_with("sqlite:")) {
    std::string_view rest = url.substr(std::string_view("sqlite:").size());
    std::string path;
    if (rest == ":memory:") {
      path = ":memory:";
    } else if (rest.starts_with("//")) {
      path = std::string(rest.substr(2));  // sqlite:///abs -> /abs, sqlite://rel -> rel
    } else {
      path = std::string(rest);
    }
    if (path.empty()) return InvalidArgument(fmt::format("no file path in '{}'", redacted));
    TEMPO_ASSIGN_OR_RETURN(auto connection, internal::OpenSqlite(path, redacted));
    TEMPO_LOG(db, info, "opened {}", redacted);
    return internal::MakeSerializedDatabase(std::move(connection), std::move(redacted));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    TEMPO_ASSIGN_OR_RETURN(auto connection, internal::OpenPostgres(std::string(url), redacted));
    TEMPO_LOG(db, info, "connected to {}", redacted);
    return internal::MakeSerializedDatabase(std::move(connection), std::move(redacted));
  }
  return InvalidArgument(fmt::format(
      "unsupported database URL '{}' (expected sqlite:<path>, sqlite::memory: or postgres://...)",
      redacted));
}

// ---------------------------------------------------------------------------------------------
// Serialization and transactions (shared by both backends)

namespace internal {
namespace {

// Rolls back after a failed body or commit; a failing rollback is only logged, because the
// caller needs the original error more than this one.
void RollbackQuietly(Connection& connection, std::string_view what) {
  if (auto r = connection.Rollback(); !r) {
    TEMPO_LOG(db, warn, "rollback of {} failed: {}", what, r.error());
  }
}

Error IgnoredFailure() {
  return Internal(
      "transaction rolled back: a statement in it failed but the transaction body returned Ok "
      "(wrap statements that may fail in a nested Transaction)");
}

// The Database handed to a transaction body: same connection, no locking (the outer
// SerializedDatabase already holds the mutex), nested transactions as savepoints.
// A statement that fails directly in a scope dooms the scope even if the body ignores the
// error: PostgreSQL aborts the transaction anyway, and SQLite is made to behave the same.
class TransactionScope final : public Database {
 public:
  TransactionScope(Connection& connection, const std::string& redacted_url, int depth)
      : connection_(connection), redacted_url_(redacted_url), depth_(depth) {}

  [[nodiscard]] SqlDialect Dialect() const override { return connection_.Dialect(); }
  [[nodiscard]] const std::string& RedactedUrl() const override { return redacted_url_; }
  [[nodiscard]] bool failed() const { return failed_; }

 protected:
  Result<Rows> DoQuery(std::string_view sql, std::span<const Value> params) override {
    return Track(connection_.Query(sql, params));
  }
  Result<int64_t> DoExecute(std::string_view sql, std::span<const Value> params) override {
    return Track(connection_.Execute(sql, params));
  }
  Result<void> DoExecuteScript(std::string_view sql) override {
    return Track(connection_.ExecuteScript(sql));
  }
  Result<void> DoTransaction(const TransactionBody& body) override {
    std::string savepoint = fmt::format("tempo_sp_{}", depth_);
    TEMPO_TRY(Track(connection_.ExecuteScript("SAVEPOINT " + savepoint)));
    TransactionScope inner(connection_, redacted_url_, depth_ + 1);
    auto undo = [&] {
      // ROLLBACK TO keeps the savepoint; RELEASE drops it so the names can be reused.
      if (auto r = connection_.ExecuteScript(
              fmt::format("ROLLBACK TO SAVEPOINT {0}; RELEASE SAVEPOINT {0}", savepoint));
          !r) {
        failed_ = true;
        TEMPO_LOG(db, warn, "rollback to savepoint failed: {}", r.error());
      }
    };
    Result<void> result = Ok();
    try {
      result = body(inner);
    } catch (...) {
      undo();
      throw;
    }
    if (result && inner.failed()) result = IgnoredFailure();
    if (!result) {
      undo();
      return result;
    }
    return Track(connection_.ExecuteScript("RELEASE SAVEPOINT " + savepoint));
  }

 private:
  template <class T>
  Result<T> Track(Result<T> result) {
    if (!result) failed_ = true;
    return result;
  }

  Connection& connection_;
  const std::string& redacted_url_;
  int depth_;
  bool failed_ = false;
};

class SerializedDatabase final : public Database {
 public:
  SerializedDatabase(std::unique_ptr<Connection> connection, std::string redacted_url)
      : connection_(std::move(connection)), redacted_url_(std::move(redacted_url)) {}

  [[nodiscard]] SqlDialect Dialect() const override { return connection_->Dialect(); }
  [[nodiscard]] const std::string& RedactedUrl() const override { return redacted_url_; }

 protected:
  Result<Rows> DoQuery(std::string_view sql, std::span<const Value> params) override {
    std::lock_guard lock(mutex_);
    return connection_->Query(sql, params);
  }
  Result<int64_t> DoExecute(std::string_view sql, std::span<const Value> params) override {
    std::lock_guard lock(mutex_);
    return connection_->Execute(sql, params);
  }
  Result<void> DoExecuteScript(std::string_view sql) override {
    std::lock_guard lock(mutex_);
    return connection_->ExecuteScript(sql);
  }
  Result<void> DoTransaction(const TransactionBody& body) override {
    std::lock_guard lock(mutex_);
    TEMPO_TRY(connection_->Begin());
    TransactionScope scope(*connection_, redacted_url_, 1);
    Result<void> result = Ok();
    try {
      result = body(scope);
    } catch (...) {
      RollbackQuietly(*connection_, "a transaction whose body threw");
      throw;
    }
    if (result && scope.failed()) result = IgnoredFailure();
    if (!result) {
      RollbackQuietly(*connection_, "a failed transaction");
      return result;
    }
    if (auto committed = connection_->Commit(); !committed) {
      RollbackQuietly(*connection_, "a transaction whose commit failed");
      return committed;
    }
    return Ok();
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
  std::string redacted_url_;
};

}  // namespace

std::unique_ptr<Database> MakeSerializedDatabase(std::unique_ptr<Connection> connection,
                                                 std::string redacted_url) {
  return std::make_unique<SerializedDatabase>(std::move(connection), std::move(redacted_url));
}

}  // namespace internal
}  // namespace tempo::db
