#pragma once

#include <string>

namespace tempo::control {

/// The OpenAPI 3.0 description of /api/v1 (served at GET /api/v1/openapi.json).
const std::string& OpenApiDocument();

}  // namespace tempo::control
