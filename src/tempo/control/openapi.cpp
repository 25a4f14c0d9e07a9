#include "tempo/control/openapi.hpp"

namespace tempo::control {
const std::string& OpenApiDocument() {
  static const std::string kDoc = "{}";
  return kDoc;
}
}  // namespace tempo::control
