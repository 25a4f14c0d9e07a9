#pragma once

#include "tempo/agent/agent_config.hpp"

namespace tempo::cli {

/// The agent `serve` creates on first run so that there is something to call: a dental
/// clinic receptionist with hours, address, prices and callbacks in its knowledge base.
/// It gets a fresh random Twilio auth token (stored in its agent file, mode 0600).
agent::AgentConfig MakeDemoAgent(std::string engine);

/// 32 random hex characters (cryptographically random).
std::string RandomHex32();

}  // namespace tempo::cli
