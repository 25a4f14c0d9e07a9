#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/error.hpp"
#include "tempo/net/http.hpp"

#include <string>
#include <vector>

namespace tempo::control {

/// An API failure: the HTTP status and the body of the one error shape of /api/v1:
///   {"error":{"code":"...","message":"...","fields":[{"field":"...","message":"..."}]}}
/// `fields` is always present (empty when the error is not about particular fields).
struct ApiError {
  ApiError() = default;
  ApiError(int status_code, std::string error_code, std::string error_message,
           std::vector<agent::FieldError> error_fields = {})
      : status(status_code),
        code(std::move(error_code)),
        message(std::move(error_message)),
        fields(std::move(error_fields)) {}

  int status = 500;
  std::string code;  ///< stable, machine-readable: not_found, validation_failed, ...
  std::string message;
  std::vector<agent::FieldError> fields;

  [[nodiscard]] net::Response ToResponse() const;
};

ApiError BadRequest(std::string message);
ApiError InvalidJson(std::string message);
ApiError Unauthorized(std::string message);
ApiError Forbidden(std::string message);
ApiError CsrfFailed();
ApiError NotFoundError(std::string what);
ApiError Conflict(std::string message);
ApiError PreconditionFailed(std::string message);
ApiError PreconditionRequired(std::string message);
ApiError PayloadTooLarge(std::string message);
ApiError ValidationFailed(std::vector<agent::FieldError> fields);
ApiError FieldInvalid(std::string field, std::string message);
ApiError InternalError();

/// Maps an internal Error (database, storage) to an API error without leaking its message
/// for internal failures: kNotFound -> 404, kAlreadyExists -> 409, kUnavailable -> 503,
/// anything else -> 500 "internal".
ApiError FromError(const Error& error);

}  // namespace tempo::control
