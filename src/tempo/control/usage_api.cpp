// /api/v1/usage: calls and minutes per day and agent, from the call index.

#include "tempo/control/api_support.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/request_parsing.hpp"

#include <nlohmann/json.hpp>

namespace tempo::control {
namespace {

using nlohmann::json;

net::Response Usage(ControlState& s, Ctx& c) {
  if (auto e = OnlyQueryParams(c, {"from", "to", "agentId"})) return e->ToResponse();
  TEMPO_API_ASSIGN(auto from_param, TimeParam(c, "from"));
  TEMPO_API_ASSIGN(auto to_param, TimeParam(c, "to"));
  const int64_t to = to_param.value_or((s.NowMs() / kDayMs + 1) * kDayMs);
  const int64_t from = from_param.value_or(to - 30 * kDayMs);
  if (from >= to) return FieldInvalid("from", "must be before `to`").ToResponse();
  if (to - from > 366 * kDayMs) {
    return FieldInvalid("from", "the range may cover at most 366 days").ToResponse();
  }
  std::vector<db::Value> params = {c.who.org_id.str(), from, to};
  std::string filter;
  if (auto it = c.query.find("agentId"); it != c.query.end() && !it->second.empty()) {
    params.push_back(it->second);
    filter = " AND agent_id = $4";
  }
  TEMPO_DB_ASSIGN(
      db::Rows rows,
      s.db->Query("SELECT agent_id, started_at / 86400000 AS day, COUNT(*) AS calls, "
                  "COALESCE(SUM(duration_ms), 0) AS ms FROM calls "
                  "WHERE org_id = $1 AND started_at >= $2 AND started_at < $3" +
                      filter + " GROUP BY agent_id, started_at / 86400000 ORDER BY day, agent_id",
                  params));
  json items = json::array();
  int64_t total_calls = 0;
  int64_t total_ms = 0;
  for (const auto& row : rows) {
    const int64_t calls = Int(row, 2);
    const int64_t ms = Int(row, 3);
    total_calls += calls;
    total_ms += ms;
    items.push_back({{"date", FormatDay(Int(row, 1) * kDayMs)},
                     {"agentId", Str(row, 0)},
                     {"calls", calls},
                     {"durationMs", ms},
                     {"minutes", static_cast<double>(ms) / 60'000.0}});
  }
  return JsonResponse(200, {{"from", FormatTimeMs(from)},
                            {"to", FormatTimeMs(to)},
                            {"items", items},
                            {"totals",
                             {{"calls", total_calls},
                              {"durationMs", total_ms},
                              {"minutes", static_cast<double>(total_ms) / 60'000.0}}}});
}

}  // namespace

void AddUsageRoutes(ApiRoutes& routes) {
  routes.Add(net::Method::kGet, "/api/v1/usage", Access::kRead, &Usage);
}

}  // namespace tempo::control
