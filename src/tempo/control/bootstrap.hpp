#pragma once

// Internal to the control module: what a control plane does once at start-up.

#include "tempo/base/result.hpp"

namespace tempo::control {

struct ControlState;

/// First run (no users yet): creates organisation "Default" with its admin (a generated
/// password is shown once through options.print_line, never logged) and, when configured,
/// the first-run agent, deployed. Later runs: nothing. Blocking.
Result<void> Bootstrap(ControlState& s);

}  // namespace tempo::control
