#pragma once

#include "tempo/base/log.hpp"
#include "tempo/base/result.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace CLI {
class App;
}

namespace tempo::cli {

/// Every setting of `tempovoice serve`. Each comes, in order of precedence, from its flag
/// (--data-dir), its environment variable (TEMPO_DATA_DIR), the config file (data-dir = "...")
/// or the default below. docs/configuration.md and the README list them all.
struct ServeSettings {
  std::string config_file;
  std::string host = "127.0.0.1";
  uint16_t port = 3000;
  std::string data_dir = "./data";
  /// The control plane's database: sqlite:///path.db or postgres://user@host/db.
  /// Empty: sqlite://<data-dir>/tempo.db.
  std::string database_url;
  /// Agent JSON files (one per agent). Empty: <data-dir>/agents.
  std::string agents_dir;
  /// The URL Twilio reaches us at; signatures are checked against it. Empty: http://host:port.
  std::string public_url;
  std::string log_level = "info";
  std::string log_format = "auto";
  unsigned threads = 0;
  uint32_t request_timeout_ms = 10'000;
  uint32_t idle_timeout_ms = 60'000;
  uint32_t shutdown_grace_ms = 10'000;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  /// Local engine: caller silence that ends a turn (a multiple of 20 ms). Shorter answers
  /// sooner; longer lets slow speakers pause mid-sentence.
  uint32_t turn_hangover_ms = 400;
  /// Local engine: caller silence after the agent spoke before "Are you still there?" (the
  /// same again ends the call politely).
  uint32_t silence_timeout_ms = 8000;
  /// Calls one organisation may have at once on this server (0: no limit). Over it a caller
  /// hears "all our lines are busy" and the call is not connected.
  uint32_t max_calls_per_org = 100;
  /// Calls this server takes at once; past it callers hear "busy". 0: what the file
  /// descriptors leave room for (logged at start-up).
  uint32_t max_calls = 0;
  uint32_t max_connections = 0;      ///< 0: what the descriptor limit leaves room for
  uint32_t min_free_memory_mb = 64;  ///< under it new calls hear busy; 0: not checked
  uint32_t head_timeout_ms = 5'000;
  /// Where call artefacts go: fs (<data-dir>/objects) or s3.
  std::string object_store = "fs";
  std::string s3_region;         ///< empty: AWS_REGION / AWS_DEFAULT_REGION / the profile's
  std::string s3_endpoint;       ///< moto, a VPC endpoint; empty: AWS
  std::string bedrock_endpoint;  ///< the Bedrock emulator, a VPC endpoint; empty: AWS
  std::string bedrock_region;    ///< empty: AWS_REGION / AWS_DEFAULT_REGION / the profile's
  std::string nova_model = "amazon.nova-2-sonic-v1:0";
  /// USD per 1,000 tokens: "speech in,speech out,text in,text out"; empty: the engine's defaults.
  std::string nova_price;
  std::string s3_bucket_prefix;  ///< before every tempo-agent-transcripts-{agentId}
  uint32_t s3_multipart_threshold_mib = 8;
  /// What Deploy does: local (this process serves the agent) or ecs (one Fargate service per
  /// agent behind the load balancer; docs/deploy-aws.md).
  std::string deployer = "local";
  /// The ecs deployer's shared infrastructure: `terraform output -json` of deploy/terraform.
  std::string ecs_settings_file;
  /// --ecs-<setting> flags, by setting name (deploy::EcsSettingFields()); they win over the
  /// file. Lists are comma-separated.
  std::map<std::string, std::string> ecs;
  /// Every AWS service the deployer calls at this URL instead (moto, a VPC endpoint).
  std::string aws_endpoint;
  /// How long a deploy waits for healthy tasks, and how often it asks.
  uint32_t ecs_wait_timeout_s = 900;
  uint32_t ecs_wait_poll_s = 10;
};

/// Registers the serve settings as options of `command` (flags with environment fallbacks and
/// a --config file option). CLI11 applies precedence: flag > environment > file > default.
void AddServeOptions(CLI::App& command, ServeSettings& settings);

/// Applies `settings.config_file` (if set) to every option of `command` that neither a flag
/// nor the environment set. Format: `key = value` lines (key = the flag without "--"; '#'
/// starts a comment; values may be quoted). Unknown keys and bad values are errors naming the
/// file, line and key.
Result<void> ApplyConfigFile(CLI::App& command, const ServeSettings& settings);

/// Checks what CLI11 cannot check alone. The error names the setting and what is wrong.
Result<void> ValidateServeSettings(const ServeSettings& settings);

/// The folder of agent files: --agents-dir, else <data-dir>/agents.
std::filesystem::path AgentsDir(const ServeSettings& settings);

/// The logging options the settings ask for (already validated).
log::Options LogOptions(const ServeSettings& settings);

}  // namespace tempo::cli
