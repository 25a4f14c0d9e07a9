#include "tempo/cli/main.hpp"

#include "tempo/cli/call_command.hpp"
#include "tempo/cli/deploy_command.hpp"
#include "tempo/cli/migrate_command.hpp"
#include "tempo/cli/probe_command.hpp"
#include "tempo/cli/serve.hpp"

#include <CLI/CLI.hpp>

namespace tempo::cli {

int Main(int argc, char** argv) {
  CLI::App app{
      "TempoVoice: AI phone agents you run yourself.\n"
      "Point a Twilio number at /agent/<agentId>/incoming-call and the agent answers."};
  app.set_version_flag("--version", TEMPO_VERSION);
  app.require_subcommand(1);
  app.footer(
      "Each setting may also come from its environment variable (shown above) or a config\n"
      "file (--config); flags win over the environment, which wins over the file.");
  AddServeCommand(app);
  AddCallCommand(app);
  AddMigrateCommand(app);
  AddProbeCommand(app);
  AddDeployCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Commands end by throwing RuntimeError with their exit code (CLI11's idiom for
    // returning from callbacks); a real parse error gets CLI11's message and a hint.
    if (dynamic_cast<const CLI::RuntimeError*>(&e) != nullptr) return e.get_exit_code();
    const int code = app.exit(e);
    if (code != 0) {
      std::fprintf(stderr, "Run '%s --help' or '%s <command> --help' for the settings.\n", argv[0],
                   argv[0]);
    }
    return code;
  }
  return 0;
}

}  // namespace tempo::cli
