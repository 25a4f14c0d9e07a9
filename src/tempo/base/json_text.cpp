#include "tempo/base/json_text.hpp"

#include <nlohmann/json.hpp>

namespace tempo {

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ValidUtf8(std::string_view text) {
  // Round trip through the serialiser so that both agree byte for byte; cheap next to the
  // database write that needs it.
  const std::string quoted = DumpJson(nlohmann::json(std::string(text)));
  return nlohmann::json::parse(quoted).get<std::string>();
}

}  // namespace tempo
