#include "tempo/cli/settings.hpp"

#include "tempo/deploy/ecs_settings.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

namespace tempo::cli {

void AddServeOptions(CLI::App& command, ServeSettings& s) {
  command
      .add_option("--config", s.config_file,
                  "Config file: 'key = value' lines, keys named as the long flags (data-dir = ...)")
      ->envname("TEMPO_CONFIG");
  command.add_option("--host", s.host, "Address to listen on")
      ->envname("TEMPO_HOST")
      ->capture_default_str();
  command.add_option("--port", s.port, "TCP port to listen on (0 picks a free one)")
      ->envname("TEMPO_PORT")
      ->capture_default_str();
  command.add_option("--data-dir", s.data_dir, "Where calls, recordings and the database live")
      ->envname("TEMPO_DATA_DIR")
      ->capture_default_str();
  command
      .add_option("--database-url", s.database_url,
                  "Control-plane database: sqlite:///path/tempo.db or postgres://user@host/db "
                  "(default: sqlite://<data-dir>/tempo.db)")
      ->envname("TEMPO_DATABASE_URL");
  command
      .add_option("--agents-dir", s.agents_dir,
                  "Folder of agent JSON files, one per agent (default: <data-dir>/agents)")
      ->envname("TEMPO_AGENTS_DIR");
  command
      .add_option("--public-url", s.public_url,
                  "Public base URL Twilio uses to reach this server, e.g. https://voice.example.com"
                  " (default: http://<host>:<port>)")
      ->envname("TEMPO_PUBLIC_URL");
  command.add_option("--log-level", s.log_level, "trace|debug|info|warn|error|critical|off")
      ->envname("TEMPO_LOG_LEVEL")
      ->capture_default_str();
  command
      .add_option("--log-format", s.log_format,
                  "auto (text on a terminal, JSON lines otherwise) | text | json")
      ->envname("TEMPO_LOG_FORMAT")
      ->capture_default_str();
  command.add_option("--threads", s.threads, "I/O threads (0 = one per core)")
      ->envname("TEMPO_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  command
      .add_option("--request-timeout-ms", s.request_timeout_ms,
                  "Time allowed to receive one whole HTTP request")
      ->envname("TEMPO_REQUEST_TIMEOUT_MS")
      ->check(CLI::Range(100, 600'000))
      ->capture_default_str();
  command
      .add_option("--idle-timeout-ms", s.idle_timeout_ms,
                  "How long an idle keep-alive connection stays open")
      ->envname("TEMPO_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(100, 3'600'000))
      ->capture_default_str();
  command
      .add_option("--head-timeout-ms", s.head_timeout_ms,
                  "Time allowed for a request head once it began (1 s while connections are "
                  "three quarters of the cap)")
      ->envname("TEMPO_HEAD_TIMEOUT_MS")
      ->check(CLI::Range(100, 600'000))
      ->capture_default_str();
  command
      .add_option("--shutdown-grace-ms", s.shutdown_grace_ms,
                  "On SIGTERM, how long in-flight requests and calls may take to finish")
      ->envname("TEMPO_SHUTDOWN_GRACE_MS")
      ->check(CLI::Range(0, 600'000))
      ->capture_default_str();
  command
      .add_option("--max-header-bytes", s.max_header_bytes,
                  "Largest accepted request head (larger: 431)")
      ->envname("TEMPO_MAX_HEADER_BYTES")
      ->check(CLI::Range(1024, 1024 * 1024))
      ->capture_default_str();
  command
      .add_option("--max-body-bytes", s.max_body_bytes,
                  "Largest accepted request body (larger: 413)")
      ->envname("TEMPO_MAX_BODY_BYTES")
      ->check(CLI::Range(1024, 256 * 1024 * 1024))
      ->capture_default_str();
  command
      .add_option("--turn-hangover-ms", s.turn_hangover_ms,
                  "Local engine: caller silence that ends a turn (multiple of 20)")
      ->envname("TEMPO_TURN_HANGOVER_MS")
      ->check(CLI::Range(200, 2000))
      ->capture_default_str();
  command
      .add_option("--silence-timeout-ms", s.silence_timeout_ms,
                  "Local engine: caller silence before a re-prompt (twice: a polite end)")
      ->envname("TEMPO_SILENCE_TIMEOUT_MS")
      ->check(CLI::Range(2000, 120'000))
      ->capture_default_str();
  command
      .add_option("--max-calls-per-org", s.max_calls_per_org,
                  "Concurrent calls one organisation may have (0: no limit)")
      ->envname("TEMPO_MAX_CALLS_PER_ORG")
      ->capture_default_str();
  command
      .add_option("--max-calls", s.max_calls,
                  "Concurrent calls this server takes; past it callers hear busy (0: what the "
                  "file descriptor limit leaves room for)")
      ->envname("TEMPO_MAX_CALLS")
      ->capture_default_str();
  command
      .add_option("--max-connections", s.max_connections,
                  "Open connections at most; at the cap the oldest idle or slow one is closed "
                  "(0: what the file descriptor limit leaves room for)")
      ->envname("TEMPO_MAX_CONNECTIONS")
      ->capture_default_str();
  command
      .add_option("--min-free-memory-mb", s.min_free_memory_mb,
                  "Memory a new call needs left (the container's limit or the host's, whichever "
                  "is smaller); under it callers hear busy (0: not checked)")
      ->envname("TEMPO_MIN_FREE_MEMORY_MB")
      ->capture_default_str();
  command
      .add_option("--object-store", s.object_store,
                  "Where call artefacts go: fs (<data-dir>/objects) or s3 (one bucket per agent)")
      ->envname("TEMPO_OBJECT_STORE")
      ->check(CLI::IsMember({"fs", "s3"}))
      ->capture_default_str();
  command
      .add_option("--s3-region", s.s3_region,
                  "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region)")
      ->envname("TEMPO_S3_REGION");
  command
      .add_option("--s3-endpoint", s.s3_endpoint,
                  "S3 endpoint override, e.g. http://127.0.0.1:5000 (moto) or a VPC endpoint")
      ->envname("TEMPO_S3_ENDPOINT");
  command
      .add_option("--bedrock-endpoint", s.bedrock_endpoint,
                  "Bedrock Runtime endpoint for nova_sonic agents, e.g. http://127.0.0.1:8443 "
                  "(the emulator, h2c) or a VPC endpoint (default: bedrock-runtime.<region>."
                  "amazonaws.com over TLS)")
      ->envname("TEMPO_BEDROCK_ENDPOINT");
  command
      .add_option("--bedrock-region", s.bedrock_region,
                  "Bedrock region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, "
                  "else us-east-1)")
      ->envname("TEMPO_BEDROCK_REGION");
  command.add_option("--nova-model", s.nova_model, "Nova Sonic model id")
      ->envname("TEMPO_NOVA_MODEL")
      ->capture_default_str();
  command
      .add_option("--nova-price", s.nova_price,
                  "Nova Sonic's price in US dollars per 1,000 tokens, for each call's cost: "
                  "\"speech in,speech out,text in,text out\" (default: 0.0034,0.0136,0.00006,"
                  "0.00024, the us-east-1 list price at launch)")
      ->envname("TEMPO_NOVA_PRICE");
  command
      .add_option("--s3-bucket-prefix", s.s3_bucket_prefix,
                  "Put before every bucket name (bucket names are global): "
                  "<prefix>tempo-agent-transcripts-<agentId>")
      ->envname("TEMPO_S3_BUCKET_PREFIX");
  command
      .add_option("--s3-multipart-threshold-mib", s.s3_multipart_threshold_mib,
                  "Recordings from this size up are uploaded in parts of this size")
      ->envname("TEMPO_S3_MULTIPART_THRESHOLD_MIB")
      ->check(CLI::Range(5, 5 * 1024))
      ->capture_default_str();
  command
      .add_option("--deployer", s.deployer,
                  "What Deploy does: local (this process serves the agent) or ecs (a Fargate "
                  "service per agent behind the load balancer)")
      ->envname("TEMPO_DEPLOYER")
      ->check(CLI::IsMember({"local", "ecs"}))
      ->capture_default_str();
  command
      .add_option("--ecs-settings", s.ecs_settings_file,
                  "The ecs deployer's infrastructure: a file of `terraform output -json`")
      ->envname("TEMPO_ECS_SETTINGS");
  for (const auto& field : deploy::EcsSettingFields()) {
    std::string flag(field.name);
    std::replace(flag.begin(), flag.end(), '_', '-');
    std::string env = "TEMPO_ECS_" + std::string(field.name);
    std::transform(env.begin(), env.end(), env.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    command
        .add_option("--ecs-" + flag, s.ecs[std::string(field.name)],
                    fmt::format("ecs deployer: {}{} (wins over --ecs-settings)", field.description,
                                field.list ? ", comma-separated" : ""))
        ->envname(env);
  }
  command
      .add_option("--aws-endpoint", s.aws_endpoint,
                  "Send every AWS call of the deployer here (moto, a VPC endpoint)")
      ->envname("TEMPO_AWS_ENDPOINT");
  command
      .add_option("--ecs-wait-timeout-s", s.ecs_wait_timeout_s,
                  "How long a deploy waits for the tasks to run and pass health checks")
      ->envname("TEMPO_ECS_WAIT_TIMEOUT_S")
      ->check(CLI::Range(10, 3600))
      ->capture_default_str();
  command
      .add_option("--ecs-wait-poll-s", s.ecs_wait_poll_s,
                  "How often a deploy asks ECS whether the tasks are healthy")
      ->envname("TEMPO_ECS_WAIT_POLL_S")
      ->check(CLI::Range(1, 60))
      ->capture_default_str();
}

std::filesystem::path AgentsDir(const ServeSettings& settings) {
  return settings.agents_dir.empty() ? std::filesystem::path(settings.data_dir) / "agents"
                                     : std::filesystem::path(settings.agents_dir);
}

Result<void> ApplyConfigFile(CLI::App& command, const ServeSettings& settings) {
  if (settings.config_file.empty()) return Ok();
  std::ifstream in(settings.config_file);
  if (!in) return InvalidArgument(fmt::format("config: cannot read '{}'", settings.config_file));
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto trim = [](std::string v) {
      const auto b = v.find_first_not_of(" \t\r");
      const auto e = v.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : v.substr(b, e - b + 1);
    };
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    line = trim(line);
    if (line.empty()) continue;
    const auto eq = line.find('=');
    const auto where = fmt::format("config {} line {}", settings.config_file, number);
    if (eq == std::string::npos) return InvalidArgument(where + ": expected 'key = value'");
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    std::replace(key.begin(), key.end(), '_', '-');
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    CLI::Option* option = key == "config" ? nullptr : command.get_option_no_throw("--" + key);
    if (option == nullptr)
      return InvalidArgument(fmt::format("{}: unknown setting '{}'", where, key));
    if (option->count() > 0) continue;  // a flag or the environment already set it
    try {
      option->add_result(value);
      option->run_callback();
    } catch (const CLI::Error& e) {
      return InvalidArgument(fmt::format("{}: {}: {}", where, key, e.what()));
    }
  }
  return Ok();
}

Result<void> ValidateServeSettings(const ServeSettings& s) {
  spdlog::level::level_enum level{};
  if (!log::ParseLevel(s.log_level, level)) {
    return InvalidArgument(
        fmt::format("log-level: '{}' is not one of trace, debug, info, warn, error, critical, off",
                    s.log_level));
  }
  if (s.log_format != "auto" && s.log_format != "text" && s.log_format != "json") {
    return InvalidArgument(
        fmt::format("log-format: '{}' is not one of auto, text, json", s.log_format));
  }
  if (s.host.empty()) return InvalidArgument("host: must not be empty");
  if (s.turn_hangover_ms % 20 != 0) {
    return InvalidArgument(
        fmt::format("turn-hangover-ms: {} is not a multiple of 20 (the voice detector's frame)",
                    s.turn_hangover_ms));
  }
  if (s.data_dir.empty()) return InvalidArgument("data-dir: must not be empty");
  if (!s.public_url.empty() && s.public_url.rfind("http://", 0) != 0 &&
      s.public_url.rfind("https://", 0) != 0) {
    return InvalidArgument(
        fmt::format("public-url: '{}' must start with http:// or https://", s.public_url));
  }
  if (!s.public_url.empty() && s.public_url.back() == '/') {
    return InvalidArgument(fmt::format("public-url: '{}' must not end with '/'", s.public_url));
  }
  std::error_code ec;
  std::filesystem::create_directories(s.data_dir, ec);
  if (ec) {
    return InvalidArgument(
        fmt::format("data-dir: cannot create '{}': {}", s.data_dir, ec.message()));
  }
  return Ok();
}

log::Options LogOptions(const ServeSettings& s) {
  log::Options options;
  log::ParseLevel(s.log_level, options.level);
  options.format = s.log_format == "json"   ? log::Format::kJson
                   : s.log_format == "text" ? log::Format::kText
                                            : log::Format::kAuto;
  return options;
}

}  // namespace tempo::cli
