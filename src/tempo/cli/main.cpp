#include "tempo/cli/main.hpp"

#include <CLI/CLI.hpp>

namespace tempo::cli {
int Main(int argc, char** argv) {
  CLI::App app{"TempoVoice"};
  CLI11_PARSE(app, argc, argv);
  return 0;
}
}  // namespace tempo::cli
