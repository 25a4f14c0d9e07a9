#include "tempo/runtime/agent_directory.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <mutex>
#include <sstream>

namespace tempo::runtime {

std::shared_ptr<const agent::AgentConfig> MemoryAgentDirectory::Find(const AgentId& id) const {
  std::shared_lock lock(mutex_);
  const auto it = agents_.find(id);
  return it == agents_.end() ? nullptr : it->second;
}

void MemoryAgentDirectory::Put(agent::AgentConfig config) {
  auto id = config.agent_id;
  auto shared = std::make_shared<const agent::AgentConfig>(std::move(config));
  std::unique_lock lock(mutex_);
  agents_[id] = std::move(shared);
}

void MemoryAgentDirectory::Remove(const AgentId& id) {
  std::unique_lock lock(mutex_);
  agents_.erase(id);
}

std::vector<std::shared_ptr<const agent::AgentConfig>> MemoryAgentDirectory::List() const {
  std::shared_lock lock(mutex_);
  std::vector<std::shared_ptr<const agent::AgentConfig>> out;
  for (const auto& [id, config] : agents_) out.push_back(config);
  return out;
}

Result<size_t> LoadAgentFiles(const std::filesystem::path& dir, MemoryAgentDirectory& into) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return size_t{0};
  size_t loaded = 0;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".json") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    TEMPO_ASSIGN_OR_RETURN(agent::AgentConfig config, LoadAgentFile(path));
    into.Put(std::move(config));
    ++loaded;
  }
  return loaded;
}

Result<agent::AgentConfig> LoadAgentFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("cannot read agent file {}", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  auto config = agent::FromJsonText(text.str());
  if (!config) {
    return InvalidArgument(
        fmt::format("agent file {}: {}", path.filename().string(), config.error().message));
  }
  return config;
}

}  // namespace tempo::runtime
