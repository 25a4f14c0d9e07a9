#include "tempo/cli/deploy_command.hpp"

#include "tempo/agent/agent_config.hpp"
#include "tempo/aws/credential_chain.hpp"
#include "tempo/base/json_text.hpp"
#include "tempo/deploy/ecs_deployer.hpp"
#include "tempo/runtime/agent_directory.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace tempo::cli {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// One line per step. In a terminal the running step has a spinner and its time so far;
// otherwise each step prints one plain line when it ends.
class StepPrinter {
 public:
  StepPrinter(std::vector<std::string> steps, bool tty) : steps_(std::move(steps)), tty_(tty) {
    if (tty_) spinner_ = std::thread([this] { Spin(); });
  }
  ~StepPrinter() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (spinner_.joinable()) spinner_.join();
  }
  StepPrinter(const StepPrinter&) = delete;
  StepPrinter& operator=(const StepPrinter&) = delete;

  void operator()(size_t step, deploy::StepState state, const std::string& message) {
    std::lock_guard lock(mutex_);
    const std::string name = step < steps_.size() ? steps_[step] : "step";
    const std::string counter = fmt::format("[{}/{}]", step + 1, steps_.size());
    if (state == deploy::StepState::kRunning) {
      if (running_ != step || !active_) started_ = Clock::now();
      running_ = step;
      active_ = true;
      detail_ = message;
      if (!tty_ && !message.empty()) fmt::print("{} {}: {}\n", counter, name, message);
      std::fflush(stdout);
      return;
    }
    active_ = false;
    const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
    const bool done = state == deploy::StepState::kDone;
    if (tty_) {
      fmt::print("\r\033[K{} {} {} ({:.1f} s) {}\n", done ? "\u2713" : "\u2717", counter, name,
                 seconds, message);
    } else {
      fmt::print("{} {}: {} in {:.1f} s: {}\n", counter, name, done ? "done" : "FAILED", seconds,
                 message);
    }
    std::fflush(stdout);
  }

 private:
  void Spin() {
    static constexpr std::array<const char*, 10> kFrames = {"\u280b", "\u2819", "\u2839", "\u2838",
                                                            "\u283c", "\u2834", "\u2826", "\u2827",
                                                            "\u2807", "\u280f"};
    size_t frame = 0;
    std::unique_lock lock(mutex_);
    while (!stop_) {
      if (active_) {
        const double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        fmt::print("\r\033[K{} [{}/{}] {} ({:.0f} s) {}", kFrames[frame++ % kFrames.size()],
                   running_ + 1, steps_.size(), steps_[running_], seconds, detail_);
        std::fflush(stdout);
      }
      wake_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }

  std::vector<std::string> steps_;
  bool tty_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  bool active_ = false;
  size_t running_ = 0;
  std::string detail_;
  Clock::time_point started_ = Clock::now();
  std::thread spinner_;
};

// AGENT: an agent file, or the id of one in the agents folder.
Result<agent::AgentConfig> LoadAgentArg(const ServeSettings& settings, const std::string& arg) {
  if (std::filesystem::is_regular_file(arg)) return runtime::LoadAgentFile(arg);
  if (!agent::IsValidAgentId(arg)) {
    return InvalidArgument(fmt::format("'{}' is neither an agent file nor an agent id", arg));
  }
  const std::filesystem::path path = AgentsDir(settings) / (arg + ".json");
  if (!std::filesystem::is_regular_file(path)) {
    return NotFound(fmt::format(
        "no agent file {} (agents made in the dashboard are deployed from the dashboard)",
        path.string()));
  }
  return runtime::LoadAgentFile(path);
}

struct CommandOptions {
  ServeSettings settings;
  std::string agent;
  bool json = false;
  bool purge = false;
};

enum class Action { kDeploy, kUndeploy, kStatus };

int RunAction(const CommandOptions& o, Action action) {
  const char* name = action == Action::kDeploy     ? "deploy"
                     : action == Action::kUndeploy ? "undeploy"
                                                   : "status";
  if (o.settings.deployer != "ecs") {
    fmt::print(stderr,
               "tempovoice {}: drives the ecs deployer (--deployer ecs); agents of the local "
               "deployer are deployed from the dashboard of `tempovoice serve`\n",
               name);
    return 2;
  }
  auto deployer = MakeEcsDeployer(o.settings);
  if (!deployer) {
    fmt::print(stderr, "tempovoice {}: {}\n", name, deployer.error().message);
    return 2;
  }
  auto config = LoadAgentArg(o.settings, o.agent);
  if (!config) {
    fmt::print(stderr, "tempovoice {}: {}\n", name, config.error().message);
    return 2;
  }
  const bool tty = !o.json && isatty(STDOUT_FILENO) != 0;
  if (action == Action::kStatus) {
    auto status = (*deployer)->Status(config->agent_id);
    if (!status) {
      fmt::print(stderr, "tempovoice status: {}\n", status.error().message);
      return 1;
    }
    if (o.json) {
      fmt::print("{}\n", DumpJson(*status, 2));
      return 0;
    }
    auto line = [](const char* what, const json& value) {
      fmt::print("{:<16} {}\n", what,
                 value.is_null()     ? "-"
                 : value.is_string() ? value.get<std::string>()
                                     : DumpJson(value));
    };
    line("agent", (*status)["agentId"]);
    line("bucket", (*status)["bucket"]);
    line("secret", (*status)["secret"]);
    line("task definition", (*status)["taskDefinition"]);
    line("target group", (*status)["targetGroup"]);
    line("service", (*status)["service"]);
    line("listener rule", (*status)["listenerRule"]);
    line("scaling", (*status)["scaling"]);
    line("voice URL", (*status)["voiceUrl"]);
    return 0;
  }
  if (action == Action::kUndeploy) {
    Result<void> undone = Ok();
    {
      StepPrinter printer((*deployer)->UndeploySteps(o.purge), tty);
      undone = (*deployer)->UndeployAgent(
          config->agent_id, o.json ? deploy::DeployProgress() : std::ref(printer), o.purge);
    }
    if (!undone) {
      fmt::print(stderr, "tempovoice undeploy: {}\n", undone.error().message);
      return 1;
    }
    if (o.json)
      fmt::print("{}\n", DumpJson({{"success", true}, {"agentId", config->agent_id.str()}}));
    return 0;
  }
  Result<deploy::EcsDeployment> deployed = Internal("not run");
  {
    StepPrinter printer((*deployer)->DeploySteps(), tty);
    deployed =
        (*deployer)->DeployAgent(*config, o.json ? deploy::DeployProgress() : std::ref(printer));
  }
  if (!deployed) {
    if (o.json) {
      fmt::print("{}\n", DumpJson({{"success", false},
                                   {"agentId", config->agent_id.str()},
                                   {"error", deployed.error().message}}));
    }
    fmt::print(stderr, "tempovoice deploy: {}\n", deployed.error().message);
    return 1;
  }
  if (o.json) {
    fmt::print("{}\n", DumpJson(deployed->ToJson()));
  } else {
    fmt::print("deployed {}: {}\n", config->agent_id, deployed->service_arn);
    if (!deployed->voice_url.empty()) {
      fmt::print("Twilio Voice URL (A call comes in, HTTP POST): {}\n", deployed->voice_url);
    }
  }
  return 0;
}

void AddAction(CLI::App& app, const char* name, const char* help, Action action) {
  auto options = std::make_shared<CommandOptions>();
  options->settings.deployer = "ecs";
  auto* command = app.add_subcommand(name, help);
  AddServeOptions(*command, options->settings);
  command->add_option("agent", options->agent, "An agent file, or an agent id in the agents folder")
      ->required();
  command->add_flag("--json", options->json, "Print the result as JSON");
  if (action == Action::kUndeploy) {
    command->add_flag("--purge", options->purge,
                      "Delete the agent's bucket too, with every call in it (for good)");
  }
  command->callback([command, options, action] {
    if (auto ok = ApplyConfigFile(*command, options->settings); !ok) {
      fmt::print(stderr, "tempovoice {}: invalid setting {}\n", command->get_name(),
                 ok.error().message);
      throw CLI::RuntimeError(2);
    }
    throw CLI::RuntimeError(RunAction(*options, action));
  });
}

}  // namespace

Result<std::unique_ptr<deploy::EcsDeployer>> MakeEcsDeployer(const ServeSettings& settings) {
  deploy::EcsSettings ecs;
  if (!settings.ecs_settings_file.empty()) {
    std::ifstream in(settings.ecs_settings_file);
    if (!in) {
      return InvalidArgument(
          fmt::format("--ecs-settings: cannot read '{}'", settings.ecs_settings_file));
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = deploy::ParseEcsSettings(text.str());
    if (!parsed) {
      return InvalidArgument(
          fmt::format("--ecs-settings {}: {}", settings.ecs_settings_file, parsed.error().message));
    }
    ecs = std::move(*parsed);
  }
  for (const auto& [key, value] : settings.ecs) {
    if (!value.empty()) TEMPO_TRY(deploy::SetEcsSetting(ecs, key, value));
  }
  deploy::EcsDeployerOptions options;
  options.settings = std::move(ecs);
  options.bucket_prefix = settings.s3_bucket_prefix;
  options.wait_timeout = std::chrono::seconds(settings.ecs_wait_timeout_s);
  options.wait_poll = std::chrono::seconds(settings.ecs_wait_poll_s);
  if (!settings.aws_endpoint.empty())
    options.endpoints = aws::EveryServiceAt(settings.aws_endpoint);
  return deploy::EcsDeployer::Create(std::move(options));
}

void AddDeployCommands(CLI::App& app) {
  AddAction(app, "deploy",
            "Deploy an agent to AWS with the ecs deployer (bucket, image, secrets, task "
            "definition, target group, service, listener rule), showing each step",
            Action::kDeploy);
  AddAction(app, "undeploy",
            "Remove an agent from AWS (rule, service, target group, task definitions, secret); "
            "its bucket of calls stays",
            Action::kUndeploy);
  AddAction(app, "status", "What an agent has on AWS, and whether its tasks are healthy",
            Action::kStatus);
}

}  // namespace tempo::cli
