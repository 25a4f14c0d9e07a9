#pragma once

#include "tempo/base/error.hpp"

#include <boost/system/result.hpp>

namespace tempo {

/// Result<T>: a T or an Error. Errors are values on the data plane (no exceptions).
///   Result<int> Parse(std::string_view s);
///   auto r = Parse(s); if (!r) return r.error();  use(*r);
template <class T>
using Result = boost::system::result<T, Error>;

/// Found by ADL so that Result::value() throws ErrorException (only acceptable at edges).
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

/// Success value for Result<void>.
inline Result<void> Ok() { return {}; }

}  // namespace tempo

/// Evaluates `expr` (a Result); returns its error from the enclosing function if it failed.
#define TEMPO_CONCAT_INNER_(a, b) a##b
#define TEMPO_CONCAT_(a, b) TEMPO_CONCAT_INNER_(a, b)

#define TEMPO_TRY(expr) TEMPO_TRY_IMPL_(TEMPO_CONCAT_(tempo_try_r_, __COUNTER__), expr)
#define TEMPO_TRY_IMPL_(tmp, expr)   \
  do {                               \
    if (auto tmp = (expr); !tmp) {   \
      return std::move(tmp).error(); \
    }                                \
  } while (0)

/// TEMPO_ASSIGN_OR_RETURN(auto x, Parse(s)); declares x from a Result or returns its error.
#define TEMPO_ASSIGN_OR_RETURN(decl, expr) \
  TEMPO_ASSIGN_OR_RETURN_IMPL_(TEMPO_CONCAT_(tempo_r_, __COUNTER__), decl, expr)
#define TEMPO_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                  \
  if (!tmp) return std::move(tmp).error();            \
  decl = std::move(*tmp)
