// SQLite backend: raw sqlite3 C API, PostgreSQL-style $N placeholders bound by name.

#include "tempo/base/log.hpp"
#include "tempo/db/connection.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <sqlite3.h>
#include <unordered_map>

namespace tempo::db::internal {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// Prepared statements kept per connection; the control plane uses a few dozen distinct ones.
constexpr std::size_t kStatementCacheSize = 128;

struct StatementDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StatementPtr = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

Error MapError(sqlite3* db, int code, std::string_view context) {
  std::string message = fmt::format("sqlite: {}: {}", context, sqlite3_errmsg(db));
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return {ErrorCode::kAlreadyExists, std::move(message)};
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return {ErrorCode::kFailedPrecondition, std::move(message)};
    case SQLITE_RANGE:
      return InvalidArgument(std::move(message));
    default:
      break;
  }
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(message));
    default:
      return Internal(std::move(message));
  }
}

// Resets a statement on scope exit so the next user finds it clean and no read lock lingers.
class StatementUse {
 public:
  explicit StatementUse(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StatementUse() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(DbPtr db) : db_(std::move(db)) {}

  ~SqliteConnection() override {
    statements_.clear();  // finalize before the handle closes
  }

  [[nodiscard]] SqlDialect Dialect() const override { return SqlDialect::kSqlite; }

  Result<Rows> Query(std::string_view sql, std::span<const Value> params) override {
    TEMPO_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    StatementUse use(stmt);
    TEMPO_TRY(Bind(stmt, params));
    const int column_count = sqlite3_column_count(stmt);
    std::vector<std::string> names;
    names.reserve(column_count);
    for (int i = 0; i < column_count; ++i) {
      const char* name = sqlite3_column_name(stmt, i);
      names.emplace_back(name != nullptr ? name : "");
    }
    auto columns = std::make_shared<const std::vector<std::string>>(std::move(names));
    std::vector<Row> rows;
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) return MapError(db_.get(), rc, "query failed");
      std::vector<Value> values;
      values.reserve(column_count);
      for (int i = 0; i < column_count; ++i) values.push_back(ReadColumn(stmt, i));
      rows.emplace_back(columns, std::move(values));
    }
    return Rows(std::move(columns), std::move(rows));
  }

  Result<int64_t> Execute(std::string_view sql, std::span<const Value> params) override {
    TEMPO_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, Prepare(sql));
    StatementUse use(stmt);
    TEMPO_TRY(Bind(stmt, params));
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) return MapError(db_.get(), rc, "statement failed");
    // sqlite3_changes reports the last writing statement, so a read would report stale counts.
    if (sqlite3_stmt_readonly(stmt) != 0) return int64_t{0};
    return static_cast<int64_t>(sqlite3_changes64(db_.get()));
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    std::string text(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &message);
    sqlite3_free(message);  // sqlite3_errmsg carries the same text
    if (rc != SQLITE_OK) return MapError(db_.get(), sqlite3_extended_errcode(db_.get()), "script");
    return Ok();
  }

  // IMMEDIATE takes the write lock up front: two deferred transactions that both upgrade to
  // writing would make one fail with SQLITE_BUSY regardless of the busy timeout.
  Result<void> Begin() override { return ExecuteScript("BEGIN IMMEDIATE"); }
  Result<void> Commit() override { return ExecuteScript("COMMIT"); }
  Result<void> Rollback() override {
    // Some errors (e.g. SQLITE_FULL) roll back by themselves; then there is nothing to do.
    if (sqlite3_get_autocommit(db_.get()) != 0) return Ok();
    return ExecuteScript("ROLLBACK");
  }

 private:
  Result<sqlite3_stmt*> Prepare(std::string_view sql) {
    std::string key(sql);
    if (auto it = statements_.find(key); it != statements_.end()) return it->second.get();
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, &tail);
    StatementPtr stmt(raw);
    if (rc != SQLITE_OK) return MapError(db_.get(), rc, "prepare failed");
    if (!stmt) return InvalidArgument("sqlite: empty statement");
    // Only whitespace, comments or ';' may follow: a second statement would be ignored silently.
    const char* end = sql.data() + sql.size();
    while (tail != nullptr && tail < end) {
      sqlite3_stmt* extra = nullptr;
      const char* next = nullptr;
      rc = sqlite3_prepare_v2(db_.get(), tail, static_cast<int>(end - tail), &extra, &next);
      sqlite3_finalize(extra);
      if (rc != SQLITE_OK || extra != nullptr) {
        return InvalidArgument(
            "sqlite: more than one statement; use ExecuteScript for scripts without parameters");
      }
      if (next == tail) break;
      tail = next;
    }
    if (statements_.size() >= kStatementCacheSize) statements_.clear();
    sqlite3_stmt* result = stmt.get();
    statements_.emplace(std::move(key), std::move(stmt));
    return result;
  }

  static Result<void> Bind(sqlite3_stmt* stmt, std::span<const Value> params) {
    const int count = sqlite3_bind_parameter_count(stmt);
    std::size_t highest = 0;
    for (int i = 1; i <= count; ++i) {
      const char* name = sqlite3_bind_parameter_name(stmt, i);
      std::size_t number = 0;
      std::string_view text = name != nullptr ? std::string_view(name) : std::string_view("?");
      auto [ptr, ec] = text.size() > 1 && text[0] == '$'
                           ? std::from_chars(text.data() + 1, text.data() + text.size(), number)
                           : std::from_chars_result{text.data(), std::errc::invalid_argument};
      if (ec != std::errc() || ptr != text.data() + text.size() || number == 0) {
        return InvalidArgument(fmt::format(
            "sqlite: unsupported placeholder '{}' (use $1..$n; write CAST($1 AS T), not $1::T)",
            text));
      }
      if (number > params.size()) {
        return InvalidArgument(fmt::format("sqlite: statement uses ${} but {} parameter(s) given",
                                           number, params.size()));
      }
      highest = std::max(highest, number);
      const Value& value = params[number - 1];
      int rc = SQLITE_OK;
      // SQLITE_STATIC: `params` outlives the statement's use (StatementUse clears bindings).
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              rc = sqlite3_bind_null(stmt, i);
            } else if constexpr (std::is_same_v<T, int64_t>) {
              rc = sqlite3_bind_int64(stmt, i, v);
            } else if constexpr (std::is_same_v<T, double>) {
              rc = sqlite3_bind_double(stmt, i, v);
            } else if constexpr (std::is_same_v<T, std::string>) {
              rc = sqlite3_bind_text64(stmt, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
            } else {
              // A null data pointer would bind NULL instead of an empty blob.
              rc = v.empty() ? sqlite3_bind_zeroblob(stmt, i, 0)
                             : sqlite3_bind_blob64(stmt, i, v.data(), v.size(), SQLITE_STATIC);
            }
          },
          value.storage());
      if (rc != SQLITE_OK) {
        return MapError(sqlite3_db_handle(stmt), rc, fmt::format("binding ${}", number));
      }
    }
    if (highest != params.size()) {
      return InvalidArgument(fmt::format("sqlite: {} parameter(s) given but statement uses {}",
                                         params.size(), highest));
    }
    return Ok();
  }

  static Value ReadColumn(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        return Value(static_cast<int64_t>(sqlite3_column_int64(stmt, i)));
      case SQLITE_FLOAT:
        return Value(sqlite3_column_double(stmt, i));
      case SQLITE_TEXT: {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
        return Value(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, i))));
      }
      case SQLITE_BLOB: {
        const auto* data = static_cast<const std::byte*>(sqlite3_column_blob(stmt, i));
        auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, i));
        return Value(data == nullptr ? Blob() : Blob(data, data + size));
      }
      default:
        return Value();
    }
  }

  DbPtr db_;
  std::unordered_map<std::string, StatementPtr> statements_;
};

}  // namespace

Result<std::unique_ptr<Connection>> OpenSqlite(const std::string& path,
                                               const std::string& redacted_url) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
      nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    std::string why = raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return Unavailable(fmt::format("sqlite: cannot open {}: {}", redacted_url, why));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  // WAL lets readers on other connections proceed during a write; NORMAL is durable across
  // application crashes in WAL mode and only risks the last commits on power loss.
  char* message = nullptr;
  rc = sqlite3_exec(db.get(),
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                    nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) {
    return Unavailable(
        fmt::format("sqlite: cannot configure {}: {}", redacted_url, sqlite3_errmsg(db.get())));
  }
  return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(std::move(db)));
}

}  // namespace tempo::db::internal
