#pragma once

// Internal to the control module: the services one control plane shares between its API
// resources, the call index and start-up. Owned by ControlPlane; lives as long as it.

#include "tempo/base/clock.hpp"
#include "tempo/control/agent_store.hpp"
#include "tempo/control/auth.hpp"
#include "tempo/control/call_index.hpp"
#include "tempo/control/control_plane.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/control/deployment_service.hpp"
#include "tempo/control/talk_api.hpp"
#include "tempo/db/database.hpp"
#include "tempo/storage/object_store.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace tempo::control {

struct ControlState {
  ControlState(ControlOptions o, std::unique_ptr<db::Database> d, storage::ObjectStore& s,
               ControlPlane::RunBlocking rb, const Clock& c, const SecretBox::Key& key);

  ControlOptions options;
  std::unique_ptr<db::Database> db;
  storage::ObjectStore& store;
  ControlPlane::RunBlocking run_blocking;
  const Clock& clock;
  SecretBox box;
  AuthService auth;
  LoginRateLimiter limiter;
  DbAgentDirectory directory;
  DeploymentService deployments;
  CallIndex calls;
  TalkTickets talk;
  /// Set once before serving (ControlPlane::SetRuntime); null: browser calls answer 503.
  runtime::Runtime* runtime = nullptr;

  [[nodiscard]] int64_t NowMs() const;
  [[nodiscard]] std::string PublicUrl() const;
  void SetPublicUrl(std::string url);
  /// The Voice URL Twilio must call for `agent_id`.
  [[nodiscard]] std::string VoiceUrl(std::string_view agent_id) const;

 private:
  mutable std::mutex url_mutex_;
  std::string public_url_;
};

}  // namespace tempo::control
