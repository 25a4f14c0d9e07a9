#include "tempo/control/openapi.hpp"

#include <string_view>

// The OpenAPI document is data: openapi.json, next to this file, compiled in as one string by
// CMake (openapi_json.cpp in the build folder). Written as nested nlohmann::json literals it
// cost more compile time than any other file of the project; as text it costs nothing, and
// openapi_test parses it and has openapi-spec-validator check it.
namespace tempo::control {
namespace detail {
extern const std::string_view kOpenApiJson;
}  // namespace detail

const std::string& OpenApiDocument() {
  static const std::string kDocument(detail::kOpenApiJson);
  return kDocument;
}

}  // namespace tempo::control
