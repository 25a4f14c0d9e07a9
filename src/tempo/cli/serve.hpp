#pragma once

namespace CLI {
class App;
}

namespace tempo::cli {

/// Adds `tempovoice serve` to the application.
void AddServeCommand(CLI::App& app);

}  // namespace tempo::cli
