#include "tempo/cli/serve.hpp"

#include "tempo/agent/demo_agent.hpp"
#include "tempo/aws/credential_chain.hpp"
#include "tempo/base/clock.hpp"
#include "tempo/base/failpoint.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/base/system_memory.hpp"
#include "tempo/cli/deploy_command.hpp"
#include "tempo/cli/fd_limits.hpp"
#include "tempo/cli/ops_routes.hpp"
#include "tempo/cli/settings.hpp"
#include "tempo/cli/task_protection.hpp"
#include "tempo/control/control_plane.hpp"
#include "tempo/deploy/ecs_deployer.hpp"
#include "tempo/engine/echo_engine.hpp"
#include "tempo/engine/local/local_engine.hpp"
#include "tempo/engine/nova_sonic/nova_engine.hpp"
#include "tempo/net/client.hpp"
#include "tempo/net/server.hpp"
#include "tempo/runtime/agent_directory.hpp"
#include "tempo/runtime/runtime.hpp"
#include "tempo/storage/object_store.hpp"
#include "tempo/storage/s3_store.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tempo::cli {
namespace {

enum class Mode {
  kAll,       ///< serve: the control plane's agents (a demo on first run) and the agent files
  kOneAgent,  ///< agent: the one agent described by the seed's environment variables
};

std::optional<std::string> GetEnv(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
  return v == nullptr ? std::nullopt : std::optional<std::string>(v);
}

/// Whether the memory left (the container's or the host's, whichever is smaller) is under
/// `floor`. Read at most every 250 ms: a burst of calls costs one read.
std::function<bool()> MemoryFloor(uint64_t floor) {
  struct State {
    std::atomic<int64_t> checked_at{0};
    std::atomic<bool> low{false};
  };
  auto state = std::make_shared<State>();
  return [state, floor] {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = state->checked_at.load();
    if (now - last >= 250 && state->checked_at.compare_exchange_strong(last, now)) {
      const auto left = AvailableMemory();
      const bool low = left && *left < floor;
      if (low != state->low.exchange(low)) {
        TEMPO_LOG(cli, warn, "memory: {} MiB left, {} the floor of {} MiB: new calls {}",
                  left ? *left >> 20 : 0, low ? "under" : "back over", floor >> 20,
                  low ? "hear busy" : "are taken again");
      }
    }
    return state->low.load();
  };
}

/// "speech in,speech out,text in,text out" in US dollars per 1,000 tokens.
Result<engine::nova::TokenPrices> ParseTokenPrices(std::string_view text) {
  const auto invalid = [&] {
    return InvalidArgument(fmt::format(
        "--nova-price {:?}: four prices in US dollars per 1,000 tokens, \"speech in,speech out,"
        "text in,text out\", each a number from 0 to 1000",
        text));
  };
  std::vector<double> values;
  for (std::string_view rest = text;;) {
    const std::size_t comma = rest.find(',');
    const std::string part(Trim(rest.substr(0, comma)));
    double value = 0;
    const char* end = part.data() + part.size();
    const auto [ptr, ec] = std::from_chars(part.data(), end, value);
    if (part.empty() || ec != std::errc() || ptr != end || !std::isfinite(value) || value < 0 ||
        value > 1000) {
      return invalid();
    }
    values.push_back(value);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (values.size() != 4) return invalid();
  return engine::nova::TokenPrices{values[0], values[1], values[2], values[3]};
}

/// Where and how nova_sonic agents reach Bedrock. Credentials come from the AWS chain, asked at
/// each call's start (cached between refreshes).
Result<engine::nova::NovaOptions> BedrockOptions(const ServeSettings& settings) {
  engine::nova::NovaOptions nova;
  const aws::ChainOptions chain;
  nova.region =
      !settings.bedrock_region.empty() ? settings.bedrock_region : aws::ResolveRegion(chain);
  if (nova.region.empty()) nova.region = "us-east-1";
  nova.model_id = settings.nova_model;
  if (!settings.nova_price.empty()) {
    auto prices = ParseTokenPrices(settings.nova_price);
    if (!prices) return prices.error();
    nova.prices = *prices;
  }
  if (settings.bedrock_endpoint.empty()) {
    nova.target = {.host = fmt::format("bedrock-runtime.{}.amazonaws.com", nova.region),
                   .port = 443,
                   .tls = true};
  } else {
    auto url = net::ParseClientUrl(settings.bedrock_endpoint);
    if (!url || (url->scheme != "http" && url->scheme != "https")) {
      return InvalidArgument(fmt::format("--bedrock-endpoint {:?}: an http:// or https:// URL",
                                         settings.bedrock_endpoint));
    }
    nova.target = {.host = url->host, .port = url->port, .tls = url->tls()};
  }
  auto provider = aws::MakeDefaultCredentialChain(chain);
  nova.credentials = [provider] { return provider->Get(); };
  return nova;
}

/// Fills the directory; returns false (after printing why) when the agents cannot be loaded.
bool LoadAgents(const ServeSettings& settings, Mode mode, runtime::MemoryAgentDirectory& agents) {
  if (mode == Mode::kOneAgent) {
    auto config = agent::FromEnvironment(GetEnv);
    if (!config) {
      fmt::print(stderr, "tempovoice agent: invalid agent environment: {}\n",
                 config.error().message);
      return false;
    }
    TEMPO_LOG(cli, info, "serving agent {} ({})", config->agent_id, config->agent_name);
    agents.Put(std::move(*config));
    return true;
  }
  const std::filesystem::path dir = AgentsDir(settings);
  auto loaded = runtime::LoadAgentFiles(dir, agents);
  if (!loaded) {
    fmt::print(stderr, "tempovoice serve: {}\n", loaded.error().message);
    return false;
  }
  TEMPO_LOG(cli, info, "{} agent(s) loaded from {}", *loaded, dir.string());
  return true;
}

storage::S3StoreOptions S3Options(const ServeSettings& settings, std::string bucket) {
  storage::S3StoreOptions s3;
  s3.region = settings.s3_region;
  s3.endpoint = settings.s3_endpoint;
  s3.bucket_prefix = settings.s3_bucket_prefix;
  s3.bucket = std::move(bucket);
  s3.multipart_threshold = uint64_t{settings.s3_multipart_threshold_mib} * 1024 * 1024;
  s3.part_size = s3.multipart_threshold;
  return s3;
}

int Run(const ServeSettings& settings, Mode mode) {
  const auto started = std::chrono::steady_clock::now();
  const char* command = mode == Mode::kAll ? "serve" : "agent";
  if (auto ok = ValidateServeSettings(settings); !ok) {
    fmt::print(stderr, "tempovoice {}: invalid setting {}\n", command, ok.error().message);
    return 2;
  }
  log::Init(LogOptions(settings));
  const FileLimits files = RaiseFileLimit();
  if (files.soft > files.before) {
    TEMPO_LOG(cli, info, "file descriptors: soft limit raised from {} to {} (the hard limit)",
              files.before, files.soft);
  } else {
    TEMPO_LOG(cli, info, "file descriptors: limit {} (hard {})", files.soft, files.hard);
  }
  if (!failpoint::Armed().empty()) {
    TEMPO_LOG(cli, warn, "failpoints armed (a test build): {}", failpoint::Armed());
  }

  const std::filesystem::path data(settings.data_dir);
  // `agent` on ECS: the task definition names the agent's bucket (made by the deployer).
  const auto task_bucket = mode == Mode::kOneAgent ? GetEnv("S3_BUCKET_NAME") : std::nullopt;
  const bool in_s3 = settings.object_store == "s3" || (task_bucket && !task_bucket->empty());
  auto store = in_s3 ? storage::OpenS3Store(S3Options(settings, task_bucket.value_or("")))
                     : storage::OpenFsStore(data / "objects");
  if (!store) {
    fmt::print(stderr, "tempovoice {}: {}\n", command, store.error().message);
    return 1;
  }
  runtime::MemoryAgentDirectory agents;
  if (!LoadAgents(settings, mode, agents)) return 2;

  net::ServerOptions options;
  options.host = settings.host;
  options.port = settings.port;
  options.threads = settings.threads;
  options.max_header_bytes = settings.max_header_bytes;
  options.max_body_bytes = settings.max_body_bytes;
  options.request_timeout = std::chrono::milliseconds(settings.request_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(settings.idle_timeout_ms);
  options.head_timeout = std::chrono::milliseconds(settings.head_timeout_ms);
  const uint64_t connections_fit = ConnectionsThatFit(files.soft);
  options.shed_reserve = kShedReserve;
  options.max_connections = settings.max_connections != 0
                                ? std::min<uint64_t>(settings.max_connections, connections_fit)
                                : connections_fit;
  options.shutdown_grace = std::chrono::milliseconds(settings.shutdown_grace_ms);

  engine::EngineRegistry engines;
  engines.Add(engine::MakeEchoEngine());
  // The offline engine needs the pocketsphinx model package; without it, it says why and the
  // agents that use it answer with an apology.
  engine::local::LocalEngineOptions local_options;
  local_options.hangover = std::chrono::milliseconds(settings.turn_hangover_ms);
  local_options.silence_timeout = std::chrono::milliseconds(settings.silence_timeout_ms);
  if (auto local = engine::local::MakeLocalEngine(std::move(local_options))) {
    engines.Add(std::move(local));
  }
  auto nova = BedrockOptions(settings);
  if (!nova) {
    fmt::print(stderr, "tempovoice {}: invalid setting {}\n", command, nova.error().message);
    return 2;
  }
  engines.Add(engine::nova::MakeNovaSonicEngine(std::move(*nova)));

  net::Router router;
  net::Server server(options, router);
  auto run_blocking = [&server](std::function<void()> fn) { server.RunBlocking(std::move(fn)); };

  // serve: the control plane (API, users, agents in the database); the file agents still
  // answer through it. agent: the one agent from the environment, nothing else.
  std::unique_ptr<control::ControlPlane> control_plane;
  const runtime::AgentDirectory* directory = &agents;
  // Deploy puts agents on ECS: this process then serves the API and the dashboard, and the
  // agents answer from their own tasks. Its settings are checked before anything starts.
  std::unique_ptr<deploy::EcsDeployer> ecs_deployer;
  if (mode == Mode::kAll && settings.deployer == "ecs") {
    auto ecs = MakeEcsDeployer(settings);
    if (!ecs) {
      fmt::print(stderr, "tempovoice serve: --deployer ecs: {}\n", ecs.error().message);
      return 2;
    }
    ecs_deployer = std::move(*ecs);
  }
  if (mode == Mode::kAll) {
    control::ControlOptions control_options;
    control_options.data_dir = data;
    control_options.database_url = settings.database_url;
    control_options.public_url = settings.public_url;
    // The first run starts with the demo agent, deployed, in the dashboard.
    control_options.first_run_agent = agent::MakeDemoAgent("local");
    // Deploying builds the agent's speech model, so an agent the engine refuses (a knowledge
    // base over the local engine's limits) fails to deploy with that reason.
    control_options.prepare_speech = [&engines](const agent::AgentConfig& config) {
      return engines.Prepare(config);
    };
    // The dashboard offers, and the API accepts, only the engines this server really has.
    control_options.engines = engines.Names();
    control::ApplyEnvironment(control_options, GetEnv);
    auto opened = control::ControlPlane::Open(std::move(control_options), **store, run_blocking);
    if (!opened) {
      fmt::print(stderr, "tempovoice serve: {}\n", opened.error().message);
      return 1;
    }
    control_plane = std::move(*opened);
    control_plane->SetFallbackDirectory(&agents);
    if (ecs_deployer) control_plane->SetDeployer(std::move(ecs_deployer));
    directory = &control_plane->Directory();
  }

  runtime::RuntimeOptions runtime_options;
  runtime_options.data_dir = data;
  runtime_options.max_calls_per_org = settings.max_calls_per_org;
  const uint64_t fit = CallsThatFit(files.soft);
  runtime_options.max_calls =
      settings.max_calls != 0 ? std::min<uint64_t>(settings.max_calls, fit) : fit;
  if (settings.min_free_memory_mb != 0) {
    runtime_options.memory_low = MemoryFloor(uint64_t{settings.min_free_memory_mb} << 20);
  }
  runtime::Runtime calls(runtime_options, *directory, engines, **store, SystemClock::Instance(),
                         run_blocking);
  // /health: ready once the database answers, the object store takes a write and every served
  // agent's speech model is built (start-up preparation below).
  auto preparing = std::make_shared<std::atomic<int>>(0);
  Readiness readiness(run_blocking);
  if (control_plane) {
    readiness.Add("database", [cp = control_plane.get()]() -> Result<void> {
      TEMPO_TRY(cp->Database().Query("SELECT 1"));
      return Ok();
    });
  }
  readiness.Add("object_store", [&store = **store]() -> Result<void> {
    TEMPO_TRY(store.EnsureBucket("tempo-health"));
    return store.Put("tempo-health", "probe", "ok");
  });
  readiness.Add("engines", [preparing]() -> Result<void> {
    if (const int n = preparing->load(); n > 0) {
      return Unavailable(fmt::format("preparing the speech models of {} agent(s)", n));
    }
    return Ok();
  });
  readiness.SetCapacity([&calls] {
    const auto c = calls.capacity();
    return Readiness::Capacity{c.max_calls, c.calls};
  });
  AddOpsRoutes(router, started, readiness);
  calls.AddRoutes(router);
  if (control_plane) {
    calls.SetCallFinishedHook(
        [cp = control_plane.get()](const runtime::CallRecord& r) { return cp->CallFinished(r); });
    control_plane->AddRoutes(router);
    control_plane->SetRuntime(&calls);  // the dashboard's "talk to this agent"
  }

  if (auto recovered = calls.RecoverSpool(); !recovered) {
    TEMPO_LOG(cli, error, "could not recover interrupted calls: {}", recovered.error().message);
  } else if (*recovered > 0) {
    TEMPO_LOG(cli, info, "recovered {} call(s) interrupted by the last stop", *recovered);
  }

  if (auto ok = server.Listen(); !ok) {
    TEMPO_LOG(cli, critical, "{}", ok.error().message);
    return 1;
  }
  const std::string public_url = settings.public_url.empty()
                                     ? fmt::format("http://{}:{}", settings.host, server.port())
                                     : settings.public_url;
  calls.SetPublicUrl(public_url);
  if (control_plane) control_plane->SetPublicUrl(public_url);
  server.OnShutdown([&calls, &readiness] {
    readiness.SetDraining();
    calls.Shutdown();
  });
  // Build each agent's speech model (language model, dictionary) in the background, so the
  // first call does not wait for it and a knowledge base over the limits is reported now.
  for (const auto& config : directory->List()) {
    preparing->fetch_add(1);
    server.RunBlocking([&engines, config, preparing] {
      if (auto ok = engines.Prepare(*config); !ok) {
        // One agent's bad configuration keeps that agent from answering, not the server
        // from being ready: it is reported here and in the agent's deployment.
        TEMPO_LOG(cli, error, "agent {}: {}", config->agent_id, ok.error().message);
      }
      preparing->fetch_sub(1);
    });
  }

  // On ECS (`agent`): scale-in protection while calls are active, and the active-calls metric
  // the agent's scaling policy tracks.
  std::unique_ptr<TaskProtection> protection;
  if (const auto ecs_agent = GetEnv("ECS_AGENT_URI");
      mode == Mode::kOneAgent && ecs_agent && !ecs_agent->empty()) {
    TaskProtectionOptions protect;
    protect.agent_uri = *ecs_agent;
    const auto served = directory->List();
    if (!served.empty()) {
      protect.agent_id = served.front()->agent_id.str();
      // Past the longest call by five minutes, in whole minutes.
      protect.expiry = std::chrono::minutes((served.front()->max_session_duration + 300 + 59) / 60);
    }
    protect.active_calls = [&calls] { return calls.active_calls(); };
    protection = std::make_unique<TaskProtection>(std::move(protect));
  }

  // Tests and scripts wait for this exact line on stdout (it carries the port when --port 0).
  fmt::print("listening on http://{}:{}\n", settings.host, server.port());
  std::fflush(stdout);
  TEMPO_LOG(cli, info, "tempovoice {} {} on {}:{} (data in {})", TEMPO_VERSION, command,
            settings.host, server.port(), settings.data_dir);
  TEMPO_LOG(cli, info,
            "room for {} concurrent calls: {} file descriptors, {} each, {} kept for the rest "
            "(raise `ulimit -n` for more); calls past {} hear busy; connections past {} close "
            "the oldest idle or slow one",
            fit, files.soft, kDescriptorsPerCall, kReservedDescriptors, runtime_options.max_calls,
            options.max_connections);
  if (settings.min_free_memory_mb != 0) {
    const auto left = AvailableMemory();
    TEMPO_LOG(cli, info, "memory: {} MiB available; new calls hear busy under {} MiB",
              left ? fmt::format("{}", *left >> 20) : std::string("unknown"),
              settings.min_free_memory_mb);
  }

  auto ran = server.Run();
  if (!ran) {
    TEMPO_LOG(cli, error, "server stopped with an error: {}", ran.error().message);
    return 1;
  }
  // The last indexing pass, while the database is still open.
  calls.StopIndexing();
  protection.reset();  // every call has ended: protection off, a last metric
  // Said once, at exit: what the stop drained, and what the next start will recover.
  TEMPO_LOG(cli, info,
            "shut down cleanly: {} per-call task(s) drained during the stop, {} call(s) left in "
            "the spool and {} waiting to be indexed, for the next start",
            server.BlockingTasksRunAfterStop(), calls.SpoolBacklog(), calls.IndexBacklog());
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app) {
  auto settings = std::make_shared<ServeSettings>();
  auto* serve =
      app.add_subcommand("serve",
                         "Run everything on one machine: webhooks, media streams, API, dashboard. "
                         "Defaults: 127.0.0.1:3000, data under ./data");
  AddServeOptions(*serve, *settings);
  serve->callback([serve, settings] {
    if (auto ok = ApplyConfigFile(*serve, *settings); !ok) {
      fmt::print(stderr, "tempovoice serve: invalid setting {}\n", ok.error().message);
      throw CLI::RuntimeError(2);
    }
    throw CLI::RuntimeError(Run(*settings, Mode::kAll));
  });

  auto agent_settings = std::make_shared<ServeSettings>();
  agent_settings->host = "0.0.0.0";
  auto* agent = app.add_subcommand(
      "agent",
      "Run ONE agent configured from the environment (AGENT_ID, AGENT_NAME, AGENT_PROMPT, "
      "VOICE_ID, TWILIO_AUTH_TOKEN, ...): the container entrypoint on ECS. Listens on "
      "0.0.0.0:3000 by default");
  AddServeOptions(*agent, *agent_settings);
  agent->callback([agent, agent_settings] {
    if (auto ok = ApplyConfigFile(*agent, *agent_settings); !ok) {
      fmt::print(stderr, "tempovoice agent: invalid setting {}\n", ok.error().message);
      throw CLI::RuntimeError(2);
    }
    throw CLI::RuntimeError(Run(*agent_settings, Mode::kOneAgent));
  });
}

}  // namespace tempo::cli
