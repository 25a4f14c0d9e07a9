#include "tempo/control/openapi.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <string_view>

namespace tempo::control {
namespace {

using nlohmann::json;

json Ref(std::string_view name) {
  return {{"$ref", std::string("#/components/schemas/") + std::string(name)}};
}
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

// Fields an agent stores and returns but that nothing acts on yet: said in the description,
// so that nobody relies on them.
constexpr std::string_view kNoWebhooks = "no webhook is sent yet";
json NotActedOnYet(json schema, std::string_view why) {
  const std::string before = schema.value("description", "");
  schema["description"] =
      fmt::format("{}Stored — not acted on yet ({}).", before.empty() ? "" : before + ". ", why);
  return schema;
}

json Schemas() {
  json s;
  s["Error"] = {
      {"type", "object"},
      {"required", json::array({"error"})},
      {"properties",
       {{"error",
         {{"type", "object"},
          {"required", json::array({"code", "message", "fields"})},
          {"properties",
           {{"code",
             {{"type", "string"},
              {"description",
               "bad_request, invalid_json, unauthenticated, forbidden, csrf_failed, not_found, "
               "conflict, precondition_failed, payload_too_large, unsupported_media_type, "
               "range_not_satisfiable, validation_failed, precondition_required, rate_limited, "
               "internal, unavailable"}}},
            {"message", {{"type", "string"}}},
            {"fields",
             {{"type", "array"},
              {"items",
               {{"type", "object"},
                {"required", json::array({"field", "message"})},
                {"properties",
                 {{"field", {{"type", "string"}}}, {"message", {{"type", "string"}}}}}}}}}}}}}}}};
  s["LoginRequest"] = {{"type", "object"},
                       {"required", json::array({"email", "password"})},
                       {"additionalProperties", false},
                       {"properties",
                        {{"email", {{"type", "string"}, {"format", "email"}}},
                         {"password", {{"type", "string"}, {"format", "password"}}}}}};
  s["Me"] = {{"type", "object"},
             {"properties",
              {{"user",
                {{"type", "object"},
                 {"properties",
                  {{"id", {{"type", "string"}}},
                   {"email", {{"type", "string"}}},
                   {"role", Ref("Role")}}}}},
               {"apiKey",
                {{"type", "object"},
                 {"properties", {{"id", {{"type", "string"}}}, {"role", Ref("Role")}}}}},
               {"organisation",
                {{"type", "object"},
                 {"properties", {{"id", {{"type", "string"}}}, {"name", {{"type", "string"}}}}}}},
               {"role", Ref("Role")},
               {"csrfToken",
                {{"type", "string"},
                 {"description",
                  "Send as X-CSRF-Token on every state-changing request made with the "
                  "session cookie"}}},
               {"expiresAt", {{"type", "string"}, {"format", "date-time"}}}}}};
  s["Role"] = {{"type", "string"}, {"enum", json::array({"admin", "editor", "viewer"})}};
  s["PasswordChange"] = {{"type", "object"},
                         {"required", json::array({"currentPassword", "newPassword"})},
                         {"additionalProperties", false},
                         {"properties",
                          {{"currentPassword", {{"type", "string"}}},
                           {"newPassword", {{"type", "string"}, {"minLength", 10}}}}}};
  s["Engine"] = {{"type", "object"},
                 {"required", json::array({"name"})},
                 {"properties", {{"name", {{"type", "string"}, {"example", "local"}}}}}};
  s["User"] = {{"type", "object"},
               {"properties",
                {{"id", {{"type", "string"}}},
                 {"email", {{"type", "string"}}},
                 {"role", Ref("Role")},
                 {"createdAt", {{"type", "string"}, {"format", "date-time"}}}}}};
  s["NewUser"] = {{"type", "object"},
                  {"required", json::array({"email", "password", "role"})},
                  {"additionalProperties", false},
                  {"properties",
                   {{"email", {{"type", "string"}}},
                    {"password", {{"type", "string"}, {"minLength", 10}}},
                    {"role", Ref("Role")}}}};
  s["ApiKey"] = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"name", {{"type", "string"}}},
        {"role", Ref("Role")},
        {"createdAt", {{"type", "string"}, {"format", "date-time"}}},
        {"lastUsedAt", {{"type", "string"}, {"format", "date-time"}, {"nullable", true}}},
        {"key",
         {{"type", "string"},
          {"description", "Only in the creation response: tv_... (shown once)"}}}}}};
  s["NewApiKey"] = {{"type", "object"},
                    {"required", json::array({"name"})},
                    {"additionalProperties", false},
                    {"properties",
                     {{"name", {{"type", "string"}}},
                      {"role",
                       {{"allOf", {Ref("Role")}},
                        {"description", "At most the caller's role; default: the caller's"}}}}}};
  json agent_props = {
      {"agentId",
       {{"type", "string"},
        {"pattern", "^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){1,37}[a-z0-9]$"},
        {"description", "3-39 lower-case letters, digits, hyphens; unique on the platform"}}},
      {"agentName", {{"type", "string"}, {"maxLength", 100}}},
      {"description", {{"type", "string"}, {"maxLength", 1000}}},
      {"prompt", {{"type", "string"}, {"maxLength", 20000}}},
      {"firstMessage", {{"type", "string"}, {"maxLength", 1000}}},
      {"guardrails", {{"type", "array"}, {"items", {{"type", "string"}}}}},
      {"knowledgeBase",
       {{"type", "array"},
        {"items",
         {{"oneOf",
           {{{"type", "string"}},
            {{"type", "object"},
             {"properties",
              {{"question", {{"type", "string"}}}, {"answer", {{"type", "string"}}}}}}}}}}}},
      {"voiceId", {{"type", "string"}}},
      {"engine",
       {{"type", "string"},
        {"description",
         "A speech engine this server has (GET /api/v1/engines lists them); another one is "
         "refused (422 on `engine`). Default: local"}}},
      {"enabled", {{"type", "boolean"}}},
      {"makeEndpoint", NotActedOnYet({{"type", "string"}, {"format", "uri"}}, kNoWebhooks)},
      {"webhookEndpoint", NotActedOnYet({{"type", "string"}, {"format", "uri"}}, kNoWebhooks)},
      {"novaPickupWebhookUrl", NotActedOnYet({{"type", "string"}, {"format", "uri"}}, kNoWebhooks)},
      {"transcriptWebhookUrl", NotActedOnYet({{"type", "string"}, {"format", "uri"}}, kNoWebhooks)},
      {"callPhoneNumber", {{"type", "string"}, {"description", "E.164"}}},
      {"transferPhoneNumber", {{"type", "string"}, {"description", "E.164"}}},
      {"summaryPhoneNumber",
       NotActedOnYet({{"type", "string"}, {"description", "E.164"}}, "no summary SMS is sent yet")},
      {"sipEndpoint", {{"type", "string"}}},
      {"twilioAccountSid", {{"type", "string"}}},
      {"awsRegion", NotActedOnYet({{"type", "string"}}, "no engine of this server uses AWS yet")},
      {"enableRecording", {{"type", "boolean"}}},
      {"enableTranscription", {{"type", "boolean"}}},
      {"maxConversationLength", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}},
      {"maxSessionDuration", {{"type", "integer"}, {"minimum", 30}, {"maximum", 14400}}},
      {"maxInappropriateAttempts", {{"type", "integer"}, {"minimum", 0}, {"maximum", 100}}},
  };
  json input_props = agent_props;
  input_props["twilioAuthToken"] = {
      {"type", "string"},
      {"nullable", true},
      {"writeOnly", true},
      {"description", "Write-only. Omit to keep the stored value; null or \"\" clears it"}};
  input_props["twilioApiSecret"] =
      NotActedOnYet(input_props["twilioAuthToken"], "the Twilio REST API is not called yet");
  s["AgentInput"] = {
      {"type", "object"},
      {"description",
       "Unknown fields are rejected (422). The read-only fields of Agent are accepted and ignored, "
       "so a client may send back what it read."},
      {"required", json::array({"agentId", "agentName", "prompt"})},
      {"properties", input_props}};
  json output_props = agent_props;
  output_props["twilioAuthTokenSet"] = {{"type", "boolean"}, {"readOnly", true}};
  output_props["twilioApiSecretSet"] = {{"type", "boolean"}, {"readOnly", true}};
  output_props["version"] = {{"type", "integer"}, {"readOnly", true}};
  output_props["status"] = {{"type", "string"}, {"enum", json::array({"deployed", "undeployed"})}};
  output_props["createdAt"] = {{"type", "string"}, {"format", "date-time"}};
  output_props["updatedAt"] = {{"type", "string"}, {"format", "date-time"}};
  output_props["voiceUrl"] = {
      {"type", "string"},
      {"description", "The Voice webhook URL (HTTP POST) to configure on the Twilio number"}};
  s["Agent"] = {{"type", "object"}, {"properties", output_props}};
  s["AgentSummary"] = {{"type", "object"},
                       {"properties",
                        {{"agentId", {{"type", "string"}}},
                         {"agentName", {{"type", "string"}}},
                         {"description", {{"type", "string"}}},
                         {"engine", {{"type", "string"}}},
                         {"enabled", {{"type", "boolean"}}},
                         {"callPhoneNumber", {{"type", "string"}}},
                         {"version", {{"type", "integer"}}},
                         {"status", {{"type", "string"}}},
                         {"createdAt", {{"type", "string"}, {"format", "date-time"}}},
                         {"updatedAt", {{"type", "string"}, {"format", "date-time"}}}}}};
  s["Deployment"] = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "string"}}},
        {"agentId", {{"type", "string"}}},
        {"action", {{"type", "string"}, {"enum", json::array({"deploy", "undeploy"})}}},
        {"agentVersion", {{"type", "integer"}}},
        {"state",
         {{"type", "string"}, {"enum", json::array({"in_progress", "succeeded", "failed"})}}},
        {"progress", {{"type", "integer"}, {"minimum", 0}, {"maximum", 100}}},
        {"error", {{"type", "string"}, {"nullable", true}}},
        {"steps",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"name", {{"type", "string"}}},
              {"state",
               {{"type", "string"},
                {"enum", json::array({"pending", "running", "done", "failed"})}}},
              {"message", {{"type", "string"}}}}}}}}},
        {"createdAt", {{"type", "string"}, {"format", "date-time"}}},
        {"updatedAt", {{"type", "string"}, {"format", "date-time"}}}}}};
  s["Number"] = {
      {"type", "object"},
      {"properties",
       {{"e164", {{"type", "string"}}},
        {"agentId", {{"type", "string"}, {"nullable", true}}},
        {"voiceUrl",
         {{"type", "string"},
          {"nullable", true},
          {"description", "{publicUrl}/agent/{agentId}/incoming-call: paste into Twilio"}}},
        {"voiceMethod", {{"type", "string"}, {"enum", json::array({"POST"})}}},
        {"createdAt", {{"type", "string"}, {"format", "date-time"}}}}}};
  s["NewNumber"] = {
      {"type", "object"},
      {"required", json::array({"e164"})},
      {"additionalProperties", false},
      {"properties",
       {{"e164", {{"type", "string"}}}, {"agentId", {{"type", "string"}, {"nullable", true}}}}}};
  s["NumberChange"] = {{"type", "object"},
                       {"required", json::array({"agentId"})},
                       {"additionalProperties", false},
                       {"properties", {{"agentId", {{"type", "string"}, {"nullable", true}}}}}};
  json call_props = {{"callSid", {{"type", "string"}}},
                     {"agentId", {{"type", "string"}}},
                     {"from", {{"type", "string"}}},
                     {"to", {{"type", "string"}}},
                     {"startedAt", {{"type", "string"}, {"format", "date-time"}}},
                     {"startedAtMs", {{"type", "integer"}, {"format", "int64"}}},
                     {"endedAt", {{"type", "string"}, {"format", "date-time"}, {"nullable", true}}},
                     {"durationMs", {{"type", "integer"}, {"nullable", true}}},
                     {"outcome", {{"type", "string"}, {"nullable", true}}},
                     {"turns", {{"type", "integer"}}},
                     {"hasTranscript", {{"type", "boolean"}}},
                     {"hasRecording", {{"type", "boolean"}}},
                     {"transcriptUrl", {{"type", "string"}, {"nullable", true}}},
                     {"recordingUrl", {{"type", "string"}, {"nullable", true}}}};
  s["Call"] = {{"type", "object"}, {"properties", call_props}};
  json detail_props = call_props;
  detail_props["metadata"] = {
      {"type", "object"},
      {"nullable", true},
      {"description", "metadata.json of the call (tempovoice.call/1), see docs/call-artifacts.md"}};
  detail_props["turnLatenciesMs"] = {{"type", "array"}, {"items", {{"type", "integer"}}}};
  s["CallDetail"] = {{"type", "object"}, {"properties", detail_props}};
  s["Transcript"] = {{"type", "object"},
                     {"description", "transcript.json (tempovoice.transcript/1)"},
                     {"properties",
                      {{"schema", {{"type", "string"}}},
                       {"callSid", {{"type", "string"}}},
                       {"status", {{"type", "string"}}},
                       {"turns", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                       {"toolCalls", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};
  json usage_numbers = {{"calls", {{"type", "integer"}}},
                        {"durationMs", {{"type", "integer"}}},
                        {"minutes", {{"type", "number"}}}};
  json usage_item = usage_numbers;
  usage_item["date"] = {{"type", "string"}, {"format", "date"}};
  usage_item["agentId"] = {{"type", "string"}};
  s["Usage"] = {
      {"type", "object"},
      {"properties",
       {{"from", {{"type", "string"}, {"format", "date-time"}}},
        {"to", {{"type", "string"}, {"format", "date-time"}}},
        {"items", {{"type", "array"}, {"items", {{"type", "object"}, {"properties", usage_item}}}}},
        {"totals", {{"type", "object"}, {"properties", usage_numbers}}}}}};
  return s;
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
          {"schemas", Schemas()}}},
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
