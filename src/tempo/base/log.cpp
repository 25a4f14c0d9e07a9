#include "tempo/base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <unistd.h>

namespace tempo::log {
namespace {

constexpr std::array kNames = {
#define TEMPO_LOG_NAME_(name) #name,
    TEMPO_LOG_COMPONENTS(TEMPO_LOG_NAME_)
#undef TEMPO_LOG_NAME_
};

void AppendJsonEscaped(std::string_view s, spdlog::memory_buf_t& out) {
  for (const char c : s) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", static_cast<int>(c));
        } else {
          out.push_back(c);
        }
    }
  }
}

/// One JSON object per line: {"ts":…,"level":…,"component":…,"msg":…}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()) % 1000;
    const std::time_t t = std::chrono::system_clock::to_time_t(msg.time);
    std::tm tm{};
    gmtime_r(&t, &tm);
    fmt::format_to(std::back_inserter(dest),
                   "{{\"ts\":\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\",\"level\":\"",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   static_cast<int>(ms.count()));
    const auto level = spdlog::level::to_string_view(msg.level);
    dest.append(level.data(), level.data() + level.size());
    dest.append(std::string_view("\",\"component\":\""));
    AppendJsonEscaped({msg.logger_name.data(), msg.logger_name.size()}, dest);
    dest.append(std::string_view("\",\"msg\":\""));
    AppendJsonEscaped({msg.payload.data(), msg.payload.size()}, dest);
    dest.append(std::string_view("\"}\n"));
  }
  std::unique_ptr<formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

struct State {
  std::mutex mutex;
  std::array<std::shared_ptr<spdlog::logger>, kNames.size()> loggers;

  State() {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
    for (size_t i = 0; i < kNames.size(); ++i) {
      loggers[i] = std::make_shared<spdlog::logger>(kNames[i], sink);
      loggers[i]->set_level(spdlog::level::info);
    }
  }
};

State& GetState() {
  static State state;
  return state;
}

}  // namespace

void Init(const Options& options) {
  auto& state = GetState();
  std::lock_guard lock(state.mutex);
  const bool json = options.format == Format::kJson ||
                    (options.format == Format::kAuto && isatty(STDERR_FILENO) == 0);
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      json ? spdlog::color_mode::never : spdlog::color_mode::automatic);
  if (json) {
    sink->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
  }
  for (auto& logger : state.loggers) {
    // Loggers are shared_ptrs held for the process lifetime; swapping sinks in place keeps
    // references returned by Get() valid.
    logger->sinks().assign({sink});
    logger->set_level(options.level);
    logger->flush_on(spdlog::level::warn);
  }
}

spdlog::logger& Get(Component component) {
  return *GetState().loggers[static_cast<size_t>(component)];
}

bool ParseLevel(std::string_view text, spdlog::level::level_enum& out) {
  static constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 7> kLevels{{
      {"trace", spdlog::level::trace},
      {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},
      {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical},
      {"off", spdlog::level::off},
  }};
  for (const auto& [name, level] : kLevels) {
    if (name == text) {
      out = level;
      return true;
    }
  }
  return false;
}

}  // namespace tempo::log
