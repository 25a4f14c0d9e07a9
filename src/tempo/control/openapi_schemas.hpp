#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

// Private to control/: the two halves of the OpenAPI document (openapi.cpp has the paths).
namespace tempo::control {

namespace openapi {
/// {"$ref": "#/components/schemas/<name>"}
nlohmann::json Ref(std::string_view name);
}  // namespace openapi

/// components/schemas: every request and response body of /api/v1.
nlohmann::json OpenApiSchemas();

}  // namespace tempo::control
