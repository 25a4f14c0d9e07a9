#include "tempo/engine/speech_engine.hpp"

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

}  // namespace tempo::engine
