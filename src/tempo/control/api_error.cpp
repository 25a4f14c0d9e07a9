#include "tempo/control/api_error.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"

#include <nlohmann/json.hpp>

namespace tempo::control {

net::Response ApiError::ToResponse() const {
  nlohmann::json fields_json = nlohmann::json::array();
  for (const auto& f : fields) fields_json.push_back({{"field", f.field}, {"message", f.message}});
  nlohmann::json body = {
      {"error", {{"code", code}, {"message", message}, {"fields", std::move(fields_json)}}}};
  auto response = net::Response::Json(status, DumpJson(body));
  response.headers.Set("Cache-Control", "no-store");
  return response;
}

ApiError BadRequest(std::string message) { return {400, "bad_request", std::move(message), {}}; }
ApiError InvalidJson(std::string message) { return {400, "invalid_json", std::move(message), {}}; }
ApiError Unauthorized(std::string message) {
  return {401, "unauthenticated", std::move(message), {}};
}
ApiError Forbidden(std::string message) { return {403, "forbidden", std::move(message), {}}; }
ApiError CsrfFailed() {
  return {403,
          "csrf_failed",
          "state-changing requests made with the session cookie need the X-CSRF-Token header "
          "returned at login",
          {}};
}
ApiError NotFoundError(std::string what) {
  return {404, "not_found", std::move(what) + " not found", {}};
}
ApiError Conflict(std::string message) { return {409, "conflict", std::move(message), {}}; }
ApiError PreconditionFailed(std::string message) {
  return {412, "precondition_failed", std::move(message), {}};
}
ApiError PreconditionRequired(std::string message) {
  return {428, "precondition_required", std::move(message), {}};
}
ApiError PayloadTooLarge(std::string message) {
  return {413, "payload_too_large", std::move(message), {}};
}
ApiError ValidationFailed(std::vector<agent::FieldError> fields) {
  std::string message = fields.size() == 1 ? "1 field is invalid"
                                           : std::to_string(fields.size()) + " fields are invalid";
  return {422, "validation_failed", std::move(message), std::move(fields)};
}
ApiError FieldInvalid(std::string field, std::string message) {
  return ValidationFailed({agent::FieldError{std::move(field), std::move(message)}});
}
ApiError InternalError() {
  return {500, "internal", "internal error; the server log has the details", {}};
}

ApiError FromError(const Error& error) {
  switch (error.code) {
    case ErrorCode::kNotFound:
      return {404, "not_found", error.message, {}};
    case ErrorCode::kAlreadyExists:
      return Conflict(error.message);
    case ErrorCode::kUnavailable:
      TEMPO_LOG(control, warn, "dependency unavailable: {}", error.message);
      return {503, "unavailable", "the database or storage is unavailable; retry later", {}};
    default:
      TEMPO_LOG(control, error, "internal error: {}", error.ToString());
      return InternalError();
  }
}

}  // namespace tempo::control
