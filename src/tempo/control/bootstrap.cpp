#include "tempo/control/bootstrap.hpp"

#include "tempo/base/log.hpp"
#include "tempo/control/agents_api.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/crypto.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace tempo::control {
namespace {

void PrintLine(const ControlState& s, const std::string& line) {
  if (s.options.print_line) {
    s.options.print_line(line);
  } else {
    fmt::print("{}\n", line);
    std::fflush(stdout);
  }
}

// The first organisation gets a ready agent: created and deployed as if the admin had done
// it in the dashboard (the deployer validates, prepares, creates the bucket and activates).
// A failed deployment (e.g. its speech engine is not installed) does not stop the start: the
// agent stays undeployed, as a failed deployment from the dashboard would leave it.
Result<void> CreateFirstRunAgent(ControlState& s, const OrgId& org,
                                 const agent::AgentConfig& config) {
  TEMPO_TRY(InsertAgent(s, org, config, s.NowMs()));
  auto deployed =
      s.deployments.Backend().Deploy(org, config, [](size_t, StepState, const std::string&) {});
  if (!deployed) {
    TEMPO_LOG(control, warn, "first run: agent {} was created but not deployed: {}",
              config.agent_id, deployed.error().message);
  } else {
    TEMPO_LOG(control, info, "first run: created and deployed agent {} ({})", config.agent_id,
              config.agent_name);
  }
  PrintLine(
      s, fmt::format("first run: agent '{}' ({}) is {}; its Twilio auth token is {} (shown once; "
                     "set your own in the dashboard)",
                     config.agent_id, config.agent_name,
                     deployed ? "deployed" : "created (not deployed)",
                     config.twilio_auth_token.Reveal()));
  return Ok();
}

}  // namespace

Result<void> Bootstrap(ControlState& s) {
  TEMPO_ASSIGN_OR_RETURN(int64_t users, s.auth.CountUsers());
  if (users > 0) return Ok();
  const bool generated = !s.options.admin_password || s.options.admin_password->empty();
  const std::string password = generated ? RandomToken(15) : *s.options.admin_password;
  TEMPO_ASSIGN_OR_RETURN(OrgId org,
                         s.auth.CreateOrganisation("Default", s.options.admin_email, password));
  TEMPO_LOG(control, info, "first run: created organisation Default ({}) and admin {}", org,
            s.options.admin_email);
  if (generated) {
    PrintLine(s, fmt::format("first run: admin login {} with password {} (shown once; change it "
                             "after logging in)",
                             s.options.admin_email, password));
  }
  if (s.options.first_run_agent) {
    TEMPO_TRY(CreateFirstRunAgent(s, org, *s.options.first_run_agent));
  }
  return Ok();
}

}  // namespace tempo::control
