#include "tempo/cli/probe_command.hpp"

#include "tempo/net/client.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <memory>
#include <string>

namespace tempo::cli {

void AddProbeCommand(CLI::App& app) {
  struct Options {
    std::string url;
    int timeout_ms = 3000;
  };
  auto options = std::make_shared<Options>();
  auto* probe = app.add_subcommand(
      "probe", "GET a URL; exit 0 when it answers 2xx (a container health check)");
  probe->add_option("url", options->url, "http:// URL, e.g. http://127.0.0.1:3000/health/live")
      ->required();
  probe->add_option("--timeout-ms", options->timeout_ms, "give up after this long")
      ->check(CLI::Range(100, 60'000));
  probe->callback([options] {
    net::ClientRequest request;
    request.url = options->url;
    request.connect_timeout = std::chrono::milliseconds(options->timeout_ms);
    request.response_timeout = std::chrono::milliseconds(options->timeout_ms);
    request.max_response_bytes = 64 * 1024;
    auto response = net::FetchBlocking(std::move(request));
    if (!response) {
      fmt::print(stderr, "probe: {}\n", response.error().message);
      throw CLI::RuntimeError(1);
    }
    if (response->status < 200 || response->status >= 300) {
      fmt::print(stderr, "probe: HTTP {}\n", response->status);
      throw CLI::RuntimeError(1);
    }
    throw CLI::RuntimeError(0);
  });
}

}  // namespace tempo::cli
