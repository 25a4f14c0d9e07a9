#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/control/deployer.hpp"
#include "tempo/db/database.hpp"
#include "tempo/runtime/agent_directory.hpp"

#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>

namespace tempo::control {

/// An agent as stored: the config without secrets as JSON, the secrets sealed.
struct StoredAgentColumns {
  std::string config_json;
  std::optional<std::string> secrets_ciphertext;  ///< null when no secret is set
};

/// Splits `config` into its stored columns (secrets encrypted with `box`).
StoredAgentColumns EncodeAgent(const agent::AgentConfig& config, const SecretBox& box);
/// Rebuilds the config (with decrypted secrets) from its stored columns.
/// Errors: kInternal for a corrupt row; kPermissionDenied when the key is wrong.
Result<agent::AgentConfig> DecodeAgent(std::string_view config_json,
                                       const std::optional<std::string>& secrets_ciphertext,
                                       const SecretBox& box);

/// The runtime's view of database agents: every agent whose deployed_state is "deployed",
/// with decrypted secrets, held in memory so that Find() never touches the database (it is
/// called on I/O threads for every webhook). Reload()/Refresh() re-read the database and are
/// called by the control plane whenever an agent changes.
///
/// Thread-safe: Find() takes a shared lock; the other methods block on the database.
class DbAgentDirectory final : public runtime::AgentDirectory, public AgentActivator {
 public:
  DbAgentDirectory(db::Database& db, const SecretBox& box);

  /// Agents not in the database (e.g. loaded from files) are looked up here after the
  /// database ones. Set before serving; `fallback` must outlive this object.
  void SetFallback(const runtime::AgentDirectory* fallback) { fallback_ = fallback; }

  [[nodiscard]] std::shared_ptr<const agent::AgentConfig> Find(const AgentId& id) const override;
  /// The deployed database agents, then the fallback's agents that no database agent shadows.
  [[nodiscard]] std::vector<std::shared_ptr<const agent::AgentConfig>> List() const override;
  [[nodiscard]] std::optional<OrgId> OrgOf(const AgentId& id) const override;

  /// Reads every deployed agent again (start-up, or periodically with several replicas).
  Result<size_t> Reload();
  /// Re-reads one agent after a change (or forgets it when it is gone or not deployed).
  Result<void> Refresh(const AgentId& id);

  Result<void> SetActivation(const OrgId& org, const AgentId& agent,
                             Activation activation) override;

 private:
  db::Database& db_;
  const SecretBox& box_;
  const runtime::AgentDirectory* fallback_ = nullptr;
  mutable std::shared_mutex mutex_;
  std::map<AgentId, std::shared_ptr<const agent::AgentConfig>> agents_;
  std::map<AgentId, OrgId> orgs_;
};

}  // namespace tempo::control
