// Fuzzes the JSON bodies of /api/v1 requests the way the control plane reads them: the depth
// guard, then the parser, then the agent reader (POST/PUT /agents), and the error responses
// that echo fields, values and request text back. The guard must agree with the parser, and
// every response body must be valid JSON whatever bytes reached its message.
#include "tempo/agent/agent_config.hpp"
#include "tempo/control/api_error.hpp"
#include "tempo/control/request_parsing.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int kMaxJsonDepth = 32;  // control_plane.cpp

int Depth(const nlohmann::json& j) {
  int deepest = 0;
  if (j.is_structured()) {
    for (const auto& child : j) deepest = std::max(deepest, Depth(child));
    return deepest + 1;
  }
  return 0;
}

void MustRenderAsJson(const tempo::control::ApiError& error) {
  const auto response = error.ToResponse();
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (body.is_discarded() || !body.contains("error") ||
      body["error"]["fields"].size() != error.fields.size()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo;
  using namespace tempo::control;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // Messages may carry request text that is not UTF-8 (a path segment, a query value).
  MustRenderAsJson(BadRequest(std::string(text)));
  MustRenderAsJson(FieldInvalid(std::string(text), std::string(text)));

  const bool too_deep = JsonTooDeep(text, kMaxJsonDepth);
  if (too_deep) return 0;  // rejected before parsing, as ParseObject does
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    MustRenderAsJson(InvalidJson("the body is not valid JSON"));
    return 0;
  }
  if (Depth(j) > kMaxJsonDepth) std::abort();  // the guard let hostile nesting through
  if (!j.is_object()) return 0;

  std::vector<agent::FieldError> errors;
  auto config = agent::FromJson(j, agent::Unknown::kReject, &errors);
  if (config.has_value() == !errors.empty()) std::abort();
  if (!errors.empty()) MustRenderAsJson(ValidationFailed(errors));
  for (const auto& [key, value] : j.items()) {
    MustRenderAsJson(FieldInvalid(key, "is not a known field"));
    if (value.is_string()) MustRenderAsJson(BadRequest(value.get<std::string>()));
  }
  return 0;
}
