#include "tempo/cli/task_protection.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/log.hpp"
#include "tempo/net/client.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace tempo::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

}  // namespace

TaskProtection::TaskProtection(TaskProtectionOptions options) : options_(std::move(options)) {
  if (!options_.fetch) options_.fetch = net::FetchBlocking;
  if (!options_.emit) {
    options_.emit = [](const std::string& line) {
      std::fputs((line + "\n").c_str(), stdout);
      std::fflush(stdout);
    };
  }
  idle_since_ = Clock::now();
  next_metric_ = Clock::now();
  worker_ = std::thread([this] { Loop(); });
}

TaskProtection::~TaskProtection() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void TaskProtection::Loop() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    Pass(/*last=*/false);
    lock.lock();
    wake_.wait_for(lock, options_.tick, [this] { return stop_; });
  }
  lock.unlock();
  Pass(/*last=*/true);
}

void TaskProtection::Pass(bool last) {
  const auto now = Clock::now();
  const size_t active = options_.active_calls ? options_.active_calls() : 0;
  if (options_.metric_every.count() > 0 && !options_.agent_id.empty() &&
      (now >= next_metric_ || last)) {
    next_metric_ = now + options_.metric_every;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    options_.emit(DumpJson({{"_aws",
                             {{"Timestamp", ms},
                              {"CloudWatchMetrics",
                               {{{"Namespace", "TempoVoice"},
                                 {"Dimensions", {{"AgentId"}}},
                                 {"Metrics", {{{"Name", "ActiveCalls"}, {"Unit", "Count"}}}}}}}}},
                            {"AgentId", options_.agent_id},
                            {"ActiveCalls", active}}));
  }
  if (options_.agent_uri.empty()) return;
  if (active > 0) idle_since_ = now;
  bool want = active > 0;
  if (!want && protected_ && now - idle_since_ < options_.release_after && !last) want = true;
  const bool renew = want && protected_ && protected_until_ - now < options_.expiry / 2;
  if (want == protected_ && !renew) return;
  if (now < retry_at_ && !last) return;
  if (auto set = SetProtection(want); !set) {
    TEMPO_LOG_LIMITED(cli, warn, "task protection: {} failed: {} (calls go on; trying again)",
                      want ? "turning on" : "turning off", set.error().message);
    retry_at_ = now + retry_delay_;
    retry_delay_ = std::min(retry_delay_ * 2, std::chrono::milliseconds(30'000));
    return;
  }
  retry_delay_ = std::chrono::milliseconds(1000);
  retry_at_ = {};
  if (want && !protected_) {
    TEMPO_LOG(cli, info, "task protection on ({} active call(s))", active);
  } else if (!want) {
    TEMPO_LOG(cli, info, "task protection off (no call left)");
  }
  protected_ = want;
  protected_until_ = want ? now + options_.expiry : Clock::time_point{};
}

Result<void> TaskProtection::SetProtection(bool enabled) {
  net::ClientRequest request;
  request.method = net::Method::kPut;
  request.url = options_.agent_uri + "/task-protection/v1/state";
  json body = {{"ProtectionEnabled", enabled}};
  if (enabled) body["ExpiresInMinutes"] = options_.expiry.count();
  request.body = DumpJson(body);
  request.headers.Set("Content-Type", "application/json");
  request.connect_timeout = std::chrono::milliseconds(2000);
  request.response_timeout = std::chrono::milliseconds(5000);
  request.max_response_bytes = 64 * 1024;
  auto answer = options_.fetch(std::move(request));
  if (!answer) return answer.error();
  if (answer->status != 200) {
    return Unavailable(fmt::format("HTTP {}: {}", answer->status, answer->body.substr(0, 200)));
  }
  // The agent answers 200 with a "failure" object when ECS refused.
  const json parsed = json::parse(answer->body, nullptr, false);
  if (parsed.is_object() && parsed.contains("failure")) {
    return Unavailable(fmt::format("ECS refused: {}", DumpJson(parsed["failure"]).substr(0, 200)));
  }
  return Ok();
}

}  // namespace tempo::cli
