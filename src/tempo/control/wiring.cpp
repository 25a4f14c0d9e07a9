// ControlPlane: opens the database, builds the shared services (ControlState), runs the
// start-up steps and adds every resource's routes.

#include "tempo/base/log.hpp"
#include "tempo/control/api_support.hpp"
#include "tempo/control/bootstrap.hpp"
#include "tempo/control/control_plane.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/dashboard.hpp"
#include "tempo/control/openapi.hpp"
#include "tempo/db/migrations.hpp"

#include <fmt/format.h>

namespace tempo::control {

void ApplyEnvironment(ControlOptions& options,
                      const std::function<std::optional<std::string>(std::string_view)>& getenv) {
  if (auto v = getenv("TEMPO_ADMIN_EMAIL"); v && !v->empty()) options.admin_email = *v;
  if (auto v = getenv("TEMPO_ADMIN_PASSWORD"); v && !v->empty()) options.admin_password = *v;
  if (auto v = getenv("TEMPO_SECRET_KEY"); v && !v->empty()) options.secret_key_base64 = *v;
}

ControlPlane::ControlPlane(std::unique_ptr<ControlState> state) : state_(std::move(state)) {}
ControlPlane::~ControlPlane() = default;

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(ControlOptions options,
                                                         storage::ObjectStore& store,
                                                         RunBlocking run_blocking,
                                                         const Clock& clock) {
  std::string url = options.database_url;
  if (url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.data_dir, ec);
    url = "sqlite://" + (options.data_dir / "tempo.db").string();
  }
  auto database = db::Open(url);
  if (!database) {
    return Error{database.error().code,
                 fmt::format("cannot open the database: {}", database.error().message)};
  }
  return Create(std::move(options), std::move(*database), store, std::move(run_blocking), clock);
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::Create(ControlOptions options,
                                                           std::unique_ptr<db::Database> database,
                                                           storage::ObjectStore& store,
                                                           RunBlocking run_blocking,
                                                           const Clock& clock) {
  TEMPO_TRY(InitCrypto());
  if (auto migrated = db::Migrate(*database, clock); !migrated) {
    return Error{migrated.error().code,
                 fmt::format("cannot migrate the database {}: {}", database->RedactedUrl(),
                             migrated.error().message)};
  }
  TEMPO_ASSIGN_OR_RETURN(SecretBox::Key key, LoadOrCreateKey(options.secret_key_base64,
                                                             options.data_dir / "secret.key"));
  auto state = std::make_unique<ControlState>(std::move(options), std::move(database), store,
                                              std::move(run_blocking), clock, key);
  TEMPO_TRY(Bootstrap(*state));
  TEMPO_TRY(state->deployments.FailInterrupted());
  TEMPO_ASSIGN_OR_RETURN(size_t deployed, state->directory.Reload());
  TEMPO_LOG(control, info, "control plane on {}: {} deployed agent(s)", state->db->RedactedUrl(),
            deployed);
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(state)));
}

void ControlPlane::AddRoutes(net::Router& router) {
  router.Add(net::Method::kGet, "/api/v1/openapi.json", [](const net::Request&) {
    auto r = net::Response::Json(200, OpenApiDocument());
    r.headers.Set("Cache-Control", "public, max-age=300");
    return r;
  });
  ApiRoutes routes(router, *state_);
  AddAuthRoutes(routes);
  AddAgentRoutes(routes);
  AddNumberRoutes(routes);
  AddCallRoutes(routes);
  AddUsageRoutes(routes);
  AddTalkRoutes(routes);
  AddDashboardRoutes(router);
}

void ControlPlane::SetRuntime(runtime::Runtime* runtime) { state_->runtime = runtime; }

const runtime::AgentDirectory& ControlPlane::Directory() const { return state_->directory; }

void ControlPlane::SetFallbackDirectory(const runtime::AgentDirectory* fallback) {
  state_->directory.SetFallback(fallback);
}

Result<void> ControlPlane::CallFinished(const runtime::CallRecord& record) {
  TEMPO_TRY(state_->calls.Index(record));
  return Ok();
}

void ControlPlane::SetPublicUrl(std::string url) { state_->SetPublicUrl(std::move(url)); }

void ControlPlane::SetDeployer(std::unique_ptr<Deployer> deployer) {
  state_->deployments.SetDeployer(std::move(deployer));
}

AuthService& ControlPlane::Auth() { return state_->auth; }
db::Database& ControlPlane::Database() { return *state_->db; }

}  // namespace tempo::control
