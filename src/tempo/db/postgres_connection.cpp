// PostgreSQL backend: raw libpq, one connection, text results decoded by column type.

#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/db/connection.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <libpq-fe.h>
#include <limits>

namespace tempo::db::internal {
namespace {

// Type OIDs from pg_type.h (stable since PostgreSQL 7).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kOidOid = 26;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

void ForwardNotice(void* /*arg*/, const char* message) {
  TEMPO_LOG(db, debug, "postgres notice: {}", Trim(message != nullptr ? message : ""));
}

Error MapSqlState(std::string_view state, std::string message) {
  if (state == "23505") return {ErrorCode::kAlreadyExists, std::move(message)};
  if (state == "23503") return {ErrorCode::kFailedPrecondition, std::move(message)};
  // 08P01: wrong parameter count; 42P02: undefined $N; 22P02: value not valid for its type.
  if (state == "08P01" || state == "42P02" || state == "22P02") {
    return InvalidArgument(std::move(message));
  }
  // Connection exceptions, serialization failure, deadlock, shutdown, too many connections.
  if (state.starts_with("08") || state == "40001" || state == "40P01" || state.starts_with("57P") ||
      state == "53300") {
    return Unavailable(std::move(message));
  }
  return Internal(std::move(message));
}

std::optional<double> ParseDouble(std::string_view text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// bytea in text form is "\x" + hex (bytea_output = hex, the default since 9.0).
Result<Blob> DecodeBytea(std::string_view text) {
  if (!text.starts_with("\\x") || text.size() % 2 != 0) {
    return Internal("postgres: bytea not in hex format (set bytea_output = hex)");
  }
  Blob out;
  out.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i < text.size(); i += 2) {
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return Internal("postgres: malformed bytea");
    out.push_back(static_cast<std::byte>(hi * 16 + lo));
  }
  return out;
}

Result<Value> DecodeCell(const PGresult* res, int row, int column) {
  if (PQgetisnull(res, row, column) != 0) return Value();
  std::string_view text(PQgetvalue(res, row, column),
                        static_cast<std::size_t>(PQgetlength(res, row, column)));
  switch (PQftype(res, column)) {
    case kBoolOid:
      return Value(int64_t{text == "t" ? 1 : 0});
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
    case kOidOid:
      if (auto v = ParseInt(text)) return Value(*v);
      return Internal(fmt::format("postgres: bad integer '{}'", text));
    case kFloat4Oid:
    case kFloat8Oid:
      if (auto v = ParseDouble(text)) return Value(*v);
      return Internal(fmt::format("postgres: bad float '{}'", text));
    case kNumericOid:
      // SUM(BIGINT) and friends yield NUMERIC; whole numbers stay integers as in SQLite.
      if (auto v = ParseInt(text)) return Value(*v);
      if (auto v = ParseDouble(text)) return Value(*v);
      return Internal(fmt::format("postgres: bad numeric '{}'", text));
    case kByteaOid: {
      TEMPO_ASSIGN_OR_RETURN(Blob blob, DecodeBytea(text));
      return Value(std::move(blob));
    }
    default:
      return Value(std::string(text));
  }
}

bool IsIdentifierChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// The highest $N placeholder in `sql`, skipping literals, quoted identifiers, comments and
// dollar-quoted strings. The server accepts surplus typed parameters silently, so the count
// is checked here to fail like SQLite does.
std::size_t HighestPlaceholder(std::string_view sql) {
  std::size_t highest = 0;
  std::size_t i = 0;
  const std::size_t n = sql.size();
  auto skip_quoted = [&](char quote, bool backslash_escapes) {
    for (++i; i < n; ++i) {
      if (backslash_escapes && sql[i] == '\\') {
        ++i;
      } else if (sql[i] == quote) {
        if (i + 1 < n && sql[i + 1] == quote) {
          ++i;  // doubled quote
        } else {
          ++i;
          return;
        }
      }
    }
  };
  while (i < n) {
    const char c = sql[i];
    if (c == '\'') {
      const bool escape_string = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') &&
                                 (i < 2 || !IsIdentifierChar(sql[i - 2]));
      skip_quoted('\'', escape_string);
    } else if (c == '"') {
      skip_quoted('"', false);
    } else if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      while (i < n && sql[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      int depth = 0;  // block comments nest in PostgreSQL
      while (i < n) {
        if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') {
          ++depth;
          i += 2;
        } else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
    } else if (c == '$' && (i == 0 || !IsIdentifierChar(sql[i - 1]))) {
      std::size_t j = i + 1;
      if (j < n && sql[j] >= '0' && sql[j] <= '9') {
        std::size_t number = 0;
        while (j < n && sql[j] >= '0' && sql[j] <= '9' && number < 1000000) {
          number = number * 10 + static_cast<std::size_t>(sql[j] - '0');
          ++j;
        }
        highest = std::max(highest, number);
        i = j;
        continue;
      }
      // $tag$ ... $tag$ (tag may be empty)
      while (j < n && IsIdentifierChar(sql[j])) ++j;
      if (j < n && sql[j] == '$') {
        std::string_view tag = sql.substr(i, j - i + 1);
        std::size_t close = sql.find(tag, j + 1);
        i = close == std::string_view::npos ? n : close + tag.size();
        continue;
      }
      ++i;
    } else {
      ++i;
    }
  }
  return highest;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return fmt::format("{}", v);  // shortest text that reads back to the same double
}

// Parameters in libpq's wire form; owns the text of numbers.
struct WireParams {
  std::vector<std::string> texts;
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;

  explicit WireParams(std::span<const Value> params) {
    const std::size_t n = params.size();
    texts.resize(n);
    types.resize(n);
    values.resize(n);
    lengths.resize(n);
    formats.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>) {
              types[i] = 0;  // let the server infer from context
              values[i] = nullptr;
            } else if constexpr (std::is_same_v<T, int64_t>) {
              types[i] = kInt8Oid;
              texts[i] = std::to_string(v);
              values[i] = texts[i].c_str();
            } else if constexpr (std::is_same_v<T, double>) {
              types[i] = kFloat8Oid;
              texts[i] = FormatDouble(v);
              values[i] = texts[i].c_str();
            } else if constexpr (std::is_same_v<T, std::string>) {
              // Untyped: the server infers TEXT, or the column's type when compared/assigned.
              types[i] = 0;
              values[i] = v.c_str();
            } else {
              types[i] = kByteaOid;
              formats[i] = 1;  // binary: raw bytes, no escaping
              // A null pointer would send NULL instead of an empty value.
              values[i] = v.empty() ? "" : reinterpret_cast<const char*>(v.data());
              lengths[i] = static_cast<int>(v.size());
            }
          },
          params[i].storage());
    }
  }
};

class PostgresConnection final : public Connection {
 public:
  PostgresConnection(ConnPtr conn, std::string redacted_url)
      : conn_(std::move(conn)), redacted_url_(std::move(redacted_url)) {}

  [[nodiscard]] SqlDialect Dialect() const override { return SqlDialect::kPostgres; }

  Result<Rows> Query(std::string_view sql, std::span<const Value> params) override {
    TEMPO_ASSIGN_OR_RETURN(ResultPtr res, Run(sql, params));
    const int column_count = PQnfields(res.get());
    const int row_count = PQntuples(res.get());
    std::vector<std::string> names;
    names.reserve(column_count);
    for (int c = 0; c < column_count; ++c) names.emplace_back(PQfname(res.get(), c));
    auto columns = std::make_shared<const std::vector<std::string>>(std::move(names));
    std::vector<Row> rows;
    rows.reserve(row_count);
    for (int r = 0; r < row_count; ++r) {
      std::vector<Value> values;
      values.reserve(column_count);
      for (int c = 0; c < column_count; ++c) {
        TEMPO_ASSIGN_OR_RETURN(Value value, DecodeCell(res.get(), r, c));
        values.push_back(std::move(value));
      }
      rows.emplace_back(columns, std::move(values));
    }
    return Rows(std::move(columns), std::move(rows));
  }

  Result<int64_t> Execute(std::string_view sql, std::span<const Value> params) override {
    TEMPO_ASSIGN_OR_RETURN(ResultPtr res, Run(sql, params));
    // SELECT also reports a count here; only writes are meaningful (as with SQLite).
    if (PQresultStatus(res.get()) == PGRES_TUPLES_OK) return int64_t{0};
    return ParseInt(PQcmdTuples(res.get())).value_or(0);
  }

  Result<void> ExecuteScript(std::string_view sql) override {
    TEMPO_TRY(EnsureConnected());
    ResultPtr res(PQexec(conn_.get(), std::string(sql).c_str()));
    TEMPO_TRY(Check(res.get()));
    return Ok();
  }

  Result<void> Begin() override {
    TEMPO_TRY(ExecuteScript("BEGIN"));
    in_transaction_ = true;
    return Ok();
  }

  Result<void> Commit() override {
    TEMPO_TRY(EnsureConnected());
    ResultPtr res(PQexec(conn_.get(), "COMMIT"));
    in_transaction_ = false;  // COMMIT ends the transaction whether or not it succeeds
    TEMPO_TRY(Check(res.get()));
    // COMMIT of a transaction aborted by an earlier error "succeeds" by rolling back.
    if (std::string_view(PQcmdStatus(res.get())) == "ROLLBACK") {
      return Internal(
          "postgres: transaction rolled back at commit because a statement in it failed");
    }
    return Ok();
  }

  Result<void> Rollback() override {
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      in_transaction_ = false;  // the server dropped the transaction with the connection
      return Unavailable("postgres: connection lost; transaction rolled back by the server");
    }
    ResultPtr res(PQexec(conn_.get(), "ROLLBACK"));
    in_transaction_ = false;
    return Check(res.get());
  }

 private:
  Result<void> EnsureConnected() {
    if (PQstatus(conn_.get()) == CONNECTION_OK) return Ok();
    // Reconnecting inside a transaction would run its remaining statements outside of it.
    if (in_transaction_) {
      return Unavailable(
          fmt::format("postgres: connection to {} lost during a transaction", redacted_url_));
    }
    PQreset(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) {
      return Unavailable(fmt::format("postgres: cannot reconnect to {}: {}", redacted_url_,
                                     Trim(PQerrorMessage(conn_.get()))));
    }
    TEMPO_LOG(db, info, "reconnected to {}", redacted_url_);
    return Ok();
  }

  Result<ResultPtr> Run(std::string_view sql, std::span<const Value> params) {
    TEMPO_TRY(EnsureConnected());
    if (params.size() > 65535) return InvalidArgument("postgres: more than 65535 parameters");
    if (std::size_t highest = HighestPlaceholder(sql); highest != params.size()) {
      return InvalidArgument(fmt::format("postgres: {} parameter(s) given but statement uses {}",
                                         params.size(), highest));
    }
    WireParams wire(params);
    ResultPtr res(PQexecParams(conn_.get(), std::string(sql).c_str(),
                               static_cast<int>(params.size()), wire.types.data(),
                               wire.values.data(), wire.lengths.data(), wire.formats.data(),
                               /*resultFormat=*/0));
    TEMPO_TRY(Check(res.get()));
    return res;
  }

  Result<void> Check(const PGresult* res) {
    if (res == nullptr || PQstatus(conn_.get()) != CONNECTION_OK) {
      return Unavailable(fmt::format("postgres: connection to {} failed: {}", redacted_url_,
                                     Trim(PQerrorMessage(conn_.get()))));
    }
    switch (PQresultStatus(res)) {
      case PGRES_COMMAND_OK:
      case PGRES_TUPLES_OK:
      case PGRES_EMPTY_QUERY:
        return Ok();
      default:
        break;
    }
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    std::string message = fmt::format(
        "postgres: {} (SQLSTATE {})",
        Trim(primary != nullptr ? primary : PQresultErrorMessage(res)), state ? state : "none");
    return MapSqlState(state != nullptr ? state : "", std::move(message));
  }

  ConnPtr conn_;
  std::string redacted_url_;
  bool in_transaction_ = false;
};

}  // namespace

Result<std::unique_ptr<Connection>> OpenPostgres(const std::string& url,
                                                 const std::string& redacted_url) {
  // Parse first so a malformed URL is an argument error, not an unreachable server.
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &parse_error);
  if (options == nullptr) {
    std::string why = ScrubPasswords(
        std::string(parse_error != nullptr ? Trim(parse_error) : "out of memory"), url);
    PQfreemem(parse_error);
    return InvalidArgument(fmt::format("postgres: bad URL {}: {}", redacted_url, why));
  }
  PQconninfoFree(options);

  ConnPtr conn(PQconnectdb(url.c_str()));
  if (!conn) return Unavailable("postgres: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Unavailable(
        fmt::format("postgres: cannot connect to {}: {}", redacted_url,
                    ScrubPasswords(std::string(Trim(PQerrorMessage(conn.get()))), url)));
  }
  PQsetNoticeProcessor(conn.get(), ForwardNotice, nullptr);
  if (PQsetClientEncoding(conn.get(), "UTF8") != 0) {
    return Internal(fmt::format("postgres: cannot set client encoding UTF8 on {}", redacted_url));
  }
  return std::unique_ptr<Connection>(
      std::make_unique<PostgresConnection>(std::move(conn), redacted_url));
}

}  // namespace tempo::db::internal
