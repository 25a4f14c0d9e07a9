#pragma once

#include "tempo/base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tempo::db {

/// Bytes stored in a BLOB (SQLite) or BYTEA (PostgreSQL) column.
using Blob = std::vector<std::byte>;

/// The storage class of a Value, for error messages and branching.
enum class ValueType { kNull, kInt, kDouble, kText, kBlob };

std::string_view ToString(ValueType type);

/// One SQL value: a bound parameter or a result cell.
/// Integers of every width come back as kInt; NUMERIC results that are whole numbers too.
class Value {
 public:
  using Storage = std::variant<std::monostate, int64_t, double, std::string, Blob>;

  /// SQL NULL.
  Value() = default;
  Value(std::nullopt_t) {}                // NOLINT(google-explicit-constructor): reads like SQL
  Value(int64_t v) : storage_(v) {}       // NOLINT(google-explicit-constructor)
  Value(int v) : storage_(int64_t{v}) {}  // NOLINT(google-explicit-constructor)
  Value(double v) : storage_(v) {}        // NOLINT(google-explicit-constructor)
  Value(std::string v) : storage_(std::move(v)) {}         // NOLINT(google-explicit-constructor)
  Value(std::string_view v) : storage_(std::string(v)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* v) : storage_(std::string(v)) {}       // NOLINT(google-explicit-constructor)
  Value(Blob v) : storage_(std::move(v)) {}                // NOLINT(google-explicit-constructor)
  /// A nullable column: NULL when empty.
  template <class T>
  Value(std::optional<T> v) {  // NOLINT(google-explicit-constructor)
    if (v) *this = Value(std::move(*v));
  }
  /// Booleans have no portable column type here; store 0/1 explicitly.
  Value(bool) = delete;

  [[nodiscard]] ValueType type() const { return static_cast<ValueType>(storage_.index()); }
  [[nodiscard]] bool is_null() const { return type() == ValueType::kNull; }
  [[nodiscard]] const Storage& storage() const { return storage_; }

  friend bool operator==(const Value&, const Value&) = default;

 private:
  Storage storage_;
};

/// One result row. Getters fail with kInternal when the column is missing or holds another
/// type (a schema/code mismatch, not a user error). Non-optional getters also fail on NULL.
class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
      : columns_(std::move(columns)), values_(std::move(values)) {}

  [[nodiscard]] std::size_t size() const { return values_.size(); }
  [[nodiscard]] const std::vector<std::string>& columns() const { return *columns_; }
  /// The raw cell; precondition: index < size().
  [[nodiscard]] const Value& operator[](std::size_t index) const { return values_[index]; }

  /// The index of a column by (case-sensitive) name.
  [[nodiscard]] Result<std::size_t> IndexOf(std::string_view name) const;
  [[nodiscard]] Result<const Value*> Get(std::size_t index) const;
  [[nodiscard]] Result<const Value*> Get(std::string_view name) const;
  [[nodiscard]] Result<bool> IsNull(std::size_t index) const;
  [[nodiscard]] Result<bool> IsNull(std::string_view name) const;

  [[nodiscard]] Result<std::string> GetString(std::size_t index) const;
  [[nodiscard]] Result<std::string> GetString(std::string_view name) const;
  [[nodiscard]] Result<int64_t> GetInt(std::size_t index) const;
  [[nodiscard]] Result<int64_t> GetInt(std::string_view name) const;
  /// Accepts integer cells too (SQL arithmetic may yield either).
  [[nodiscard]] Result<double> GetDouble(std::size_t index) const;
  [[nodiscard]] Result<double> GetDouble(std::string_view name) const;
  [[nodiscard]] Result<Blob> GetBlob(std::size_t index) const;
  [[nodiscard]] Result<Blob> GetBlob(std::string_view name) const;

  [[nodiscard]] Result<std::optional<std::string>> GetOptionalString(std::size_t index) const;
  [[nodiscard]] Result<std::optional<std::string>> GetOptionalString(std::string_view name) const;
  [[nodiscard]] Result<std::optional<int64_t>> GetOptionalInt(std::size_t index) const;
  [[nodiscard]] Result<std::optional<int64_t>> GetOptionalInt(std::string_view name) const;
  [[nodiscard]] Result<std::optional<double>> GetOptionalDouble(std::size_t index) const;
  [[nodiscard]] Result<std::optional<double>> GetOptionalDouble(std::string_view name) const;
  [[nodiscard]] Result<std::optional<Blob>> GetOptionalBlob(std::size_t index) const;
  [[nodiscard]] Result<std::optional<Blob>> GetOptionalBlob(std::string_view name) const;

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

/// The rows of a query result, in order, with the column names.
class Rows {
 public:
  Rows() : columns_(std::make_shared<const std::vector<std::string>>()) {}
  Rows(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Row> rows)
      : columns_(std::move(columns)), rows_(std::move(rows)) {}

  [[nodiscard]] const std::vector<std::string>& columns() const { return *columns_; }
  [[nodiscard]] std::size_t size() const { return rows_.size(); }
  [[nodiscard]] bool empty() const { return rows_.empty(); }
  /// Precondition: index < size().
  [[nodiscard]] const Row& operator[](std::size_t index) const { return rows_[index]; }
  [[nodiscard]] auto begin() const { return rows_.begin(); }
  [[nodiscard]] auto end() const { return rows_.end(); }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Row> rows_;
};

/// Which SQL engine is behind a Database, for the rare statement that cannot be portable.
enum class SqlDialect { kSqlite, kPostgres };

std::string_view ToString(SqlDialect dialect);

/// A relational database: SQLite (default, single node) or PostgreSQL (production).
///
/// SQL is written once for both: placeholders are PostgreSQL-style `$1..$n` (SQLite binds them
/// by name), types are TEXT / BIGINT / INTEGER / DOUBLE PRECISION, ids are generated by the
/// application. Every call blocks: run it on a blocking pool, never on an I/O strand.
///
/// Thread-safety: one Database object is one connection. Every method may be called from any
/// thread; calls are serialized by an internal mutex, and a Transaction holds that mutex for
/// its whole body, so other threads wait until it commits or rolls back. For parallelism, open
/// several Database objects (SQLite in WAL mode allows one writer and many readers across them).
///
/// Errors (both backends): unique/primary-key violation -> kAlreadyExists; foreign-key
/// violation -> kFailedPrecondition; malformed parameters (wrong count, unsupported
/// placeholder) -> kInvalidArgument; connection lost, database busy/locked, deadlock or
/// serialization failure -> kUnavailable; anything else -> kInternal with the engine's message.
class Database {
 public:
  using TransactionBody = std::function<Result<void>(Database&)>;

  virtual ~Database() = default;
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /// The engine behind this object.
  [[nodiscard]] virtual SqlDialect Dialect() const = 0;

  /// The connection URL with any password replaced by "***" (safe to log).
  [[nodiscard]] virtual const std::string& RedactedUrl() const = 0;

  /// Runs one statement and returns its rows (empty for statements that return none).
  /// `params[i]` binds `$<i+1>`; the statement must use exactly $1..$n for n = params.size().
  Result<Rows> Query(std::string_view sql, std::span<const Value> params) {
    return DoQuery(sql, params);
  }
  Result<Rows> Query(std::string_view sql, std::initializer_list<Value> params = {}) {
    return DoQuery(sql, std::span<const Value>(params.begin(), params.size()));
  }

  /// Runs one statement and returns the number of rows it inserted, updated or deleted.
  Result<int64_t> Execute(std::string_view sql, std::span<const Value> params) {
    return DoExecute(sql, params);
  }
  Result<int64_t> Execute(std::string_view sql, std::initializer_list<Value> params = {}) {
    return DoExecute(sql, std::span<const Value>(params.begin(), params.size()));
  }

  /// Runs several `;`-separated statements without parameters (schema scripts).
  Result<void> ExecuteScript(std::string_view sql) { return DoExecuteScript(sql); }

  /// Runs `body` in a transaction: commits when it returns Ok, rolls back when it returns an
  /// error (which is then returned unchanged) or when the commit fails. `body` must use the
  /// Database it is given, not this object (which would deadlock). Nested Transaction calls
  /// on that Database become savepoints: an inner failure rolls back only the inner part.
  /// A statement that fails inside the body dooms the transaction even if the body ignores
  /// the error (PostgreSQL aborts it; SQLite is made to match): it is rolled back and kInternal
  /// returned. To try a statement that may fail and carry on, run it in a nested Transaction.
  Result<void> Transaction(const TransactionBody& body) { return DoTransaction(body); }

 protected:
  virtual Result<Rows> DoQuery(std::string_view sql, std::span<const Value> params) = 0;
  virtual Result<int64_t> DoExecute(std::string_view sql, std::span<const Value> params) = 0;
  virtual Result<void> DoExecuteScript(std::string_view sql) = 0;
  virtual Result<void> DoTransaction(const TransactionBody& body) = 0;
};

/// Opens a database by URL:
///   sqlite:///abs/path/file.db, sqlite://relative/file.db, sqlite:file.db, sqlite::memory:
///   postgres://user:pass@host:port/db (or postgresql://...; handed to libpq as is)
/// SQLite files are created if missing and configured with WAL journaling, synchronous=NORMAL,
/// foreign_keys=ON and a 5 s busy timeout.
/// Errors: kInvalidArgument for an unknown scheme or empty path; kUnavailable when the server
/// cannot be reached or the file cannot be opened. Error messages carry RedactUrl(url) only.
Result<std::unique_ptr<Database>> Open(std::string_view url);

/// `url` with the password of its user-info and any `password=` query parameter replaced by
/// "***". Never fails; strings that are not URLs come back unchanged.
std::string RedactUrl(std::string_view url);

}  // namespace tempo::db
