#include "tempo/control/openapi_schemas.hpp"

#include <fmt/format.h>

#include <string>

// The components/schemas of the OpenAPI document: the shapes of the API's bodies.
namespace tempo::control {

namespace openapi {
nlohmann::json Ref(std::string_view name) {
  return {{"$ref", std::string("#/components/schemas/") + std::string(name)}};
}
}  // namespace openapi

namespace {
using nlohmann::json;
using openapi::Ref;

// Fields an agent stores and returns but that nothing acts on yet: said in the description,
// so that nobody relies on them.
constexpr std::string_view kNoWebhooks = "no webhook is sent yet";
json NotActedOnYet(json schema, std::string_view why) {
  const std::string before = schema.value("description", "");
  schema["description"] =
      fmt::format("{}Stored — not acted on yet ({}).", before.empty() ? "" : before + ". ", why);
  return schema;
}

}  // namespace

json OpenApiSchemas() {
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

}  // namespace tempo::control
