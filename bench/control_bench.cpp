// Control-plane list latency: the agent list with 10,000 agents and the call list with
// 1,000,000 calls (page of 50, newest first), through the real router and handlers, on SQLite
// and (when TEMPO_TEST_POSTGRES_URL is set) PostgreSQL. Prints p50/p99 per query.
//
//   control_bench [--calls N] [--agents N] [--requests N]
#include "tempo/base/clock.hpp"
#include "tempo/control/control_plane.hpp"
#include "tempo/db/database.hpp"
#include "tempo/net/router.hpp"
#include "tempo/storage/object_store.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace tempo;
using Clock = std::chrono::steady_clock;

struct Args {
  int agents = 10'000;
  int calls = 1'000'000;
  int requests = 300;
};

struct Fixture {
  std::unique_ptr<storage::ObjectStore> store;
  std::unique_ptr<control::ControlPlane> control;
  net::Router router;
  std::string key;
  std::string org;
};

std::optional<net::Response> Call(const net::Router& router, const std::string& target,
                                  const std::string& key) {
  net::Request req;
  req.method = net::Method::kGet;
  req.target = target;
  const auto q = target.find('?');
  req.path = target.substr(0, q);
  req.query = q == std::string::npos ? "" : target.substr(q + 1);
  req.headers.Set("Authorization", "Bearer " + key);
  auto match = router.Find(req.method, req.path, false);
  if (match.async == nullptr) return std::nullopt;
  req.path_params = match.params;
  struct Capture : net::Responder::Sink {
    void Send(net::Response r) override { response = std::move(r); }
    std::optional<net::Response> response;
  };
  auto sink = std::make_shared<Capture>();
  (*match.async)(std::move(req), net::Responder(sink));
  return sink->response;
}

Result<void> Fill(db::Database& db, const std::string& org, const Args& args) {
  const std::string config = R"({"agentId":"x","agentName":"Bench","prompt":"p","engine":"echo"})";
  return db.Transaction([&](db::Database& tx) -> Result<void> {
    constexpr int kBatch = 500;
    for (int start = 0; start < args.agents; start += kBatch) {
      std::string sql =
          "INSERT INTO agents (org_id, id, name, config_json, version, deployed_state, "
          "created_at, updated_at) VALUES ";
      std::vector<db::Value> params;
      for (int i = start; i < std::min(args.agents, start + kBatch); ++i) {
        if (i != start) sql += ",";
        const size_t base = params.size();
        sql += fmt::format("(${},${},${},${},1,'undeployed',${},${})", base + 1, base + 2, base + 3,
                           base + 4, base + 5, base + 5);
        params.insert(params.end(), {org, fmt::format("agent-{:05}", i), "Bench", config,
                                     int64_t{1'700'000'000'000} + i});
      }
      TEMPO_TRY(tx.Execute(sql, params));
    }
    std::mt19937 random(42);
    for (int start = 0; start < args.calls; start += kBatch) {
      std::string sql =
          "INSERT INTO calls (org_id, call_sid, agent_id, from_number, to_number, started_at, "
          "ended_at, duration_ms, outcome, turns, transcript_key) VALUES ";
      std::vector<db::Value> params;
      for (int i = start; i < std::min(args.calls, start + kBatch); ++i) {
        if (i != start) sql += ",";
        const size_t b = params.size();
        sql += fmt::format("(${},${},${},'+14155550001','+14155550100',${},${},${},${},4,${})",
                           b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8);
        const int64_t started = int64_t{1'760'000'000'000} + int64_t{i} * 30'000;
        const int64_t duration = 10'000 + static_cast<int64_t>(random() % 300'000);
        const std::string sid = fmt::format("CA{:032x}", i);
        params.insert(
            params.end(),
            {org, sid, fmt::format("agent-{:05}", static_cast<int>(random() % 100)), started,
             started + duration, duration, random() % 10 == 0 ? "transferred" : "completed",
             fmt::format("calls/{}/transcript.json", sid)});
      }
      TEMPO_TRY(tx.Execute(sql, params));
    }
    return Ok();
  });
}

void Measure(const std::string& backend, Fixture& f, const std::string& name,
             const std::vector<std::string>& targets, int requests) {
  std::vector<double> ms;
  ms.reserve(requests);
  for (int i = 0; i < requests; ++i) {
    const std::string& target = targets[i % targets.size()];
    const auto t0 = Clock::now();
    auto r = Call(f.router, target, f.key);
    const auto t1 = Clock::now();
    if (!r || r->status != 200) {
      fmt::print(stderr, "{} {}: status {}\n", backend, target, r ? r->status : -1);
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  const auto pct = [&](double p) { return ms[static_cast<size_t>(p * (ms.size() - 1))]; };
  fmt::print("{:<9} {:<34} n={:<5} p50={:7.2f} ms  p99={:7.2f} ms  max={:7.2f} ms\n", backend, name,
             ms.size(), pct(0.50), pct(0.99), ms.back());
}

std::string Escape(const std::string& cursor) {
  std::string out;
  for (char c : cursor) {
    out += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
  }
  return out;
}

int Run(const std::string& backend, const Args& args) {
  const auto dir = std::filesystem::temp_directory_path() /
                   fmt::format("tempo_control_bench_{}", std::random_device{}());
  std::filesystem::create_directories(dir);
  std::unique_ptr<db::Database> admin;
  std::string schema;
  Result<std::unique_ptr<db::Database>> database = Error{};
  if (backend == "sqlite") {
    database = db::Open("sqlite://" + (dir / "bench.db").string());
  } else {
    const char* url = std::getenv("TEMPO_TEST_POSTGRES_URL");
    admin = std::move(db::Open(url).value());
    schema = fmt::format("bench_{}", std::random_device{}());
    (void)admin->ExecuteScript("CREATE SCHEMA " + schema).value();
    database = db::Open(url);
    if (database) (void)(*database)->ExecuteScript("SET search_path TO " + schema).value();
  }
  if (!database) {
    fmt::print(stderr, "{}: {}\n", backend, database.error().ToString());
    return 1;
  }
  Fixture f;
  f.store = std::move(storage::OpenFsStore(dir / "objects").value());
  control::ControlOptions options;
  options.data_dir = dir;
  options.admin_password = "bench password 1";
  options.password_cost = control::PasswordCost::kMinimum;
  options.print_line = [](std::string_view) {};
  auto control = control::ControlPlane::Create(
      options, std::move(*database), *f.store, [](std::function<void()> fn) { fn(); },
      SystemClock::Instance());
  if (!control) {
    fmt::print(stderr, "{}: {}\n", backend, control.error().ToString());
    return 1;
  }
  f.control = std::move(*control);
  f.control->AddRoutes(f.router);
  auto& db = f.control->Database();
  f.org = db.Query("SELECT id FROM organisations").value()[0].GetString(0).value();
  f.key = f.control->Auth().CreateApiKey(OrgId(f.org), "bench", control::Role::kViewer).value().key;

  const auto t0 = Clock::now();
  if (auto ok = Fill(db, f.org, args); !ok) {
    fmt::print(stderr, "{}: fill failed: {}\n", backend, ok.error().ToString());
    return 1;
  }
  if (backend == "postgres") (void)db.ExecuteScript("ANALYZE").value();
  fmt::print("{:<9} inserted {} agents and {} calls in {:.1f} s\n", backend, args.agents,
             args.calls, std::chrono::duration<double>(Clock::now() - t0).count());

  // Cursors a few pages deep, taken from real responses.
  auto cursor_after = [&](const std::string& target, int pages) {
    std::string url = target;
    for (int i = 0; i < pages; ++i) {
      auto r = Call(f.router, url, f.key);
      auto next = nlohmann::json::parse(r->body)["nextCursor"];
      if (next.is_null()) break;
      url = target + "&cursor=" + Escape(next.get<std::string>());
    }
    return url;
  };
  Measure(backend, f, "agents, first page of 50", {"/api/v1/agents?limit=50"}, args.requests);
  Measure(backend, f, "agents, page 20 (cursor)", {cursor_after("/api/v1/agents?limit=50", 19)},
          args.requests);
  Measure(backend, f, "calls, first page of 50", {"/api/v1/calls?limit=50"}, args.requests);
  Measure(backend, f, "calls, page 20 (cursor)", {cursor_after("/api/v1/calls?limit=50", 19)},
          args.requests);
  Measure(backend, f, "calls of one agent, first page",
          {"/api/v1/calls?limit=50&agentId=agent-00007"}, args.requests);
  Measure(backend, f, "calls in a date range",
          {"/api/v1/calls?limit=50&from=2025-10-20&to=2025-10-21"}, args.requests);
  Measure(backend, f, "calls, outcome filter", {"/api/v1/calls?limit=50&outcome=transferred"},
          args.requests);

  f.control.reset();
  if (admin) (void)admin->ExecuteScript("DROP SCHEMA " + schema + " CASCADE");
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--calls") args.calls = value;
    if (flag == "--agents") args.agents = value;
    if (flag == "--requests") args.requests = value;
  }
  int rc = Run("sqlite", args);
  const char* pg = std::getenv("TEMPO_TEST_POSTGRES_URL");
  if (rc == 0 && pg != nullptr && *pg != '\0') rc = Run("postgres", args);
  return rc;
}
