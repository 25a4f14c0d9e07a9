#pragma once

namespace CLI {
class App;
}

namespace tempo::cli {

/// Adds `tempovoice call` (a Twilio-compatible caller and load generator) to the application.
void AddCallCommand(CLI::App& app);

}  // namespace tempo::cli
