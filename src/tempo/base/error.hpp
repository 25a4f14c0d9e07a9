#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace tempo {

/// Broad classes of failure. Callers branch on the code; the message is for humans and logs.
enum class ErrorCode {
  kInvalidArgument,     ///< the input is malformed or out of range
  kNotFound,            ///< the named thing does not exist
  kAlreadyExists,       ///< a create collided with an existing thing
  kPermissionDenied,    ///< authenticated but not allowed
  kUnauthenticated,     ///< missing or bad credentials / signature
  kResourceExhausted,   ///< a size, rate or count limit was hit
  kFailedPrecondition,  ///< the system is not in a state that allows the operation
  kUnavailable,         ///< a dependency is down; retrying may help
  kDeadlineExceeded,    ///< a timeout fired
  kProtocol,            ///< a peer broke a wire protocol
  kCancelled,           ///< the operation was cancelled (e.g. shutdown)
  kInternal,            ///< a bug or an unexpected environment failure
};

std::string_view ToString(ErrorCode code);

/// An error as a value (the data plane never throws). Cheap to move.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  Error() = default;
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}

  /// "invalid_argument: <message>"
  [[nodiscard]] std::string ToString() const;
  friend bool operator==(const Error&, const Error&) = default;
};

inline Error InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
inline Error NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
inline Error ProtocolError(std::string m) { return {ErrorCode::kProtocol, std::move(m)}; }
inline Error Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
inline Error ResourceExhausted(std::string m) {
  return {ErrorCode::kResourceExhausted, std::move(m)};
}
inline Error Unauthenticated(std::string m) { return {ErrorCode::kUnauthenticated, std::move(m)}; }
inline Error Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }

/// Thrown only by Result::value() on an error (control-plane edges); never on the data plane.
class ErrorException : public std::exception {
 public:
  explicit ErrorException(Error e) : error_(std::move(e)), what_(error_.ToString()) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  std::string what_;
};

}  // namespace tempo

template <>
struct fmt::formatter<tempo::Error> : fmt::formatter<std::string> {
  auto format(const tempo::Error& e, format_context& ctx) const {
    return fmt::formatter<std::string>::format(e.ToString(), ctx);
  }
};
