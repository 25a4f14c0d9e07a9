#pragma once

namespace CLI {
class App;
}

namespace tempo::cli {

/// Adds `tempovoice migrate`: brings the control-plane database schema up to date.
void AddMigrateCommand(CLI::App& app);

}  // namespace tempo::cli
