#pragma once

#include "tempo/agent/agent_config.hpp"

#include <string>

namespace tempo::agent {

/// The agent `serve` creates on first run so that there is something to call: a dental
/// clinic receptionist with hours, address, prices and callbacks in its knowledge base.
/// It gets a fresh random Twilio auth token (stored in its agent file, mode 0600). The tests
/// of the local engine speak to this same agent.
AgentConfig MakeDemoAgent(std::string engine);

/// 32 random hex characters (cryptographically random).
std::string RandomHex32();

}  // namespace tempo::agent
