#include "tempo/agent/demo_agent.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/control/agent_store.hpp"
#include "tempo/runtime/call_record.hpp"
#include "tempo/storage/call_layout.hpp"

#include "control_test_support.hpp"
#include <gmock/gmock.h>

#include <fstream>

namespace tempo::control::testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using M = net::Method;

// ------------------------------------------------------------------------------ auth

TEST_P(ControlTest, LoginSetsHardenedCookieAndMeAnswers) {
  auto r = Call(M::kPost, "/api/v1/auth/login",
                json{{"email", "ADMIN@example.com"}, {"password", kAdminPassword}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string cookie = r.Header("Set-Cookie");
  EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
  EXPECT_THAT(cookie, HasSubstr("SameSite=Strict"));
  EXPECT_THAT(cookie, HasSubstr("Path=/"));
  EXPECT_THAT(cookie, HasSubstr("Secure"));  // public URL is https
  EXPECT_EQ(r.Json()["user"]["role"], "admin");
  EXPECT_FALSE(r.Json().value("csrfToken", "").empty());
  // The session is stored hashed: the cookie value is not in the database.
  const std::string token =
      cookie.substr(cookie.find('=') + 1, cookie.find(';') - cookie.find('=') - 1);
  auto rows = control_->Database().Query("SELECT id_hash FROM sessions");
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_NE((*rows)[0].GetString(0).value(), token);

  auto admin = Admin();
  auto me = Get("/api/v1/auth/me", admin);
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.Json()["user"]["email"], kAdminEmail);
  EXPECT_EQ(me.Json()["organisation"]["name"], "Default");
  EXPECT_EQ(me.Json()["csrfToken"], admin.csrf);
}

TEST_P(ControlTest, LogoutEndsTheSession) {
  auto admin = Admin();
  auto out = Call(M::kPost, "/api/v1/auth/logout", "", &admin);
  EXPECT_EQ(out.status, 204);
  EXPECT_THAT(out.Header("Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(Get("/api/v1/auth/me", admin).status, 401);
}

TEST_P(ControlTest, WrongPasswordIsRejectedAndRateLimited) {
  for (int i = 0; i < 5; ++i) {
    auto r = Call(M::kPost, "/api/v1/auth/login",
                  json{{"email", kAdminEmail}, {"password", "wrong"}}.dump());
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.ErrorCode(), "unauthenticated");
  }
  // Even the right password is refused while limited.
  auto limited = Call(M::kPost, "/api/v1/auth/login",
                      json{{"email", kAdminEmail}, {"password", kAdminPassword}}.dump());
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.ErrorCode(), "rate_limited");
  const int retry = std::stoi(limited.Header("Retry-After"));
  EXPECT_GT(retry, 0);
  EXPECT_LE(retry, 60);
  // Another address is limited too, through the email.
  auto other_ip = Call(M::kPost, "/api/v1/auth/login",
                       json{{"email", kAdminEmail}, {"password", kAdminPassword}}.dump(), nullptr,
                       {}, "198.51.100.7");
  EXPECT_EQ(other_ip.status, 429);
  clock_.Advance(std::chrono::seconds(61));
  auto ok = Call(M::kPost, "/api/v1/auth/login",
                 json{{"email", kAdminEmail}, {"password", kAdminPassword}}.dump());
  EXPECT_EQ(ok.status, 200);
}

TEST_P(ControlTest, UnknownEmailLooksLikeWrongPassword) {
  auto r = Call(M::kPost, "/api/v1/auth/login",
                json{{"email", "nobody@example.com"}, {"password", "x"}}.dump());
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.Json()["error"]["message"], "wrong email or password");
}

TEST_P(ControlTest, LoginBodyIsCheckedStrictly) {
  EXPECT_EQ(Call(M::kPost, "/api/v1/auth/login", "{not json").status, 400);
  auto types = Call(M::kPost, "/api/v1/auth/login", json{{"email", 5}, {"password", "x"}}.dump());
  EXPECT_EQ(types.status, 422);
  EXPECT_THAT(types.ErrorFields(), ElementsAre("email"));
  auto extra = Call(M::kPost, "/api/v1/auth/login",
                    json{{"email", "a@b.c"}, {"password", "x"}, {"admin", true}}.dump());
  EXPECT_EQ(extra.status, 422);
  EXPECT_THAT(extra.ErrorFields(), ElementsAre("admin"));
}

TEST_P(ControlTest, StateChangesWithTheCookieNeedTheCsrfToken) {
  auto admin = Admin();
  Credentials no_csrf{admin.cookie, "", ""};
  auto r = Post("/api/v1/agents", ValidAgent("csrf-agent"), no_csrf);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.ErrorCode(), "csrf_failed");
  Credentials wrong_csrf{admin.cookie, std::string(admin.csrf.size(), 'A'), ""};
  EXPECT_EQ(Post("/api/v1/agents", ValidAgent("csrf-agent"), wrong_csrf).status, 403);
  EXPECT_EQ(Count("agents"), 0);
  EXPECT_EQ(Get("/api/v1/agents", no_csrf).status, 200);  // reads need no token
  EXPECT_EQ(Post("/api/v1/agents", ValidAgent("csrf-agent"), admin).status, 201);
}

TEST_P(ControlTest, ExpiredSessionsAreRejected) {
  auto admin = Admin();
  clock_.Advance(options_.session_ttl + std::chrono::seconds(1));
  auto r = Get("/api/v1/agents", admin);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.ErrorCode(), "unauthenticated");
}

TEST_P(ControlTest, ForgedCookiesAndKeysAreRejected) {
  for (const auto& who : {Credentials{"tempo_session=forged", "x", ""},
                          Credentials{"tempo_session=", "", ""}, Credentials{"", "", "tv_forged"},
                          Credentials{"", "", "not-a-key"}, Credentials{"other=1", "", ""}}) {
    auto r = Get("/api/v1/agents", who);
    EXPECT_EQ(r.status, 401) << who.cookie << who.bearer;
    EXPECT_EQ(r.ErrorCode(), "unauthenticated");
  }
  auto basic = Call(M::kGet, "/api/v1/agents", "", nullptr, {{"Authorization", "Basic YTpi"}});
  EXPECT_EQ(basic.status, 401);
  EXPECT_EQ(Call(M::kGet, "/api/v1/agents").status, 401);
}

TEST_P(ControlTest, ChangePasswordChecksTheCurrentOne) {
  auto admin = Admin();
  auto wrong = Post("/api/v1/auth/password",
                    {{"currentPassword", "nope"}, {"newPassword", "a brand new password"}}, admin);
  EXPECT_EQ(wrong.status, 422);
  EXPECT_THAT(wrong.ErrorFields(), ElementsAre("currentPassword"));
  auto ok =
      Post("/api/v1/auth/password",
           {{"currentPassword", kAdminPassword}, {"newPassword", "a brand new password"}}, admin);
  EXPECT_EQ(ok.status, 204) << ok.body;
  EXPECT_EQ(Get("/api/v1/auth/me", admin).status, 200);  // this session stays
  Login(kAdminEmail, "a brand new password");
}

TEST_P(ControlTest, ApiKeysAreShownOnceAndWorkAsBearer) {
  auto admin = Admin();
  auto created = Post("/api/v1/keys", {{"name", "ci"}, {"role", "editor"}}, admin);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string key = created.Json()["key"];
  EXPECT_EQ(key.rfind("tv_", 0), 0u);
  Credentials bearer{"", "", key};
  // Bearer requests need no CSRF token.
  EXPECT_EQ(CreateAgent("key-agent", bearer).status, 201);
  auto me = Get("/api/v1/auth/me", bearer);
  EXPECT_EQ(me.Json()["apiKey"]["role"], "editor");
  auto list = Get("/api/v1/keys", admin);
  ASSERT_EQ(list.status, 200);
  EXPECT_THAT(list.body, Not(HasSubstr(key)));
  EXPECT_EQ(list.Json()["items"].size(), 1u);
  auto stored = control_->Database().Query("SELECT key_hash FROM api_keys");
  ASSERT_TRUE(stored);
  EXPECT_NE((*stored)[0].GetString(0).value(), key);

  const std::string id = created.Json()["id"];
  EXPECT_EQ(Call(M::kDelete, "/api/v1/keys/" + id, "", &admin).status, 204);
  EXPECT_EQ(Get("/api/v1/agents", bearer).status, 401);
  EXPECT_EQ(Call(M::kDelete, "/api/v1/keys/" + id, "", &admin).status, 404);
}

TEST_P(ControlTest, ViewerKeysCannotWriteAndRolesCannotEscalate) {
  auto admin = Admin();
  auto editor = UserWithRole(admin, "ed@example.com", "editor");
  auto escalate = Post("/api/v1/keys", {{"name", "x"}, {"role", "admin"}}, editor);
  EXPECT_EQ(escalate.status, 422);
  EXPECT_THAT(escalate.ErrorFields(), ElementsAre("role"));
  auto created = Post("/api/v1/keys", {{"name", "ro"}, {"role", "viewer"}}, admin);
  ASSERT_EQ(created.status, 201);
  Credentials viewer_key{"", "", created.Json()["key"]};
  EXPECT_EQ(Get("/api/v1/agents", viewer_key).status, 200);
  EXPECT_EQ(CreateAgent("nope-agent", viewer_key).status, 403);
}

TEST_P(ControlTest, OnlyAdminsManageUsers) {
  auto admin = Admin();
  auto editor = UserWithRole(admin, "ed@example.com", "editor");
  EXPECT_EQ(Get("/api/v1/users", editor).status, 403);
  EXPECT_EQ(
      Post("/api/v1/users",
           {{"email", "x@example.com"}, {"password", "long enough password"}, {"role", "admin"}},
           editor)
          .status,
      403);
  auto dup =
      Post("/api/v1/users",
           {{"email", "ed@example.com"}, {"password", "long enough password"}, {"role", "viewer"}},
           admin);
  EXPECT_EQ(dup.status, 409);
  auto bad =
      Post("/api/v1/users", {{"email", "no-at"}, {"password", "short"}, {"role", "god"}}, admin);
  EXPECT_EQ(bad.status, 422);
  EXPECT_THAT(bad.ErrorFields(), ElementsAre("email", "password", "role"));
  auto users = Get("/api/v1/users", admin);
  ASSERT_EQ(users.status, 200);
  EXPECT_EQ(users.Json()["items"].size(), 2u);
}

// ------------------------------------------------------------------------------ agents

TEST_P(ControlTest, AgentCrudWithOptimisticConcurrency) {
  auto admin = Admin();
  auto created = CreateAgent("front-desk", admin);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.Header("ETag"), "\"1\"");
  EXPECT_EQ(created.Header("Location"), "/api/v1/agents/front-desk");
  EXPECT_EQ(created.Json()["status"], "undeployed");
  EXPECT_EQ(created.Json()["voiceUrl"], "https://voice.example.com/agent/front-desk/incoming-call");

  auto got = Get("/api/v1/agents/front-desk", admin);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.Json()["agentName"], "Reception front-desk");

  json changed = got.Json();  // what the client read, read-only fields included
  changed["agentName"] = "Front desk";
  auto no_if_match = Call(M::kPut, "/api/v1/agents/front-desk", changed.dump(), &admin);
  EXPECT_EQ(no_if_match.status, 428);
  EXPECT_EQ(no_if_match.ErrorCode(), "precondition_required");
  auto stale =
      Call(M::kPut, "/api/v1/agents/front-desk", changed.dump(), &admin, {{"If-Match", "\"7\""}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(stale.ErrorCode(), "precondition_failed");
  auto put =
      Call(M::kPut, "/api/v1/agents/front-desk", changed.dump(), &admin, {{"If-Match", "\"1\""}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Header("ETag"), "\"2\"");
  EXPECT_EQ(put.Json()["agentName"], "Front desk");
  // The same ETag again is now stale.
  EXPECT_EQ(
      Call(M::kPut, "/api/v1/agents/front-desk", changed.dump(), &admin, {{"If-Match", "\"1\""}})
          .status,
      412);

  auto patch =
      Call(M::kPatch, "/api/v1/agents/front-desk", json{{"prompt", "Be brief."}}.dump(), &admin,
           {{"If-Match", "W/\"2\""}, {"Content-Type", "application/merge-patch+json"}});
  ASSERT_EQ(patch.status, 200) << patch.body;
  EXPECT_EQ(patch.Json()["prompt"], "Be brief.");
  EXPECT_EQ(patch.Json()["agentName"], "Front desk");
  EXPECT_EQ(patch.Json()["version"], 3);

  auto rename = Call(M::kPatch, "/api/v1/agents/front-desk", json{{"agentId", "other"}}.dump(),
                     &admin, {{"If-Match", "\"3\""}});
  EXPECT_EQ(rename.status, 422);
  EXPECT_THAT(rename.ErrorFields(), ElementsAre("agentId"));

  auto list = Get("/api/v1/agents", admin);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.Json()["items"].size(), 1u);
  EXPECT_EQ(list.Json()["items"][0]["agentName"], "Front desk");

  EXPECT_EQ(Call(M::kDelete, "/api/v1/agents/front-desk", "", &admin).status, 428);
  EXPECT_EQ(
      Call(M::kDelete, "/api/v1/agents/front-desk", "", &admin, {{"If-Match", "\"2\""}}).status,
      412);
  EXPECT_EQ(
      Call(M::kDelete, "/api/v1/agents/front-desk", "", &admin, {{"If-Match", "\"3\""}}).status,
      204);
  EXPECT_EQ(Get("/api/v1/agents/front-desk", admin).status, 404);
}

TEST_P(ControlTest, AgentValidationReportsEachFieldThenAcceptsTheFix) {
  auto admin = Admin();
  json bad = ValidAgent("Bad_ID");
  bad["callPhoneNumber"] = "555-0100";
  bad["webhookEndpoint"] = "ftp://x";
  auto r = Post("/api/v1/agents", bad, admin);
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.ErrorCode(), "validation_failed");
  const auto fields = r.ErrorFields();
  EXPECT_THAT(fields, Contains("agentId"));
  EXPECT_THAT(fields, Contains("callPhoneNumber"));
  EXPECT_THAT(fields, Contains("webhookEndpoint"));
  EXPECT_EQ(Count("agents"), 0);

  json types = ValidAgent("typed-agent");
  types["maxSessionDuration"] = "long";
  types["enabled"] = 3;
  auto t = Post("/api/v1/agents", types, admin);
  EXPECT_EQ(t.status, 422);
  EXPECT_THAT(t.ErrorFields(), Contains("maxSessionDuration"));
  EXPECT_THAT(t.ErrorFields(), Contains("enabled"));

  json unknown = ValidAgent("typed-agent");
  unknown["colour"] = "blue";
  auto u = Post("/api/v1/agents", unknown, admin);
  EXPECT_EQ(u.status, 422);
  EXPECT_THAT(u.ErrorFields(), ElementsAre("colour"));

  json fixed = ValidAgent("bad-id");
  EXPECT_EQ(Post("/api/v1/agents", fixed, admin).status, 201);
  auto dup = Post("/api/v1/agents", fixed, admin);
  EXPECT_EQ(dup.status, 409);
  EXPECT_THAT(dup.ErrorFields(), ElementsAre("agentId"));
}

TEST_P(ControlTest, EnginesListsTheEnginesOfThisServer) {
  auto admin = Admin();
  auto r = Get("/api/v1/engines", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json(), json::parse(R"({"items": [{"name": "echo"}, {"name": "local"}]})"));
  // Authenticated like the other reads: any role, or an API key; nobody else.
  auto viewer = UserWithRole(admin, "v@example.com", "viewer");
  EXPECT_EQ(Get("/api/v1/engines", viewer).status, 200);
  auto key = Post("/api/v1/keys", {{"name", "ci"}, {"role", "viewer"}}, admin);
  ASSERT_EQ(key.status, 201);
  EXPECT_EQ(Get("/api/v1/engines", Credentials{"", "", key.Json()["key"]}).status, 200);
  EXPECT_EQ(Call(M::kGet, "/api/v1/engines").status, 401);

  options_.engines = {"echo"};
  Start();
  EXPECT_EQ(Get("/api/v1/engines", Admin()).Json()["items"], json::parse(R"([{"name": "echo"}])"));
}

TEST_P(ControlTest, AnAgentMustNameAnEngineThisServerHas) {
  options_.engines = {"echo"};
  Start();
  auto admin = Admin();
  json nova = ValidAgent("nova-agent");
  nova["engine"] = "nova_sonic";  // known to agents, but not registered in this server
  auto r = Post("/api/v1/agents", nova, admin);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.ErrorCode(), "validation_failed");
  EXPECT_THAT(r.ErrorFields(), ElementsAre("engine"));
  EXPECT_THAT(r.body, HasSubstr("is not available in this server; use one of echo"));
  // No engine named means the default, local, which this server lacks too.
  json unnamed = ValidAgent("plain-agent");
  unnamed.erase("engine");
  EXPECT_THAT(Post("/api/v1/agents", unnamed, admin).ErrorFields(), ElementsAre("engine"));
  // Reported together with the other fields' problems, in one answer.
  nova["maxSessionDuration"] = "long";
  EXPECT_THAT(Post("/api/v1/agents", nova, admin).ErrorFields(),
              ::testing::UnorderedElementsAre("engine", "maxSessionDuration"));
  EXPECT_EQ(Count("agents"), 0);

  ASSERT_EQ(CreateAgent("echo-agent", admin).status, 201);
  // Updates are held to the same rule, by PUT and by PATCH.
  json put = ValidAgent("echo-agent");
  put["engine"] = "local";
  auto replaced =
      Call(M::kPut, "/api/v1/agents/echo-agent", put.dump(), &admin, {{"If-Match", "\"1\""}});
  EXPECT_EQ(replaced.status, 422) << replaced.body;
  EXPECT_THAT(replaced.ErrorFields(), ElementsAre("engine"));
  auto patched = Call(M::kPatch, "/api/v1/agents/echo-agent", json{{"engine", "nova_sonic"}}.dump(),
                      &admin, {{"If-Match", "\"1\""}});
  EXPECT_EQ(patched.status, 422) << patched.body;
  EXPECT_THAT(patched.ErrorFields(), ElementsAre("engine"));
  auto agent = Get("/api/v1/agents/echo-agent", admin);
  EXPECT_EQ(agent.Json()["engine"], "echo");
  EXPECT_EQ(agent.Json()["version"], 1);
}

TEST_P(ControlTest, BadInputGetsAClearErrorAndChangesNothing) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("keeper", admin).status, 201);
  struct Case {
    std::string body;
    int status;
    std::string code;
  };
  std::string deep(100, '[');
  deep += std::string(100, ']');
  const std::vector<Case> cases = {
      {"{\"agentId\": ", 400, "invalid_json"},
      {"[1,2,3]", 400, "bad_request"},
      {"", 400, "bad_request"},
      {"{\"a\":" + deep + "}", 400, "bad_request"},
      {json{{"agentId", "x'; DROP TABLE agents; --"}}.dump(), 422, "validation_failed"},
      {"{\"agentId\": \"\xff\xfe\"}", 400, "invalid_json"},
      {std::string(5 * 1024 * 1024, ' '), 413, "payload_too_large"},
  };
  for (const auto& c : cases) {
    auto r = Call(M::kPost, "/api/v1/agents", c.body, &admin);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 60);
    EXPECT_EQ(r.ErrorCode(), c.code) << c.body.substr(0, 60);
    ASSERT_TRUE(r.Json()["error"]["fields"].is_array());
  }
  auto form = Call(M::kPost, "/api/v1/agents", ValidAgent("form").dump(), &admin,
                   {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(form.status, 415);
  EXPECT_EQ(form.ErrorCode(), "unsupported_media_type");
  auto text = Call(M::kPost, "/api/v1/agents", ValidAgent("form").dump(), &admin,
                   {{"Content-Type", "text/plain; charset=utf-8"}});
  EXPECT_EQ(text.status, 415);
  // SQL-looking text is data, stored as given.
  json sql = ValidAgent("sql-agent");
  sql["agentName"] = "x'; DROP TABLE agents; --";
  ASSERT_EQ(Post("/api/v1/agents", sql, admin).status, 201);
  EXPECT_EQ(Get("/api/v1/agents/sql-agent", admin).Json()["agentName"], sql["agentName"]);
  EXPECT_EQ(Get("/api/v1/agents/x'%3B%20DROP%20TABLE%20agents%3B--", admin).status, 404);
  EXPECT_EQ(Count("agents"), 2);
  auto bad_query = Get("/api/v1/calls?limit=0", admin);
  EXPECT_EQ(bad_query.status, 422);
  EXPECT_THAT(bad_query.ErrorFields(), ElementsAre("limit"));
  EXPECT_EQ(Get("/api/v1/calls?cursor=%%%", admin).status, 400);
  EXPECT_EQ(Get("/api/v1/calls?cursor=bm9wZQ==", admin).status, 400);
  auto unknown_param = Get("/api/v1/calls?agent=x", admin);
  EXPECT_EQ(unknown_param.status, 422);
  EXPECT_THAT(unknown_param.ErrorFields(), ElementsAre("agent"));
}

TEST_P(ControlTest, SecretsAreWriteOnlyAndEncryptedAtRest) {
  auto admin = Admin();
  json agent = ValidAgent("secret-agent");
  const std::string token = "0123456789abcdef0123456789abcdef";
  agent["twilioAuthToken"] = token;
  agent["twilioApiSecret"] = "api-secret-value-42";
  auto created = Post("/api/v1/agents", agent, admin);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_THAT(created.body, Not(HasSubstr(token)));
  auto got = Get("/api/v1/agents/secret-agent", admin);
  EXPECT_THAT(got.body, Not(HasSubstr(token)));
  EXPECT_THAT(got.body, Not(HasSubstr("api-secret-value-42")));
  EXPECT_EQ(got.Json()["twilioAuthTokenSet"], true);
  EXPECT_EQ(got.Json()["twilioApiSecretSet"], true);
  auto rows = control_->Database().Query("SELECT config_json, secrets_ciphertext FROM agents");
  ASSERT_TRUE(rows);
  EXPECT_THAT((*rows)[0].GetString(0).value(), Not(HasSubstr(token)));
  EXPECT_THAT((*rows)[0].GetString(1).value(), Not(HasSubstr(token)));

  // A PUT that leaves the secrets out keeps them; null clears one.
  json put = got.Json();
  put["agentName"] = "Renamed";
  ASSERT_EQ(
      Call(M::kPut, "/api/v1/agents/secret-agent", put.dump(), &admin, {{"If-Match", "\"1\""}})
          .status,
      200);
  ASSERT_EQ(Post("/api/v1/agents/secret-agent/deploy", json::object(), admin).status, 202);
  auto served = control_->Directory().Find(AgentId("secret-agent"));
  ASSERT_NE(served, nullptr);
  EXPECT_EQ(served->twilio_auth_token.Reveal(), token);
  EXPECT_EQ(served->agent_name, "Renamed");

  auto cleared = Call(M::kPatch, "/api/v1/agents/secret-agent",
                      json{{"twilioApiSecret", nullptr}}.dump(), &admin, {{"If-Match", "\"2\""}});
  ASSERT_EQ(cleared.status, 200) << cleared.body;
  EXPECT_EQ(cleared.Json()["twilioApiSecretSet"], false);
  EXPECT_EQ(cleared.Json()["twilioAuthTokenSet"], true);
  served = control_->Directory().Find(AgentId("secret-agent"));
  ASSERT_NE(served, nullptr);
  EXPECT_TRUE(served->twilio_api_secret.empty());

  // The key persists across restarts (secret.key), so the secrets stay readable.
  Start();
  served = control_->Directory().Find(AgentId("secret-agent"));
  ASSERT_NE(served, nullptr);
  EXPECT_EQ(served->twilio_auth_token.Reveal(), token);
}

TEST_P(ControlTest, AgentListPaginatesNewestFirst) {
  auto admin = Admin();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(CreateAgent("agent-" + std::to_string(i), admin).status, 201);
    clock_.Advance(std::chrono::seconds(1));
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r = Get("/api/v1/agents?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), admin);
    ASSERT_EQ(r.status, 200) << r.body;
    const json r_body = r.Json();
    for (const auto& item : r_body["items"]) seen.push_back(item["agentId"]);
    if (r.Json()["nextCursor"].is_null()) break;
    std::string enc;
    for (char ch : std::string(r.Json()["nextCursor"])) {
      enc += ch == '+' ? "%2B" : ch == '/' ? "%2F" : ch == '=' ? "%3D" : std::string(1, ch);
    }
    cursor = enc;
  }
  EXPECT_THAT(seen, ElementsAre("agent-4", "agent-3", "agent-2", "agent-1", "agent-0"));
}

// ------------------------------------------------------------------------------ deployments

TEST_P(ControlTest, DeployAndUndeployReportStepsAndDriveTheDirectory) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("deploy-me", admin).status, 201);
  EXPECT_EQ(Get("/api/v1/agents/deploy-me/deployment", admin).status, 404);
  EXPECT_EQ(control_->Directory().Find(AgentId("deploy-me")), nullptr);

  auto started = Post("/api/v1/agents/deploy-me/deploy", json::object(), admin);
  ASSERT_EQ(started.status, 202) << started.body;
  EXPECT_EQ(started.Json()["steps"].size(), 4u);
  auto status = Get("/api/v1/agents/deploy-me/deployment", admin);
  ASSERT_EQ(status.status, 200);
  EXPECT_EQ(status.Json()["state"], "succeeded");
  EXPECT_EQ(status.Json()["progress"], 100);
  const json status_body = status.Json();
  for (const auto& step : status_body["steps"]) EXPECT_EQ(step["state"], "done");
  EXPECT_NE(control_->Directory().Find(AgentId("deploy-me")), nullptr);
  EXPECT_TRUE(
      std::filesystem::is_directory(dir_ / "objects" / "tempo-agent-transcripts-deploy-me"));
  EXPECT_EQ(Get("/api/v1/agents/deploy-me", admin).Json()["status"], "deployed");

  ASSERT_EQ(Post("/api/v1/agents/deploy-me/undeploy", json::object(), admin).status, 202);
  status = Get("/api/v1/agents/deploy-me/deployment", admin);
  EXPECT_EQ(status.Json()["action"], "undeploy");
  EXPECT_EQ(status.Json()["state"], "succeeded");
  EXPECT_EQ(control_->Directory().Find(AgentId("deploy-me")), nullptr);
  EXPECT_EQ(Get("/api/v1/agents/deploy-me", admin).Json()["status"], "undeployed");
}

TEST_P(ControlTest, AnAgentItsSpeechEngineRefusesFailsToDeploy) {
  std::vector<std::string> prepared;
  options_.prepare_speech = [&](const agent::AgentConfig& config) -> Result<void> {
    prepared.push_back(config.agent_id.str());
    if (config.agent_id.str() == "too-big") {
      return ResourceExhausted(
          "local engine: the knowledge base has 3000 entries; the limit is 2000");
    }
    return Ok();
  };
  Start();
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("too-big", admin).status, 201);
  ASSERT_EQ(CreateAgent("fine", admin).status, 201);

  ASSERT_EQ(Post("/api/v1/agents/too-big/deploy", json::object(), admin).status, 202);
  const json failed = Get("/api/v1/agents/too-big/deployment", admin).Json();
  EXPECT_EQ(failed["state"], "failed");
  EXPECT_THAT(std::string(failed["error"]), HasSubstr("the limit is 2000"));
  EXPECT_EQ(failed["steps"][1]["name"], "prepare speech engine");
  EXPECT_EQ(failed["steps"][1]["state"], "failed");
  EXPECT_EQ(failed["steps"][2]["state"], "pending");
  EXPECT_EQ(control_->Directory().Find(AgentId("too-big")), nullptr) << "not serving calls";

  ASSERT_EQ(Post("/api/v1/agents/fine/deploy", json::object(), admin).status, 202);
  EXPECT_EQ(Get("/api/v1/agents/fine/deployment", admin).Json()["state"], "succeeded");
  EXPECT_NE(control_->Directory().Find(AgentId("fine")), nullptr);
  EXPECT_EQ(prepared, (std::vector<std::string>{"too-big", "fine"}));
}

TEST_P(ControlTest, DeletingADeployedAgentStopsServingIt) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("short-lived", admin).status, 201);
  ASSERT_EQ(Post("/api/v1/agents/short-lived/deploy", json::object(), admin).status, 202);
  ASSERT_NE(control_->Directory().Find(AgentId("short-lived")), nullptr);
  ASSERT_EQ(
      Call(M::kDelete, "/api/v1/agents/short-lived", "", &admin, {{"If-Match", "\"1\""}}).status,
      204);
  EXPECT_EQ(control_->Directory().Find(AgentId("short-lived")), nullptr);
}

// ------------------------------------------------------------------------------ numbers

TEST_P(ControlTest, NumbersShowTheVoiceUrlToPasteIntoTwilio) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("sales", admin).status, 201);
  auto created = Post("/api/v1/numbers", {{"e164", "+14155550123"}, {"agentId", "sales"}}, admin);
  ASSERT_EQ(created.status, 201) << created.body;
  auto list = Get("/api/v1/numbers", admin);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.Json()["items"].size(), 1u);
  const json n = list.Json()["items"][0];
  EXPECT_EQ(n["voiceUrl"], "https://voice.example.com/agent/sales/incoming-call");
  EXPECT_EQ(n["voiceMethod"], "POST");

  auto bad = Post("/api/v1/numbers", {{"e164", "4155550123"}, {"agentId", "ghost"}}, admin);
  EXPECT_EQ(bad.status, 422);
  EXPECT_THAT(bad.ErrorFields(), ElementsAre("e164", "agentId"));
  EXPECT_EQ(Post("/api/v1/numbers", {{"e164", "+14155550123"}}, admin).status, 409);

  // An agent with a number cannot be deleted until the number is removed.
  auto del = Call(M::kDelete, "/api/v1/agents/sales", "", &admin, {{"If-Match", "\"1\""}});
  EXPECT_EQ(del.status, 409) << del.body;
  auto unassigned =
      Call(M::kPatch, "/api/v1/numbers/%2B14155550123", json{{"agentId", nullptr}}.dump(), &admin);
  ASSERT_EQ(unassigned.status, 200) << unassigned.body;
  EXPECT_TRUE(unassigned.Json()["voiceUrl"].is_null());
  EXPECT_EQ(Call(M::kDelete, "/api/v1/numbers/%2B14155550123", "", &admin).status, 204);
  EXPECT_EQ(Call(M::kDelete, "/api/v1/numbers/%2B14155550123", "", &admin).status, 404);
  EXPECT_EQ(Call(M::kDelete, "/api/v1/agents/sales", "", &admin, {{"If-Match", "\"1\""}}).status,
            204);
}

// ------------------------------------------------------------------------------ calls

runtime::CallRecord MakeCall(const std::string& sid, const std::string& agent, int64_t started_ms,
                             int64_t duration_ms, const std::string& outcome) {
  runtime::CallRecord r;
  r.info.call_sid = CallSid(sid);
  r.info.agent_id = AgentId(agent);
  r.info.from = "+14155550001";
  r.info.to = "+14155550100";
  r.info.engine = "echo";
  r.info.started_at_ms = started_ms;
  r.end.outcome = outcome;
  r.end.ended_at_ms = started_ms + duration_ms;
  r.turns.push_back({engine::Role::kAgent, "Hello", 0, 900, false});
  r.turns.push_back({engine::Role::kCaller, "Hi", 1000, 1500, false});
  r.stats.turn_latencies_ms = {420, 380};
  return r;
}

class CallsTest : public ControlTest {
 protected:
  void StoreCall(const runtime::CallRecord& r, const std::string& wav) {
    auto at = storage::LocateCall(r.info.agent_id, r.info.call_sid);
    ASSERT_TRUE(at) << at.error().ToString();
    using storage::CallArtifact;
    ASSERT_TRUE(store_->EnsureBucket(at->bucket));
    ASSERT_TRUE(
        store_->Put(at->bucket, at->Key(CallArtifact::kTranscript), r.TranscriptJson("complete")));
    if (!wav.empty()) {
      ASSERT_TRUE(store_->Put(at->bucket, at->Key(CallArtifact::kRecording), wav));
    }
    ASSERT_TRUE(
        store_->Put(at->bucket, at->Key(CallArtifact::kMetadata), r.MetadataJson(!wav.empty())));
    runtime::CallRecord stored = r;
    stored.has_transcript = true;
    stored.has_recording = !wav.empty();
    ASSERT_TRUE(control_->CallFinished(stored));
  }
  static constexpr int64_t kDay = 86'400'000;
  static constexpr int64_t kT0 = 1'795'046'400'000;  // 2026-11-19T00:00:00Z
};

TEST_P(CallsTest, CallsAreIndexedListedFilteredAndPaginated) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("alpha", admin).status, 201);
  ASSERT_EQ(CreateAgent("beta", admin).status, 201);
  for (int i = 0; i < 7; ++i) {
    StoreCall(MakeCall("CA" + std::to_string(100 + i), i % 2 == 0 ? "alpha" : "beta",
                       kT0 + i * 3'600'000, 60'000, i == 3 ? "transferred" : "completed"),
              "");
  }
  EXPECT_EQ(Count("calls"), 7);
  auto all = Get("/api/v1/calls", admin);
  ASSERT_EQ(all.status, 200) << all.body;
  ASSERT_EQ(all.Json()["items"].size(), 7u);
  EXPECT_EQ(all.Json()["items"][0]["callSid"], "CA106");  // newest first
  EXPECT_EQ(all.Json()["items"][6]["callSid"], "CA100");
  EXPECT_TRUE(all.Json()["nextCursor"].is_null());

  auto alpha = Get("/api/v1/calls?agentId=alpha", admin);
  EXPECT_EQ(alpha.Json()["items"].size(), 4u);
  auto transferred = Get("/api/v1/calls?outcome=transferred", admin);
  ASSERT_EQ(transferred.Json()["items"].size(), 1u);
  EXPECT_EQ(transferred.Json()["items"][0]["callSid"], "CA103");
  auto window = Get("/api/v1/calls?from=2026-11-19T02:00:00Z&to=2026-11-19T04:00:00Z", admin);
  ASSERT_EQ(window.status, 200) << window.body;
  EXPECT_EQ(window.Json()["items"].size(), 2u);
  auto bad_from = Get("/api/v1/calls?from=yesterday", admin);
  EXPECT_EQ(bad_from.status, 422);
  EXPECT_THAT(bad_from.ErrorFields(), ElementsAre("from"));

  std::vector<std::string> paged;
  std::string cursor;
  for (int i = 0; i < 10; ++i) {
    auto r = Get("/api/v1/calls?limit=3" + cursor, admin);
    ASSERT_EQ(r.status, 200) << r.body;
    const json r_body = r.Json();
    for (const auto& item : r_body["items"]) paged.push_back(item["callSid"]);
    if (r.Json()["nextCursor"].is_null()) break;
    std::string enc;
    for (char ch : std::string(r.Json()["nextCursor"])) {
      enc += ch == '+' ? "%2B" : ch == '/' ? "%2F" : ch == '=' ? "%3D" : std::string(1, ch);
    }
    cursor = "&cursor=" + enc;
  }
  EXPECT_THAT(paged, ElementsAre("CA106", "CA105", "CA104", "CA103", "CA102", "CA101", "CA100"));

  auto detail = Get("/api/v1/calls/CA103", admin);
  ASSERT_EQ(detail.status, 200);
  EXPECT_EQ(detail.Json()["durationMs"], 60000);
  EXPECT_EQ(detail.Json()["turns"], 2);
  EXPECT_EQ(detail.Json()["turnLatenciesMs"], json({420, 380}));
  EXPECT_EQ(detail.Json()["metadata"]["outcome"], "transferred");
  EXPECT_FALSE(detail.Json()["hasRecording"]);
  auto transcript = Get("/api/v1/calls/CA103/transcript", admin);
  ASSERT_EQ(transcript.status, 200);
  EXPECT_EQ(transcript.Json()["turns"][1]["text"], "Hi");
  EXPECT_EQ(Get("/api/v1/calls/CA103/recording.wav", admin).status, 404);
  EXPECT_EQ(Get("/api/v1/calls/CA999", admin).status, 404);
}

TEST_P(CallsTest, RecordingSupportsRangeRequests) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("alpha", admin).status, 201);
  std::string wav;
  for (int i = 0; i < 1000; ++i) wav.push_back(static_cast<char>(i % 251));
  StoreCall(MakeCall("CArec", "alpha", kT0, 1000, "completed"), wav);
  const std::string url = "/api/v1/calls/CArec/recording.wav";
  auto whole = Get(url, admin);
  ASSERT_EQ(whole.status, 200);
  EXPECT_EQ(whole.body, wav);
  EXPECT_EQ(whole.Header("Accept-Ranges"), "bytes");
  EXPECT_EQ(whole.Header("Content-Type"), "audio/wav");

  auto part = Get(url, admin, {{"Range", "bytes=100-199"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, wav.substr(100, 100));
  EXPECT_EQ(part.Header("Content-Range"), "bytes 100-199/1000");
  auto open = Get(url, admin, {{"Range", "bytes=990-"}});
  EXPECT_EQ(open.status, 206);
  EXPECT_EQ(open.body, wav.substr(990));
  auto suffix = Get(url, admin, {{"Range", "bytes=-4"}});
  EXPECT_EQ(suffix.status, 206);
  EXPECT_EQ(suffix.Header("Content-Range"), "bytes 996-999/1000");
  auto past = Get(url, admin, {{"Range", "bytes=5000-"}});
  EXPECT_EQ(past.status, 416);
  EXPECT_EQ(past.Header("Content-Range"), "bytes */1000");
  auto clamp = Get(url, admin, {{"Range", "bytes=900-5000"}});
  EXPECT_EQ(clamp.status, 206);
  EXPECT_EQ(clamp.body.size(), 100u);
  auto garbage = Get(url, admin, {{"Range", "pages=1-2"}});
  EXPECT_EQ(garbage.status, 200);
}

TEST_P(CallsTest, UsageCountsMinutesAndCallsPerAgentPerDay) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("alpha", admin).status, 201);
  ASSERT_EQ(CreateAgent("beta", admin).status, 201);
  StoreCall(MakeCall("CA1", "alpha", kT0 + 1000, 90'000, "completed"), "");
  StoreCall(MakeCall("CA2", "alpha", kT0 + 2000, 30'000, "completed"), "");
  StoreCall(MakeCall("CA3", "beta", kT0 + 3000, 60'000, "completed"), "");
  StoreCall(MakeCall("CA4", "alpha", kT0 + kDay + 5, 120'000, "completed"), "");
  auto r = Get("/api/v1/usage?from=2026-11-19&to=2026-11-21", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  const auto items = r.Json()["items"];
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0]["date"], "2026-11-19");
  EXPECT_EQ(items[0]["agentId"], "alpha");
  EXPECT_EQ(items[0]["calls"], 2);
  EXPECT_DOUBLE_EQ(items[0]["minutes"].get<double>(), 2.0);
  EXPECT_EQ(items[1]["agentId"], "beta");
  EXPECT_EQ(items[2]["date"], "2026-11-20");
  EXPECT_EQ(r.Json()["totals"]["calls"], 4);
  EXPECT_DOUBLE_EQ(r.Json()["totals"]["minutes"].get<double>(), 5.0);
  auto only = Get("/api/v1/usage?from=2026-11-19&to=2026-11-21&agentId=beta", admin);
  EXPECT_EQ(only.Json()["totals"]["calls"], 1);
  EXPECT_EQ(Get("/api/v1/usage?from=2026-11-21&to=2026-11-19", admin).status, 422);
}

// ------------------------------------------------------------------------------ isolation

TEST_P(CallsTest, OtherOrganisationsSeeNothingAndChangeNothing) {
  auto a = Admin();
  ASSERT_EQ(CreateAgent("a-agent", a).status, 201);
  ASSERT_EQ(Post("/api/v1/agents/a-agent/deploy", json::object(), a).status, 202);
  ASSERT_EQ(Post("/api/v1/numbers", {{"e164", "+14155550111"}, {"agentId", "a-agent"}}, a).status,
            201);
  auto key = Post("/api/v1/keys", {{"name", "a-key"}}, a);
  ASSERT_EQ(key.status, 201);
  const std::string key_id = key.Json()["id"];
  auto user = Post(
      "/api/v1/users",
      {{"email", "a2@example.com"}, {"password", "long enough password"}, {"role", "viewer"}}, a);
  ASSERT_EQ(user.status, 201);
  const std::string user_id = user.Json()["id"];
  std::string wav(100, 'w');
  StoreCall(MakeCall("CAa", "a-agent", kT0, 60'000, "completed"), wav);

  auto b = OtherOrg();
  // Reads of A's objects: 404, never 403.
  for (const std::string& url :
       {std::string("/api/v1/agents/a-agent"), std::string("/api/v1/agents/a-agent/deployment"),
        std::string("/api/v1/calls/CAa"), std::string("/api/v1/calls/CAa/transcript"),
        std::string("/api/v1/calls/CAa/recording.wav")}) {
    auto r = Get(url, b);
    EXPECT_EQ(r.status, 404) << url;
    EXPECT_EQ(r.ErrorCode(), "not_found") << url;
  }
  // Lists hold none of A's objects.
  for (const std::string& url :
       {std::string("/api/v1/agents"), std::string("/api/v1/numbers"), std::string("/api/v1/calls"),
        std::string("/api/v1/calls?agentId=a-agent"), std::string("/api/v1/keys")}) {
    auto r = Get(url, b);
    ASSERT_EQ(r.status, 200) << url;
    EXPECT_TRUE(r.Json()["items"].empty()) << url << r.body;
  }
  EXPECT_EQ(Get("/api/v1/users", b).Json()["items"].size(), 1u);
  EXPECT_EQ(Get("/api/v1/usage?from=2026-11-01&to=2026-12-01", b).Json()["totals"]["calls"], 0);
  // Writes to A's objects: 404, and nothing changes.
  const std::vector<Reply> writes = {
      Call(M::kPut, "/api/v1/agents/a-agent", ValidAgent("a-agent").dump(), &b,
           {{"If-Match", "\"1\""}}),
      Call(M::kPatch, "/api/v1/agents/a-agent", json{{"agentName", "pwned"}}.dump(), &b,
           {{"If-Match", "\"1\""}}),
      Call(M::kDelete, "/api/v1/agents/a-agent", "", &b, {{"If-Match", "\"1\""}}),
      Post("/api/v1/agents/a-agent/deploy", json::object(), b),
      Post("/api/v1/agents/a-agent/undeploy", json::object(), b),
      Call(M::kPatch, "/api/v1/numbers/%2B14155550111", json{{"agentId", nullptr}}.dump(), &b),
      Call(M::kDelete, "/api/v1/numbers/%2B14155550111", "", &b),
      Call(M::kDelete, "/api/v1/keys/" + key_id, "", &b),
      Call(M::kDelete, "/api/v1/users/" + user_id, "", &b),
  };
  for (size_t i = 0; i < writes.size(); ++i) {
    EXPECT_EQ(writes[i].status, 404) << "write #" << i << ": " << writes[i].body;
  }
  // B cannot point its number at A's agent either.
  auto steal = Post("/api/v1/numbers", {{"e164", "+14155550222"}, {"agentId", "a-agent"}}, b);
  EXPECT_EQ(steal.status, 422);
  auto a_agent = Get("/api/v1/agents/a-agent", a);
  EXPECT_EQ(a_agent.Json()["agentName"], "Reception a-agent");
  EXPECT_EQ(a_agent.Json()["status"], "deployed");
  EXPECT_EQ(Get("/api/v1/numbers", a).Json()["items"].size(), 1u);
  EXPECT_EQ(Get("/api/v1/keys", a).Json()["items"].size(), 1u);
  EXPECT_EQ(Get("/api/v1/users", a).Json()["items"].size(), 2u);
  EXPECT_NE(control_->Directory().Find(AgentId("a-agent")), nullptr);
}

TEST_P(CallsTest, ViewersCannotWriteAnything) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("ro-agent", admin).status, 201);
  ASSERT_EQ(
      Post("/api/v1/numbers", {{"e164", "+14155550333"}, {"agentId", "ro-agent"}}, admin).status,
      201);
  auto key = Post("/api/v1/keys", {{"name", "k"}}, admin);
  const std::string key_id = key.Json()["id"];
  auto viewer = UserWithRole(admin, "v@example.com", "viewer");
  const std::vector<Reply> writes = {
      CreateAgent("new-agent", viewer),
      Call(M::kPut, "/api/v1/agents/ro-agent", ValidAgent("ro-agent").dump(), &viewer,
           {{"If-Match", "\"1\""}}),
      Call(M::kPatch, "/api/v1/agents/ro-agent", json{{"agentName", "x"}}.dump(), &viewer,
           {{"If-Match", "\"1\""}}),
      Call(M::kDelete, "/api/v1/agents/ro-agent", "", &viewer, {{"If-Match", "\"1\""}}),
      Post("/api/v1/agents/ro-agent/deploy", json::object(), viewer),
      Post("/api/v1/agents/ro-agent/undeploy", json::object(), viewer),
      Post("/api/v1/numbers", {{"e164", "+14155550444"}}, viewer),
      Call(M::kPatch, "/api/v1/numbers/%2B14155550333", json{{"agentId", nullptr}}.dump(), &viewer),
      Call(M::kDelete, "/api/v1/numbers/%2B14155550333", "", &viewer),
      Post("/api/v1/keys", {{"name", "mine"}}, viewer),
      Call(M::kDelete, "/api/v1/keys/" + key_id, "", &viewer),
      Post("/api/v1/users",
           {{"email", "z@example.com"}, {"password", "long enough password"}, {"role", "admin"}},
           viewer),
  };
  for (size_t i = 0; i < writes.size(); ++i) {
    EXPECT_EQ(writes[i].status, 403) << "write #" << i << ": " << writes[i].body;
    EXPECT_EQ(writes[i].ErrorCode(), "forbidden") << "write #" << i;
  }
  EXPECT_EQ(Count("agents"), 1);
  EXPECT_EQ(Count("numbers"), 1);
  EXPECT_EQ(Count("api_keys"), 1);
  EXPECT_EQ(Count("deployments"), 0);
  EXPECT_EQ(Get("/api/v1/agents/ro-agent", viewer).status, 200);
  EXPECT_EQ(Get("/api/v1/calls", viewer).status, 200);
}

TEST_P(CallsTest, ACallSidReusedByAnotherOrganisationIsItsOwnRow) {
  auto a = Admin();
  ASSERT_EQ(CreateAgent("a-agent", a).status, 201);
  auto b = OtherOrg();
  ASSERT_EQ(CreateAgent("b-agent", b).status, 201);
  StoreCall(MakeCall("CAsame", "a-agent", kT0, 60'000, "completed"), std::string(64, 'a'));
  const json a_before = Get("/api/v1/calls/CAsame", a).Json();
  ASSERT_EQ(a_before["agentId"], "a-agent");

  StoreCall(MakeCall("CAsame", "b-agent", kT0 + 5'000, 30'000, "transferred"), "");
  EXPECT_EQ(Count("calls"), 2);
  // The second organisation's index left the first one's row exactly as it was.
  EXPECT_EQ(Get("/api/v1/calls/CAsame", a).Json(), a_before);
  auto a_recording = Get("/api/v1/calls/CAsame/recording.wav", a);
  EXPECT_EQ(a_recording.status, 200);
  EXPECT_EQ(a_recording.body, std::string(64, 'a'));
  // Each organisation sees its own call, and only its own.
  const json b_call = Get("/api/v1/calls/CAsame", b).Json();
  EXPECT_EQ(b_call["agentId"], "b-agent");
  EXPECT_EQ(b_call["outcome"], "transferred");
  EXPECT_EQ(b_call["durationMs"], 30'000);
  EXPECT_EQ(b_call["hasRecording"], false);
  EXPECT_EQ(Get("/api/v1/calls/CAsame/recording.wav", b).status, 404);
  for (const auto* who : {&a, &b}) {
    const json list = Get("/api/v1/calls", *who).Json();
    ASSERT_EQ(list["items"].size(), 1u);
    EXPECT_EQ(list["items"][0]["agentId"], who == &a ? "a-agent" : "b-agent");
    EXPECT_EQ(Get("/api/v1/usage?from=2026-11-01&to=2026-12-01", *who).Json()["totals"]["calls"],
              1);
  }

  // Indexing a call again completes that organisation's row and no other.
  const json b_before = Get("/api/v1/calls/CAsame", b).Json();
  StoreCall(MakeCall("CAsame", "a-agent", kT0, 90'000, "failed"), std::string(64, 'a'));
  EXPECT_EQ(Count("calls"), 2);
  EXPECT_EQ(Get("/api/v1/calls/CAsame", a).Json()["outcome"], "failed");
  EXPECT_EQ(Get("/api/v1/calls/CAsame", a).Json()["durationMs"], 90'000);
  EXPECT_EQ(Get("/api/v1/calls/CAsame", b).Json(), b_before);
}

TEST_P(CallsTest, CallsOfAgentsNoOrganisationOwnsGoToNoOrganisation) {
  auto a = Admin();
  auto b = OtherOrg();
  auto& unassigned = metrics::Registry::Global().AddCounter("tempo_calls_unassigned_total", "");
  const uint64_t counted = unassigned.Value();
  StoreCall(MakeCall("CAfile", "file-agent", kT0, 1000, "completed"), "");
  EXPECT_EQ(unassigned.Value(), counted + 1);
  EXPECT_EQ(Count("calls"), 0);
  EXPECT_EQ(Count("unassigned_calls"), 1);
  for (const auto* who : {&a, &b}) {
    EXPECT_TRUE(Get("/api/v1/calls", *who).Json()["items"].empty());
    EXPECT_EQ(Get("/api/v1/calls/CAfile", *who).status, 404);
    EXPECT_EQ(Get("/api/v1/calls/CAfile/transcript", *who).status, 404);
    EXPECT_EQ(Get("/api/v1/usage?from=2026-11-01&to=2026-12-01", *who).Json()["totals"]["calls"],
              0);
  }
  // Indexed again (e.g. recovered after a restart): still one row, still no organisation's.
  StoreCall(MakeCall("CAfile", "file-agent", kT0, 2000, "completed"), "");
  EXPECT_EQ(Count("unassigned_calls"), 1);
  EXPECT_EQ(Count("calls"), 0);
}

// Issue #9: From/To are raw bytes from Twilio's form. PostgreSQL refuses text that is not
// UTF-8, and dump() of the row threw: the call must still be indexed and served.
TEST_P(CallsTest, FromWithInvalidUtf8IsIndexedAndServed) {
  auto admin = Admin();
  ASSERT_EQ(CreateAgent("utf8-agent", admin).status, 201);
  auto call = MakeCall("CAutf8", "utf8-agent", kT0, 1000, "completed");
  call.info.from = "\xff\x9b+14155550001";
  call.info.to = "+1415\x9b";
  StoreCall(call, "");
  EXPECT_EQ(Count("calls"), 1);
  auto list = Get("/api/v1/calls", admin);
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(list.Json()["items"].size(), 1u);
  EXPECT_EQ(list.Json()["items"][0]["from"], "\xEF\xBF\xBD\xEF\xBF\xBD+14155550001");
  auto one = Get("/api/v1/calls/CAutf8", admin);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(one.Json()["to"], "+1415\xEF\xBF\xBD");
  EXPECT_EQ(one.Json()["metadata"]["from"], "\xEF\xBF\xBD\xEF\xBF\xBD+14155550001");
}

INSTANTIATE_TEST_SUITE_P(Backends, ControlTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, CallsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

// ------------------------------------------------------------------------------ first run

class FirstRunTest : public ControlTest {};

TEST_P(FirstRunTest, GeneratedAdminPasswordIsPrintedOnceAndWorks) {
  // SetUp ran with a fixed password; start over with an empty database and none given.
  auto db = control_->Database().Execute("DELETE FROM organisations");
  ASSERT_TRUE(db);
  options_.admin_password.reset();
  printed_.clear();
  Start();
  ASSERT_EQ(printed_.size(), 1u);
  const std::string line = printed_[0];
  EXPECT_THAT(line, HasSubstr(kAdminEmail));
  const std::string marker = "with password ";
  const size_t at = line.find(marker);
  ASSERT_NE(at, std::string::npos);
  const std::string password =
      line.substr(at + marker.size(), line.find(' ', at + marker.size()) - at - marker.size());
  EXPECT_GE(password.size(), 16u);
  Login(kAdminEmail, password);
  Start();
  EXPECT_EQ(printed_.size(), 1u);  // not again
  auto key = std::filesystem::status(dir_ / "secret.key").permissions();
  EXPECT_EQ(key & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
}

TEST_P(FirstRunTest, TheFirstRunAgentIsDeployedInTheFirstOrganisation) {
  auto db = control_->Database().Execute("DELETE FROM organisations");
  ASSERT_TRUE(db);
  agent::AgentConfig demo = agent::MakeDemoAgent("echo");
  options_.first_run_agent = demo;
  printed_.clear();
  Start();
  // Shown once, with the Twilio auth token a caller needs.
  ASSERT_EQ(printed_.size(), 1u);
  EXPECT_THAT(printed_[0], HasSubstr("agent 'demo' (Bright Smile Dental) is deployed"));
  EXPECT_THAT(printed_[0], HasSubstr(demo.twilio_auth_token.Reveal()));
  // It answers calls, and the admin sees it in the dashboard's list, deployed.
  auto served = control_->Directory().Find(AgentId("demo"));
  ASSERT_NE(served, nullptr);
  EXPECT_EQ(served->knowledge_base, demo.knowledge_base);
  EXPECT_EQ(served->twilio_auth_token, demo.twilio_auth_token);
  EXPECT_TRUE(
      std::filesystem::is_directory(dir_ / "objects" / storage::AgentBucket(demo.agent_id)));
  auto admin = Admin();
  const json listed = Get("/api/v1/agents", admin).Json();
  ASSERT_EQ(listed["items"].size(), 1u);
  EXPECT_EQ(listed["items"][0]["agentId"], "demo");
  EXPECT_EQ(listed["items"][0]["status"], "deployed");
  // Listed for start-up work, ahead of file agents; a file agent with its id is shadowed.
  runtime::MemoryAgentDirectory files;
  agent::AgentConfig shadowed = demo;
  shadowed.agent_name = "Shadowed file copy";
  files.Put(shadowed);
  agent::AgentConfig other = demo;
  other.agent_id = AgentId("from-file");
  files.Put(other);
  control_->SetFallbackDirectory(&files);
  std::vector<std::string> listed_names;
  for (const auto& config : control_->Directory().List()) {
    listed_names.push_back(config->agent_id.str() + "/" + config->agent_name);
  }
  EXPECT_THAT(listed_names,
              ElementsAre("demo/Bright Smile Dental", "from-file/Bright Smile Dental"));
  control_->SetFallbackDirectory(nullptr);
  // Only on the first run.
  Start();
  EXPECT_EQ(printed_.size(), 1u);
  EXPECT_EQ(Get("/api/v1/agents", admin).Json()["items"].size(), 1u);
}

TEST_P(FirstRunTest, AFirstRunAgentThatCannotDeployDoesNotStopTheStart) {
  auto db = control_->Database().Execute("DELETE FROM organisations");
  ASSERT_TRUE(db);
  options_.first_run_agent = agent::MakeDemoAgent("local");
  options_.prepare_speech = [](const agent::AgentConfig&) -> Result<void> {
    return Unavailable("the local speech engine is not available in this server");
  };
  printed_.clear();
  Start();
  ASSERT_EQ(printed_.size(), 1u);
  EXPECT_THAT(printed_[0],
              HasSubstr("agent 'demo' (Bright Smile Dental) is created (not deployed)"));
  EXPECT_EQ(control_->Directory().Find(AgentId("demo")), nullptr);
  auto admin = Admin();
  EXPECT_EQ(Get("/api/v1/agents/demo", admin).Json()["status"], "undeployed");
}

INSTANTIATE_TEST_SUITE_P(Backends, FirstRunTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendName);

}  // namespace
}  // namespace tempo::control::testing
