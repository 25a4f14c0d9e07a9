// Fuzzes an agent's JSON as tenants send it through the API (and as agent files and the
// database hold it), and the seed's environment variables: any bytes must give a config or
// per-field errors, never a crash, and an accepted config must survive the store's round
// trip (ToJson -> text -> FromJson) unchanged.
#include "tempo/agent/agent_config.hpp"
#include "tempo/base/json_text.hpp"

#include "fuzz_lines.hpp"
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// What the control plane stores and serves: the text must parse, and read back the same.
void CheckRoundTrip(const tempo::agent::AgentConfig& config, bool exact) {
  using namespace tempo::agent;
  (void)config.ClosingLine();
  const std::string text = tempo::DumpJson(ToJson(config, Secrets::kInclude));
  const auto reparsed = nlohmann::json::parse(text, nullptr, false);
  if (reparsed.is_discarded()) std::abort();
  (void)tempo::DumpJson(ToJson(config, Secrets::kOmit), 2);
  auto again = FromJsonText(text, Unknown::kReject);
  if (exact && (!again || !(*again == config))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo::agent;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<FieldError> errors;
  auto strict = FromJsonText(input, Unknown::kReject, &errors);
  if (strict) {
    if (!errors.empty()) std::abort();
    // Text that parsed as JSON is valid UTF-8, so the round trip must be exact.
    CheckRoundTrip(*strict, /*exact=*/true);
  } else {
    if (errors.empty()) std::abort();
    (void)Describe(errors);
  }
  if (auto lenient = FromJsonText(input, Unknown::kIgnore)) CheckRoundTrip(*lenient, true);

  // The seed's environment: line i is the value of the i-th variable. Values are raw bytes
  // (no UTF-8 check), so the config may hold invalid UTF-8: it must still serialise.
  const auto lines = tempo::fuzz::Lines(input);
  const auto& fields = EnvironmentFields();
  auto from_env = FromEnvironment([&](std::string_view name) -> std::optional<std::string> {
    for (std::size_t i = 0; i < fields.size() && i < lines.size(); ++i) {
      if (fields[i].env == name) return std::string(lines[i]);
    }
    return std::nullopt;
  });
  if (from_env) CheckRoundTrip(*from_env, /*exact=*/false);
  for (const auto& line : lines) {
    (void)IsE164(line);
    (void)IsHttpUrl(line);
    (void)IsValidAgentId(line);
  }
  return 0;
}
