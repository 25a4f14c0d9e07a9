#include "tempo/control/openapi.hpp"

#include "tempo/control/openapi_schemas.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string_view>

namespace tempo::control {
namespace {

using nlohmann::json;
using openapi::Ref;

json ErrorResponse(std::string_view description) {
  return {{"description", description},
          {"content", {{"application/json", {{"schema", Ref("Error")}}}}}};
}
json JsonBody(const json& schema, std::string_view description = "OK") {
  return {{"description", description}, {"content", {{"application/json", {{"schema", schema}}}}}};
}
json RequestBody(const json& schema) {
  return {{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
}
json PathParam(std::string_view name, std::string_view description) {
  return {{"name", name},
          {"in", "path"},
          {"required", true},
          {"description", description},
          {"schema", {{"type", "string"}}}};
}
json QueryParam(std::string_view name, std::string_view description,
                const json& schema = {{"type", "string"}}) {
  return {{"name", name}, {"in", "query"}, {"description", description}, {"schema", schema}};
}
json IfMatch() {
  return {{"name", "If-Match"},
          {"in", "header"},
          {"required", true},
          {"description", "The agent's ETag (its version), e.g. \"3\""},
          {"schema", {{"type", "string"}}}};
}
json Page(std::string_view item) {
  return {{"type", "object"},
          {"required", json::array({"items", "nextCursor"})},
          {"properties",
           {{"items", {{"type", "array"}, {"items", Ref(item)}}},
            {"nextCursor",
             {{"type", "string"},
              {"nullable", true},
              {"description", "Pass as `cursor` for the next page; null on the last page"}}}}}};
}
json Items(std::string_view item) {
  return {{"type", "object"},
          {"required", json::array({"items"})},
          {"properties", {{"items", {{"type", "array"}, {"items", Ref(item)}}}}}};
}

/// Adds the error responses every authenticated operation can give.
json Op(std::string summary, json responses, json extra = json::object()) {
  responses["401"] = ErrorResponse("Not logged in, expired session or unknown API key");
  responses["default"] = ErrorResponse("Error (the one error shape of the API)");
  json op = {{"summary", std::move(summary)}, {"responses", std::move(responses)}};
  op.update(extra);
  return op;
}
json WriteOp(std::string summary, json responses, json extra = json::object()) {
  responses["403"] = ErrorResponse("Viewer role, or missing X-CSRF-Token with a session cookie");
  return Op(std::move(summary), std::move(responses), std::move(extra));
}

json Paths() {
  json p;
  const json agent_id = PathParam("id", "Agent id");
  const json limit = QueryParam("limit", "Page size (1-200, default 50)",
                                {{"type", "integer"}, {"minimum", 1}, {"maximum", 200}});
  const json cursor = QueryParam("cursor", "nextCursor of the previous page");
  const json time = {{"type", "string"},
                     {"description", "2026-11-24, 2026-11-24T07:31:02Z or epoch milliseconds"}};

  p["/auth/login"]["post"] = {
      {"summary", "Log in: sets the HttpOnly session cookie and returns the CSRF token"},
      {"security", json::array()},
      {"requestBody", RequestBody(Ref("LoginRequest"))},
      {"responses",
       {{"200", JsonBody(Ref("Me"), "Logged in (Set-Cookie: tempo_session=...)")},
        {"401", ErrorResponse("Wrong email or password")},
        {"422", ErrorResponse("Missing or mistyped fields")},
        {"429", ErrorResponse("Too many failed logins (see Retry-After)")},
        {"default", ErrorResponse("Error")}}}};
  p["/auth/logout"]["post"] = Op("End the session", {{"204", {{"description", "Logged out"}}}});
  p["/auth/me"]["get"] = Op("Who is calling", {{"200", JsonBody(Ref("Me"))}});
  p["/auth/password"]["post"] =
      WriteOp("Change the logged-in user's password (ends the user's other sessions)",
              {{"204", {{"description", "Changed"}}},
               {"422", ErrorResponse("Wrong current password or too short a new one")}},
              {{"requestBody", RequestBody(Ref("PasswordChange"))}});

  p["/users"]["get"] = Op("Users of the organisation (admin)", {{"200", JsonBody(Items("User"))}});
  p["/users"]["post"] = WriteOp("Create a user (admin)",
                                {{"201", JsonBody(Ref("User"), "Created")},
                                 {"409", ErrorResponse("Email taken")},
                                 {"422", ErrorResponse("Invalid fields")}},
                                {{"requestBody", RequestBody(Ref("NewUser"))}});
  p["/users/{id}"]["delete"] =
      WriteOp("Delete a user (admin)",
              {{"204", {{"description", "Deleted"}}}, {"404", ErrorResponse("No such user")}},
              {{"parameters", {PathParam("id", "User id")}}});

  p["/keys"]["get"] = Op("API keys (never the key itself)", {{"200", JsonBody(Items("ApiKey"))}});
  p["/keys"]["post"] = WriteOp(
      "Create an API key; the key is in this response only",
      {{"201", JsonBody(Ref("ApiKey"), "Created")}, {"422", ErrorResponse("Invalid fields")}},
      {{"requestBody", RequestBody(Ref("NewApiKey"))}});
  p["/keys/{id}"]["delete"] =
      WriteOp("Revoke an API key",
              {{"204", {{"description", "Revoked"}}}, {"404", ErrorResponse("No such key")}},
              {{"parameters", {PathParam("id", "Key id")}}});

  p["/agents"]["get"] = Op("Agents, newest first", {{"200", JsonBody(Page("AgentSummary"))}},
                           {{"parameters", {limit, cursor}}});
  p["/agents"]["post"] = WriteOp("Create an agent",
                                 {{"201", JsonBody(Ref("Agent"), "Created (ETag: \"1\")")},
                                  {"409", ErrorResponse("agentId taken")},
                                  {"422", ErrorResponse("Invalid fields, one entry per field")}},
                                 {{"requestBody", RequestBody(Ref("AgentInput"))}});
  p["/agents/{id}"]["parameters"] = {agent_id};
  p["/agents/{id}"]["get"] =
      Op("One agent (ETag = version)",
         {{"200", JsonBody(Ref("Agent"))}, {"404", ErrorResponse("No such agent")}});
  const json update_responses = {{"200", JsonBody(Ref("Agent"), "Updated (new ETag)")},
                                 {"404", ErrorResponse("No such agent")},
                                 {"412", ErrorResponse("If-Match is not the current version")},
                                 {"422", ErrorResponse("Invalid fields")},
                                 {"428", ErrorResponse("If-Match missing")}};
  p["/agents/{id}"]["put"] =
      WriteOp("Replace an agent's configuration", update_responses,
              {{"parameters", {IfMatch()}}, {"requestBody", RequestBody(Ref("AgentInput"))}});
  p["/agents/{id}"]["patch"] =
      WriteOp("Change some fields (JSON merge patch, RFC 7386)", update_responses,
              {{"parameters", {IfMatch()}},
               {"requestBody",
                {{"required", true},
                 {"content",
                  {{"application/merge-patch+json", {{"schema", {{"type", "object"}}}}},
                   {"application/json", {{"schema", {{"type", "object"}}}}}}}}}});
  p["/agents/{id}"]["delete"] =
      WriteOp("Delete an agent",
              {{"204", {{"description", "Deleted"}}},
               {"404", ErrorResponse("No such agent")},
               {"409", ErrorResponse("Numbers are assigned to the agent")},
               {"412", ErrorResponse("If-Match is not the current version")},
               {"428", ErrorResponse("If-Match missing")}},
              {{"parameters", {IfMatch()}}});
  const json deploy_responses = {{"202", JsonBody(Ref("Deployment"), "Started")},
                                 {"404", ErrorResponse("No such agent")},
                                 {"409", ErrorResponse("A deployment is in progress")}};
  p["/agents/{id}/deploy"]["parameters"] = {agent_id};
  p["/agents/{id}/deploy"]["post"] =
      WriteOp("Deploy the agent; poll GET .../deployment for progress", deploy_responses);
  p["/agents/{id}/undeploy"]["parameters"] = {agent_id};
  p["/agents/{id}/undeploy"]["post"] = WriteOp("Take the agent out of service", deploy_responses);
  p["/agents/{id}/talk"]["parameters"] = {agent_id};
  p["/agents/{id}/talk"]["post"] = WriteOp(
      "Start a browser call to the agent (dashboard session only): returns a single-use ticket "
      "(60 s) for the WebSocket GET /api/v1/agents/{id}/talk?ticket=..., which then speaks "
      "Twilio's Media Streams protocol with this callSid and streamSid",
      {{"201", JsonBody({{"type", "object"},
                         {"properties",
                          {{"ticket", {{"type", "string"}}},
                           {"callSid", {{"type", "string"}}},
                           {"streamSid", {{"type", "string"}}},
                           {"accountSid", {{"type", "string"}}},
                           {"url", {{"type", "string"}}}}}},
                        "Ticket issued")},
       {"403", ErrorResponse("Not a dashboard session, or the role cannot write")},
       {"404", ErrorResponse("No such agent")},
       {"409", ErrorResponse("The agent is not deployed")}});
  p["/agents/{id}/deployment"]["parameters"] = {agent_id};
  p["/agents/{id}/deployment"]["get"] =
      Op("The latest deployment with its steps and progress",
         {{"200", JsonBody(Ref("Deployment"))}, {"404", ErrorResponse("No such agent or none")}});

  p["/engines"]["get"] =
      Op("The speech engines of this server: the values an agent's `engine` may take",
         {{"200", JsonBody(Items("Engine"))}});

  p["/numbers"]["get"] = Op("Phone numbers with the Voice URL to configure in Twilio",
                            {{"200", JsonBody(Items("Number"))}});
  p["/numbers"]["post"] = WriteOp("Register a number",
                                  {{"201", JsonBody(Ref("Number"), "Created")},
                                   {"409", ErrorResponse("Number already registered")},
                                   {"422", ErrorResponse("Invalid number or unknown agent")}},
                                  {{"requestBody", RequestBody(Ref("NewNumber"))}});
  const json e164 = PathParam("e164", "The number, URL-encoded (%2B14155550100)");
  p["/numbers/{e164}"]["parameters"] = {e164};
  p["/numbers/{e164}"]["patch"] = WriteOp("Assign the number to another agent (null: none)",
                                          {{"200", JsonBody(Ref("Number"))},
                                           {"404", ErrorResponse("No such number")},
                                           {"422", ErrorResponse("Unknown agent")}},
                                          {{"requestBody", RequestBody(Ref("NumberChange"))}});
  p["/numbers/{e164}"]["delete"] =
      WriteOp("Remove a number",
              {{"204", {{"description", "Removed"}}}, {"404", ErrorResponse("No such number")}});

  p["/calls"]["get"] =
      Op("Calls, newest first",
         {{"200", JsonBody(Page("Call"))}, {"422", ErrorResponse("Invalid filter")}},
         {{"parameters",
           {QueryParam("agentId", "Only this agent's calls"),
            QueryParam("outcome", "completed, transferred, ..."),
            QueryParam("from", "Started at or after", time),
            QueryParam("to", "Started before", time), limit, cursor}}});
  const json sid = PathParam("sid", "Call SID");
  p["/calls/{sid}"]["parameters"] = {sid};
  p["/calls/{sid}"]["get"] =
      Op("One call with its metadata (turn latencies, counters)",
         {{"200", JsonBody(Ref("CallDetail"))}, {"404", ErrorResponse("No such call")}});
  p["/calls/{sid}/transcript"]["parameters"] = {sid};
  p["/calls/{sid}/transcript"]["get"] =
      Op("The call's transcript.json",
         {{"200", JsonBody(Ref("Transcript"))}, {"404", ErrorResponse("No such call")}});
  p["/calls/{sid}/recording.wav"]["parameters"] = {sid};
  p["/calls/{sid}/recording.wav"]["get"] = Op(
      "The call's stereo recording (caller left, agent right); supports Range",
      {{"200",
        {{"description", "The whole file (Accept-Ranges: bytes)"},
         {"content", {{"audio/wav", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}},
       {"206",
        {{"description", "The requested bytes (Content-Range)"},
         {"content", {{"audio/wav", {{"schema", {{"type", "string"}, {"format", "binary"}}}}}}}}},
       {"404", ErrorResponse("No such call or no recording")},
       {"416", ErrorResponse("Range beyond the end")}},
      {{"parameters",
        {{{"name", "Range"},
          {"in", "header"},
          {"schema", {{"type", "string"}}},
          {"description", "bytes=first-last, bytes=first- or bytes=-suffix"}}}}});
  p["/usage"]["get"] =
      Op("Calls and minutes per agent per UTC day",
         {{"200", JsonBody(Ref("Usage"))}, {"422", ErrorResponse("Invalid range")}},
         {{"parameters",
           {QueryParam("from", "Start (default: 30 days before `to`)", time),
            QueryParam("to", "End, exclusive (default: end of today)", time),
            QueryParam("agentId", "Only this agent")}}});
  return p;
}

}  // namespace

const std::string& OpenApiDocument() {
  static const std::string kDocument = [] {
    json doc = {
        {"openapi", "3.0.3"},
        {"info",
         {{"title", "TempoVoice control-plane API"},
          {"version", "1"},
          {"description",
           "Tenants, users, API keys, agents, deployments, numbers, calls and usage. Every "
           "error has the shape {\"error\":{\"code\",\"message\",\"fields\":[...]}}. Objects of "
           "another organisation answer 404."}}},
        {"servers", {{{"url", "/api/v1"}}}},
        {"security", {{{"sessionCookie", json::array()}}, {{"apiKey", json::array()}}}},
        {"components",
         {{"securitySchemes",
           {{"sessionCookie",
             {{"type", "apiKey"},
              {"in", "cookie"},
              {"name", "tempo_session"},
              {"description",
               "From POST /auth/login; state-changing requests also need the "
               "X-CSRF-Token header"}}},
            {"apiKey",
             {{"type", "http"},
              {"scheme", "bearer"},
              {"description", "Authorization: Bearer tv_... (POST /keys)"}}}}},
          {"schemas", OpenApiSchemas()}}},
        {"paths", Paths()},
    };
    doc["paths"]["/openapi.json"]["get"] = {
        {"summary", "This document"},
        {"security", json::array()},
        {"responses", {{"200", JsonBody({{"type", "object"}})}}}};
    return doc.dump(2);
  }();
  return kDocument;
}

}  // namespace tempo::control
