#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/result.hpp"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <vector>

namespace tempo::runtime {

/// Where the runtime finds the agent a call is for. Implementations are thread-safe and
/// cheap to query (called on every webhook).
class AgentDirectory {
 public:
  virtual ~AgentDirectory() = default;
  /// The agent, or null if unknown. The returned config is immutable.
  [[nodiscard]] virtual std::shared_ptr<const agent::AgentConfig> Find(const AgentId& id) const = 0;
  /// Every agent it serves, for start-up work such as building their speech models.
  [[nodiscard]] virtual std::vector<std::shared_ptr<const agent::AgentConfig>> List() const = 0;
  /// The organisation that owns the agent; nullopt for the operator's own agents (agent files,
  /// `tempovoice agent`), which no tenant limit applies to. Cheap, like Find().
  [[nodiscard]] virtual std::optional<OrgId> OrgOf(const AgentId& /*id*/) const {
    return std::nullopt;
  }
};

/// Agents held in memory: loaded from files at start-up or pushed by the control plane.
class MemoryAgentDirectory final : public AgentDirectory {
 public:
  [[nodiscard]] std::shared_ptr<const agent::AgentConfig> Find(const AgentId& id) const override;
  void Put(agent::AgentConfig config);
  void Remove(const AgentId& id);
  [[nodiscard]] std::vector<std::shared_ptr<const agent::AgentConfig>> List() const override;

 private:
  mutable std::shared_mutex mutex_;
  std::map<AgentId, std::shared_ptr<const agent::AgentConfig>> agents_;
};

/// Loads every `*.json` in `dir` (one agent each, the seed's field names, secrets included).
/// An invalid file is an error naming the file and its bad fields. Returns how many loaded.
Result<size_t> LoadAgentFiles(const std::filesystem::path& dir, MemoryAgentDirectory& into);
/// One agent file (JSON); the error names the file and the bad fields.
Result<agent::AgentConfig> LoadAgentFile(const std::filesystem::path& path);

}  // namespace tempo::runtime
