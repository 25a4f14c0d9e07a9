#include "tempo/cli/settings.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>

namespace tempo::cli {

void AddServeOptions(CLI::App& command, ServeSettings& s) {
  command.set_config("--config", "", "Config file (key = value lines, keys as the long flags)")
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
}

Result<void> ValidateServeSettings(const ServeSettings& s) {
  spdlog::level::level_enum level{};
  if (!log::ParseLevel(s.log_level, level)) {
    return InvalidArgument(fmt::format(
        "log-level: '{}' is not one of trace, debug, info, warn, error, critical, off",
        s.log_level));
  }
  if (s.log_format != "auto" && s.log_format != "text" && s.log_format != "json") {
    return InvalidArgument(
        fmt::format("log-format: '{}' is not one of auto, text, json", s.log_format));
  }
  if (s.host.empty()) return InvalidArgument("host: must not be empty");
  if (s.data_dir.empty()) return InvalidArgument("data-dir: must not be empty");
  if (!s.public_url.empty() && s.public_url.rfind("http://", 0) != 0 &&
      s.public_url.rfind("https://", 0) != 0) {
    return InvalidArgument(fmt::format(
        "public-url: '{}' must start with http:// or https://", s.public_url));
  }
  if (!s.public_url.empty() && s.public_url.back() == '/') {
    return InvalidArgument(
        fmt::format("public-url: '{}' must not end with '/'", s.public_url));
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
