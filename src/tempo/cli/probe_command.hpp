#pragma once

namespace CLI {
class App;
}

namespace tempo::cli {

/// Adds `tempovoice probe URL`: exits 0 when the URL answers 2xx within the timeout, 1
/// otherwise. The container health check of an agent's task (images carry no curl).
void AddProbeCommand(CLI::App& app);

}  // namespace tempo::cli
