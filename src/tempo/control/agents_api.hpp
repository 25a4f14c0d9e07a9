#pragma once

// Internal to the control module: agents as the other resources and start-up need them.

#include "tempo/agent/agent_config.hpp"
#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tempo::control {

struct ControlState;

struct AgentRow {
  agent::AgentConfig config;
  int64_t version = 0;
  std::string status;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

/// The agent `id` of `org` (secrets decrypted), if it exists.
Result<std::optional<AgentRow>> LoadAgent(ControlState& s, const OrgId& org, std::string_view id);
/// A new agent, version 1, not deployed. Errors: kAlreadyExists for a taken agentId.
Result<void> InsertAgent(ControlState& s, const OrgId& org, const agent::AgentConfig& config,
                         int64_t now);
/// True when `agent_id` names an agent of `org`.
Result<bool> OwnsAgent(ControlState& s, const OrgId& org, std::string_view agent_id);

}  // namespace tempo::control
