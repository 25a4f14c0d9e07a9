#pragma once

namespace tempo::cli {

/// The whole command line of the `tempovoice` binary; returns the process exit code.
int Main(int argc, char** argv);

}  // namespace tempo::cli
