#include "tempo/control/control_state.hpp"

#include "tempo/control/api_support.hpp"

#include <fmt/format.h>

namespace tempo::control {

ControlState::ControlState(ControlOptions o, std::unique_ptr<db::Database> d,
                           storage::ObjectStore& s, ControlPlane::RunBlocking rb, const Clock& c,
                           const SecretBox::Key& key)
    : options(std::move(o)),
      db(std::move(d)),
      store(s),
      run_blocking(std::move(rb)),
      clock(c),
      box(key),
      auth(*db, c, options.password_cost, options.session_ttl),
      limiter(c, options.login_failures_per_minute, std::chrono::seconds(60)),
      directory(*db, box),
      deployments(*db, c, run_blocking,
                  std::make_unique<LocalDeployer>(store, directory, options.prepare_speech)),
      calls(*db),
      public_url_(options.public_url) {}

int64_t ControlState::NowMs() const { return WallMs(clock); }

std::string ControlState::PublicUrl() const {
  std::lock_guard lock(url_mutex_);
  return public_url_;
}

void ControlState::SetPublicUrl(std::string url) {
  std::lock_guard lock(url_mutex_);
  public_url_ = std::move(url);
}

std::string ControlState::VoiceUrl(std::string_view agent_id) const {
  return fmt::format("{}/agent/{}/incoming-call", PublicUrl(), agent_id);
}

}  // namespace tempo::control
