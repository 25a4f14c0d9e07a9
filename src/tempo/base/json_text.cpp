#include "tempo/base/json_text.hpp"

#include <nlohmann/json.hpp>

namespace tempo {

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tempo
