// "Talk to this agent": POST /api/v1/agents/{id}/talk issues a ticket, and the WebSocket
// /api/v1/agents/{id}/talk?ticket=... bridges the browser into the runtime, which runs it
// like a phone call.

#include "tempo/control/talk_api.hpp"

#include "tempo/control/agents_api.hpp"
#include "tempo/control/api_support.hpp"
#include "tempo/control/control_state.hpp"
#include "tempo/control/crypto.hpp"
#include "tempo/control/request_parsing.hpp"
#include "tempo/runtime/runtime.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace tempo::control {
namespace {

net::Response CreateTalk(ControlState& s, Ctx& c) {
  const std::string id(c.req.PathParam("id"));
  TEMPO_DB_ASSIGN(bool owned, OwnsAgent(s, c.who.org_id, id));
  if (!owned) return NotFoundError("agent").ToResponse();
  if (s.runtime == nullptr) {
    return ApiError{503, "unavailable", "browser calls are not enabled on this server", {}}
        .ToResponse();
  }
  if (c.who.kind != Principal::Kind::kSession) {
    return Forbidden("talking to an agent needs a dashboard session").ToResponse();
  }
  auto deployed = s.directory.Find(AgentId(id));
  if (!deployed) return Conflict("deploy the agent before talking to it").ToResponse();
  // The session checks the stream's account against the agent's, as for a phone call.
  const std::string account_sid = deployed->twilio_account_sid.empty()
                                      ? "AC" + Sha256Hex(RandomToken(16)).substr(0, 32)
                                      : deployed->twilio_account_sid.str();
  const std::string ticket = RandomToken(32);
  const std::string call_sid = "CA" + Sha256Hex(RandomToken(16)).substr(0, 32);
  const std::string stream_sid = "MZ" + Sha256Hex(RandomToken(16)).substr(0, 32);
  {
    std::lock_guard lock(s.talk.mutex);
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(s.talk.pending, [now](const auto& t) { return t.second.expires <= now; });
    if (s.talk.pending.size() >= TalkTickets::kMaxPending) {
      return ApiError{503, "unavailable", "too many pending browser calls; retry soon", {}}
          .ToResponse();
    }
    s.talk.pending[ticket] = {id, call_sid, c.session_token, now + TalkTickets::kTtl};
  }
  return JsonResponse(201, {{"ticket", ticket},
                            {"callSid", call_sid},
                            {"streamSid", stream_sid},
                            {"accountSid", account_sid},
                            {"url", fmt::format("/api/v1/agents/{}/talk?ticket={}", id, ticket)}});
}

// Runs on the I/O thread: only memory lookups, no database.
net::UpgradeDecision TalkStream(ControlState& s, const net::Request& req,
                                std::shared_ptr<net::WebSocket> socket) {
  auto query = ParseQuery(req.query);
  std::string ticket_text;
  if (query) {
    if (auto it = query->find("ticket"); it != query->end()) ticket_text = it->second;
  }
  std::optional<TalkTickets::Ticket> ticket;
  {
    std::lock_guard lock(s.talk.mutex);
    if (auto it = s.talk.pending.find(ticket_text); it != s.talk.pending.end()) {
      ticket = std::move(it->second);
      s.talk.pending.erase(it);  // single use
    }
  }
  if (!ticket || ticket->expires <= std::chrono::steady_clock::now()) {
    return Unauthorized("ask POST /api/v1/agents/{id}/talk for a fresh ticket").ToResponse();
  }
  std::optional<std::string> cookie_token;
  if (auto cookie = req.headers.Find("Cookie")) {
    cookie_token = FindCookie(*cookie, kSessionCookie);
  }
  if (!cookie_token || !ConstantTimeEquals(*cookie_token, ticket->session_token)) {
    return Unauthorized("the ticket belongs to another session").ToResponse();
  }
  // The ticket was issued after the tenant check of this agent; another agent id is a 404.
  if (req.PathParam("id") != ticket->agent_id) return NotFoundError("agent").ToResponse();
  auto agent = s.directory.Find(AgentId(ticket->agent_id));
  if (!agent || s.runtime == nullptr) return NotFoundError("agent").ToResponse();
  s.runtime->ExpectCall(agent->agent_id, CallSid(ticket->call_sid), "browser", "dashboard");
  return s.runtime->AcceptAuthenticatedStream(std::move(agent), std::move(socket));
}

}  // namespace

void AddTalkRoutes(ApiRoutes& routes) {
  routes.Add(net::Method::kPost, "/api/v1/agents/{id}/talk", Access::kWrite, &CreateTalk);
  ControlState* state = &routes.State();
  routes.Router().AddWebSocket(
      "/api/v1/agents/{id}/talk",
      [state](const net::Request& request, std::shared_ptr<net::WebSocket> socket) {
        return TalkStream(*state, request, std::move(socket));
      });
}

}  // namespace tempo::control
