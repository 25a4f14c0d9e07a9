#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/secret.hpp"
#include "tempo/base/strong_id.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tempo::agent {

using TwilioApiSecret = Secret<struct TwilioApiSecretTag>;

/// One knowledge-base entry: a question with its answer, or a paragraph (empty question).
struct KnowledgeEntry {
  std::string question;
  std::string answer;
  friend bool operator==(const KnowledgeEntry&, const KnowledgeEntry&) = default;
};

/// Everything that defines an agent: the seed's dashboard form, plus the engine choice.
/// JSON field names are the seed's camelCase names (agentId, agentName, ...).
struct AgentConfig {
  AgentId agent_id;
  std::string agent_name;
  std::string description;
  std::string prompt;
  std::string first_message;            ///< greeting spoken when the call connects
  std::vector<std::string> guardrails;  ///< custom rules, one sentence each
  std::vector<KnowledgeEntry> knowledge_base;
  std::string voice_id;
  std::string engine = "local";  ///< local | echo | nova_sonic
  bool enabled = true;

  std::string make_endpoint;
  std::string webhook_endpoint;
  std::string nova_pickup_webhook_url;
  std::string transcript_webhook_url;

  std::string call_phone_number;      ///< E.164: the Twilio number that reaches the agent
  std::string transfer_phone_number;  ///< E.164: where transfer_call dials
  std::string summary_phone_number;   ///< E.164: who gets the after-call SMS
  std::string sip_endpoint;           ///< sip: URI, an alternative transfer target

  AccountSid twilio_account_sid;
  TwilioAuthToken twilio_auth_token;  ///< checks X-Twilio-Signature; write-only in the API
  TwilioApiSecret twilio_api_secret;  ///< REST API key secret; write-only in the API
  std::string aws_region = "us-east-1";

  bool enable_recording = true;
  bool enable_transcription = true;
  int max_conversation_length = 50;  ///< caller+agent turns before a polite ending
  int max_session_duration = 1800;   ///< seconds
  int max_inappropriate_attempts = 3;

  // On AWS (the ecs deployer): the agent's Fargate tasks. Not part of the container
  // environment.
  int fargate_cpu = 256;      ///< CPU units: 256, 512, 1024, 2048 or 4096
  int fargate_memory = 512;   ///< MiB, one of Fargate's sizes for that CPU
  bool fargate_spot = false;  ///< Fargate Spot: about 70 % cheaper, may be interrupted
  int min_tasks = 1;          ///< always running: a phone agent answers at once
  int max_tasks = 2;
  int calls_per_task = 20;  ///< scaling target: active calls per task

  /// The seed's closing line.
  [[nodiscard]] std::string ClosingLine() const;

  friend bool operator==(const AgentConfig&, const AgentConfig&) = default;
};

/// A validation failure of one field, named by its JSON key.
struct FieldError {
  std::string field;
  std::string message;
  friend bool operator==(const FieldError&, const FieldError&) = default;
};

/// Every problem of the config, one per field (empty = valid).
std::vector<FieldError> Validate(const AgentConfig& config);

/// "field: message; field: message" for logs and CLI errors.
std::string Describe(const std::vector<FieldError>& errors);

enum class Unknown { kReject, kIgnore };

/// Reads a config from JSON (seed field names). Type errors and unknown fields (with
/// Unknown::kReject) are reported per field; then Validate() runs. On failure the error
/// message is Describe(errors) and `errors` (if given) receives them one by one.
Result<AgentConfig> FromJson(const nlohmann::json& json, Unknown unknown = Unknown::kReject,
                             std::vector<FieldError>* errors = nullptr);
Result<AgentConfig> FromJsonText(std::string_view text, Unknown unknown = Unknown::kReject,
                                 std::vector<FieldError>* errors = nullptr);

enum class Secrets { kOmit, kInclude };
/// Writes the config as JSON. Secrets are omitted unless asked for (API responses never
/// include them; the encrypted store and agent files do).
nlohmann::json ToJson(const AgentConfig& config, Secrets secrets = Secrets::kOmit);

/// Reads the seed's container environment (AGENT_ID, AGENT_NAME, AGENT_PROMPT,
/// AGENT_GUARDRAILS (JSON), AGENT_KNOWLEDGE_BASE (JSON), VOICE_ID, MAKE_ENDPOINT, ...).
/// `getenv` is injected for tests.
Result<AgentConfig> FromEnvironment(
    const std::function<std::optional<std::string>(std::string_view)>& getenv);

/// The seed's environment variable names, in the seed's order, mapped to JSON keys.
struct EnvField {
  std::string_view env;
  std::string_view json_key;
};
const std::vector<EnvField>& EnvironmentFields();

/// The container environment of an agent (what FromEnvironment reads back), in the seed's
/// order: every field of EnvironmentFields() except the Twilio secrets, which a container
/// gets from a secret store (an ECS task definition's `secrets`), never as plain environment.
/// Lists are JSON text, as the seed writes them; absent values are empty.
std::vector<std::pair<std::string, std::string>> ToEnvironment(const AgentConfig& config);
/// TWILIO_AUTH_TOKEN and TWILIO_API_SECRET: the variables ToEnvironment leaves out.
bool IsSecretEnvironment(std::string_view name);

/// Checks used by the validator and the control-plane API.
/// Whether Fargate offers a task of `cpu` units with `memory` MiB.
bool IsFargateSize(int cpu, int memory);
bool IsE164(std::string_view s);
bool IsHttpUrl(std::string_view s);
/// Lower-case letters, digits and '-', 3..kMaxAgentIdLength chars, starting and ending with a
/// letter or digit, so that the agent's artefact bucket (storage::AgentBucket) is a valid S3
/// bucket name.
bool IsValidAgentId(std::string_view s);
/// S3 bucket names have at most 63 characters, and storage::AgentBucket puts the 24-character
/// "tempo-agent-transcripts-" in front of the id. agent/ may not depend on storage/, so the
/// length is repeated here; tests/unit/tempo/storage checks that the two agree.
inline constexpr size_t kMaxAgentIdLength = 63 - 24;

}  // namespace tempo::agent
