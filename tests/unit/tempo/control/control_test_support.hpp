#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/control/control_plane.hpp"
#include "tempo/db/database.hpp"
#include "tempo/net/router.hpp"
#include "tempo/storage/object_store.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace tempo::control::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

/// A logged-in user (cookie + CSRF token) or an API key.
struct Credentials {
  std::string cookie;  ///< "tempo_session=..."
  std::string csrf;
  std::string bearer;  ///< "tv_..."
};

struct Reply {
  int status = 0;
  net::Headers headers;
  std::string body;
  [[nodiscard]] nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
  [[nodiscard]] std::string ErrorCode() const {
    auto j = Json();
    if (!j.is_object() || !j.contains("error")) return "<no error body>";
    return j["error"].value("code", "<no code>");
  }
  [[nodiscard]] std::vector<std::string> ErrorFields() const {
    std::vector<std::string> out;
    auto j = Json();
    if (!j.is_object() || !j.contains("error")) return out;
    for (const auto& f : j["error"]["fields"]) out.push_back(f.value("field", ""));
    return out;
  }
  [[nodiscard]] std::string Header(std::string_view name) const {
    auto v = headers.Find(name);
    return v ? std::string(*v) : std::string();
  }
};

/// Each test gets its own database (a SQLite file, or a fresh PostgreSQL schema when
/// TEMPO_TEST_POSTGRES_URL is set), object store and control plane, driven in-process
/// through the router with blocking work run inline.
class ControlTest : public ::testing::TestWithParam<Backend> {
 protected:
  static constexpr const char* kAdminEmail = "admin@example.com";
  static constexpr const char* kAdminPassword = "correct horse battery";

  void SetUp() override {
    std::random_device random;
    suffix_ = std::to_string(random()) + std::to_string(random());
    dir_ = std::filesystem::temp_directory_path() / ("tempo_control_test_" + suffix_);
    std::filesystem::create_directories(dir_);
    if (GetParam() == Backend::kPostgres) {
      const char* url = std::getenv("TEMPO_TEST_POSTGRES_URL");
      if (url == nullptr || *url == '\0') {
        GTEST_SKIP() << "TEMPO_TEST_POSTGRES_URL is not set; start a throw-away server with "
                        "`export \"$(tools/pg-test-cluster.sh)\"` to run the PostgreSQL variant";
      }
      pg_url_ = url;
      schema_ = "ctl_" + suffix_;
      auto admin = db::Open(pg_url_);
      ASSERT_TRUE(admin) << admin.error().ToString();
      admin_db_ = std::move(*admin);
      ASSERT_TRUE(admin_db_->ExecuteScript("CREATE SCHEMA " + schema_));
    }
    auto store = storage::OpenFsStore(dir_ / "objects");
    ASSERT_TRUE(store) << store.error().ToString();
    store_ = std::move(*store);
    options_.data_dir = dir_;
    options_.admin_email = kAdminEmail;
    options_.admin_password = kAdminPassword;
    options_.password_cost = PasswordCost::kMinimum;
    options_.public_url = "https://voice.example.com";
    options_.print_line = [this](std::string_view line) { printed_.emplace_back(line); };
    options_.engines = {"echo", "local"};
    Start();
  }

  void TearDown() override {
    control_.reset();
    if (admin_db_) {
      EXPECT_TRUE(admin_db_->ExecuteScript("DROP SCHEMA " + schema_ + " CASCADE"));
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Result<std::unique_ptr<db::Database>> Connect() {
    if (GetParam() == Backend::kSqlite) return db::Open("sqlite://" + (dir_ / "tempo.db").string());
    TEMPO_ASSIGN_OR_RETURN(auto db, db::Open(pg_url_));
    TEMPO_TRY(db->ExecuteScript("SET search_path TO " + schema_));
    return db;
  }

  /// (Re)creates the control plane over the same database and a new router.
  void Start() {
    control_.reset();
    router_ = std::make_unique<net::Router>();
    auto db = Connect();
    ASSERT_TRUE(db) << db.error().ToString();
    auto control = ControlPlane::Create(
        options_, std::move(*db), *store_, [](std::function<void()> fn) { fn(); }, clock_);
    ASSERT_TRUE(control) << control.error().ToString();
    control_ = std::move(*control);
    control_->AddRoutes(*router_);
  }

  Reply Call(net::Method method, const std::string& target, const std::string& body = "",
             const Credentials* who = nullptr,
             const std::vector<std::pair<std::string, std::string>>& headers = {},
             const std::string& remote = "192.0.2.1") {
    net::Request req;
    req.method = method;
    req.method_text = std::string(net::ToString(method));
    req.target = target;
    const auto q = target.find('?');
    req.path = target.substr(0, q);
    req.query = q == std::string::npos ? "" : target.substr(q + 1);
    req.body = body;
    req.remote_address = remote;
    if (!body.empty()) req.headers.Set("Content-Type", "application/json");
    if (who != nullptr) {
      if (!who->bearer.empty()) req.headers.Set("Authorization", "Bearer " + who->bearer);
      if (!who->cookie.empty()) req.headers.Set("Cookie", who->cookie);
      if (!who->csrf.empty()) req.headers.Set("X-CSRF-Token", who->csrf);
    }
    for (const auto& [k, v] : headers) req.headers.Set(k, v);
    auto match = router_->Find(method, req.path, false);
    if (match.kind == net::Router::Match::Kind::kNotFound) return Reply{404, {}, "route"};
    if (match.kind == net::Router::Match::Kind::kMethodNotAllowed) return Reply{405, {}, ""};
    req.path_params = match.params;
    if (match.sync != nullptr) {
      auto r = (*match.sync)(req);
      return Reply{r.status, r.headers, r.body};
    }
    struct Capture : net::Responder::Sink {
      void Send(net::Response r) override { response = std::move(r); }
      std::optional<net::Response> response;
    };
    auto sink = std::make_shared<Capture>();
    (*match.async)(std::move(req), net::Responder(sink));
    if (!sink->response) return Reply{-1, {}, "no response"};
    return Reply{sink->response->status, sink->response->headers, sink->response->body};
  }

  Reply Get(const std::string& target, const Credentials& who,
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return Call(net::Method::kGet, target, "", &who, headers);
  }
  Reply Post(const std::string& target, const nlohmann::json& body, const Credentials& who) {
    return Call(net::Method::kPost, target, body.dump(), &who);
  }

  /// Logs in; fails the test when the login fails.
  Credentials Login(const std::string& email, const std::string& password) {
    auto r = Call(net::Method::kPost, "/api/v1/auth/login",
                  nlohmann::json{{"email", email}, {"password", password}}.dump());
    EXPECT_EQ(r.status, 200) << r.body;
    Credentials c;
    const std::string set_cookie = r.Header("Set-Cookie");
    c.cookie = set_cookie.substr(0, set_cookie.find(';'));
    c.csrf = r.Json().value("csrfToken", "");
    return c;
  }
  Credentials Admin() { return Login(kAdminEmail, kAdminPassword); }

  /// A second organisation with its own admin.
  Credentials OtherOrg() {
    auto org = control_->Auth().CreateOrganisation("Other", "b@example.com", "other password 1");
    EXPECT_TRUE(org);
    return Login("b@example.com", "other password 1");
  }

  /// A user of the admin's organisation with `role`.
  Credentials UserWithRole(const Credentials& admin, const std::string& email,
                           const std::string& role) {
    auto r = Post("/api/v1/users",
                  {{"email", email}, {"password", "long enough password"}, {"role", role}}, admin);
    EXPECT_EQ(r.status, 201) << r.body;
    return Login(email, "long enough password");
  }

  static nlohmann::json ValidAgent(const std::string& id) {
    return {{"agentId", id},
            {"agentName", "Reception " + id},
            {"prompt", "You are a friendly receptionist."},
            {"engine", "echo"},
            {"callPhoneNumber", "+14155550100"}};
  }

  Reply CreateAgent(const std::string& id, const Credentials& who) {
    return Post("/api/v1/agents", ValidAgent(id), who);
  }

  int64_t Count(const std::string& table) {
    auto rows = control_->Database().Query("SELECT COUNT(*) FROM " + table);
    if (!rows) {
      ADD_FAILURE() << rows.error().ToString();
      return -1;
    }
    return (*rows)[0].GetInt(0).value();
  }

  FakeClock clock_{std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1'795'000'000'000))};  // 2026-11-18
  std::filesystem::path dir_;
  std::unique_ptr<storage::ObjectStore> store_;
  ControlOptions options_;
  std::vector<std::string> printed_;
  std::unique_ptr<net::Router> router_;
  std::unique_ptr<ControlPlane> control_;

 private:
  std::string suffix_;
  std::string pg_url_;
  std::string schema_;
  std::unique_ptr<db::Database> admin_db_;
};

}  // namespace tempo::control::testing
