// What Bedrock (or whatever answers in its place) sends inside a Nova Sonic stream: a chunk's
// {"bytes": base64} payload and the event JSON in it. No crash, no exception; audio is whole
// samples; a tool use always has its name and id.
#include "tempo/engine/nova_sonic/protocol.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo::engine::nova;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto unwrapped = UnwrapChunk(input);
  const std::string inner = unwrapped ? *unwrapped : std::string();
  for (const std::string_view json : {input, std::string_view(inner)}) {
    auto event = ParseOutputEvent(json);
    if (!event) continue;
    if (const auto* use = std::get_if<ToolUse>(&*event)) {
      if (use->tool_name.empty() || use->tool_use_id.empty() || use->input_json.empty()) {
        std::abort();
      }
    }
  }
  return 0;
}
