#include "tempo/engine/speech_engine.hpp"

#include <fmt/format.h>

namespace tempo::engine {

std::string_view ToString(Role role) { return role == Role::kCaller ? "caller" : "agent"; }

void EngineRegistry::Add(std::unique_ptr<SpeechEngine> engine) {
  const std::string name(engine->name());
  engines_[name] = std::move(engine);
}

SpeechEngine* EngineRegistry::Find(std::string_view name) const {
  const auto it = engines_.find(name);
  return it == engines_.end() ? nullptr : it->second.get();
}

std::vector<std::string> EngineRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(engines_.size());
  for (const auto& [name, engine] : engines_) names.push_back(name);
  return names;
}

Result<void> EngineRegistry::Prepare(const agent::AgentConfig& agent) const {
  SpeechEngine* engine = Find(agent.engine);
  if (engine == nullptr) {
    return Unavailable(
        fmt::format("the {} speech engine is not available in this server", agent.engine));
  }
  return engine->Prepare(agent);
}

}  // namespace tempo::engine
