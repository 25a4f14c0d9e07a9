#include "tempo/agent/agent_config.hpp"

#include "tempo/base/json_text.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>

namespace tempo::agent {
namespace {

using nlohmann::json;

constexpr size_t kMaxPrompt = 20'000;
constexpr size_t kMaxKnowledgeEntries = 5'000;
constexpr size_t kMaxKnowledgeBytes = 2 * 1024 * 1024;

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(uint8_t(c)) != 0; });
}

bool IsAccountSid(std::string_view s) {
  return s.size() == 34 && s.substr(0, 2) == "AC" && IsHex(s.substr(2));
}

bool IsAwsRegion(std::string_view s) {
  // e.g. us-east-1, eu-central-2, ap-southeast-3, us-gov-west-1
  if (s.size() < 9 || s.size() > 25) return false;
  const auto last_dash = s.rfind('-');
  if (last_dash == std::string_view::npos || last_dash + 1 >= s.size()) return false;
  if (!std::all_of(s.begin() + last_dash + 1, s.end(),
                   [](char c) { return std::isdigit(uint8_t(c)) != 0; })) {
    return false;
  }
  return std::all_of(s.begin(), s.begin() + last_dash,
                     [](char c) { return std::islower(uint8_t(c)) != 0 || c == '-'; });
}

/// Reads fields one by one, recording a FieldError for each wrong type.
class Reader {
 public:
  Reader(const json& j, std::vector<FieldError>& errors) : j_(j), errors_(errors) {}

  void String(const char* key, std::string& out, size_t max = 2000) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    if (!it->is_string()) {
      errors_.push_back({key, "must be a string"});
      return;
    }
    out = it->get<std::string>();
    if (out.size() > max)
      errors_.push_back({key, fmt::format("is longer than {} characters", max)});
  }
  template <class Tag>
  void Id(const char* key, StrongId<Tag>& out) {
    std::string s;
    String(key, s, 200);
    out = StrongId<Tag>(std::move(s));
  }
  template <class Tag>
  void SecretField(const char* key, Secret<Tag>& out) {
    std::string s;
    String(key, s, 200);
    if (!s.empty()) out = Secret<Tag>(std::move(s));
  }
  void Bool(const char* key, bool& out) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    if (it->is_boolean()) {
      out = it->get<bool>();
    } else if (it->is_string() && (*it == "true" || *it == "false")) {
      out = *it == "true";  // the seed's environment carries booleans as strings
    } else {
      errors_.push_back({key, "must be true or false"});
    }
  }
  void Int(const char* key, int& out) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    if (it->is_number_integer()) {
      const auto v = it->get<int64_t>();
      if (v < INT32_MIN || v > INT32_MAX) {
        errors_.push_back({key, "is out of range"});
        return;
      }
      out = static_cast<int>(v);
    } else if (it->is_string()) {
      const auto s = it->get<std::string>();
      try {
        size_t used = 0;
        const long v = std::stol(s, &used);
        if (used != s.size() || v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument(s);
        out = static_cast<int>(v);
      } catch (const std::exception&) {
        errors_.push_back({key, "must be a whole number"});
      }
    } else {
      errors_.push_back({key, "must be a whole number"});
    }
  }
  void StringList(const char* key, std::vector<std::string>& out) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    if (it->is_string()) {  // one rule per line is accepted too
      std::string line;
      for (const char c : it->get<std::string>()) {
        if (c == '\n') {
          if (!line.empty()) out.push_back(line);
          line.clear();
        } else {
          line.push_back(c);
        }
      }
      if (!line.empty()) out.push_back(line);
      return;
    }
    if (!it->is_array()) {
      errors_.push_back({key, "must be a list of strings"});
      return;
    }
    for (const auto& v : *it) {
      if (!v.is_string()) {
        errors_.push_back({key, "must be a list of strings"});
        return;
      }
      out.push_back(v.get<std::string>());
    }
  }
  void Knowledge(const char* key, std::vector<KnowledgeEntry>& out) {
    seen_.insert(key);
    const auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return;
    size_t bytes = 0;
    auto add = [&](std::string q, std::string a) {
      bytes += q.size() + a.size();
      if (!a.empty() || !q.empty()) out.push_back({std::move(q), std::move(a)});
    };
    if (it->is_string()) {
      // Free text: paragraphs separated by blank lines.
      const std::string text = it->get<std::string>();
      size_t pos = 0;
      while (pos < text.size()) {
        size_t end = text.find("\n\n", pos);
        if (end == std::string::npos) end = text.size();
        std::string para = text.substr(pos, end - pos);
        para.erase(0, para.find_first_not_of(" \n\t"));
        if (const auto last = para.find_last_not_of(" \n\t"); last != std::string::npos) {
          para.erase(last + 1);
        }
        add({}, std::move(para));
        pos = end + 2;
      }
    } else if (it->is_array()) {
      for (const auto& e : *it) {
        if (e.is_string()) {
          add({}, e.get<std::string>());
        } else if (e.is_object()) {
          auto get = [&](std::initializer_list<const char*> names) -> std::string {
            for (const char* n : names) {
              if (auto f = e.find(n); f != e.end() && f->is_string()) return f->get<std::string>();
            }
            return {};
          };
          add(get({"question", "q", "title"}), get({"answer", "a", "content", "text"}));
        } else {
          errors_.push_back({key, "entries must be strings or {question, answer} objects"});
          return;
        }
      }
    } else {
      errors_.push_back({key, "must be text or a list of {question, answer} entries"});
      return;
    }
    if (out.size() > kMaxKnowledgeEntries) {
      errors_.push_back(
          {key, fmt::format("has {} entries; the limit is {}", out.size(), kMaxKnowledgeEntries)});
    } else if (bytes > kMaxKnowledgeBytes) {
      errors_.push_back(
          {key, fmt::format("is {} bytes; the limit is {} bytes", bytes, kMaxKnowledgeBytes)});
    }
  }
  void RejectUnknown() {
    for (const auto& [k, v] : j_.items()) {
      if (!seen_.contains(k)) errors_.push_back({k, "is not a known field"});
    }
  }

 private:
  const json& j_;
  std::vector<FieldError>& errors_;
  std::set<std::string, std::less<>> seen_;
};

void CheckUrl(std::vector<FieldError>& errors, const char* field, const std::string& v) {
  if (!v.empty() && !IsHttpUrl(v)) {
    errors.push_back({field, "must be an http:// or https:// URL"});
  }
}

void CheckPhone(std::vector<FieldError>& errors, const char* field, const std::string& v,
                bool required) {
  if (v.empty()) {
    if (required) errors.push_back({field, "is required"});
    return;
  }
  if (!IsE164(v)) {
    errors.push_back({field, "must be an E.164 phone number such as +14155550100"});
  }
}

}  // namespace

std::string AgentConfig::ClosingLine() const {
  return fmt::format("Thank you for calling {}. Have a great day!", agent_name);
}

bool IsFargateSize(int cpu, int memory) {
  if (memory % 1024 != 0 && !(cpu == 256 && memory == 512)) return false;
  switch (cpu) {
    case 256:
      return memory == 512 || memory == 1024 || memory == 2048;
    case 512:
      return memory >= 1024 && memory <= 4096;
    case 1024:
      return memory >= 2048 && memory <= 8192;
    case 2048:
      return memory >= 4096 && memory <= 16'384;
    case 4096:
      return memory >= 8192 && memory <= 30'720;
    default:
      return false;
  }
}

bool IsE164(std::string_view s) {
  if (s.size() < 8 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsHttpUrl(std::string_view s) {
  std::string_view rest;
  if (s.rfind("https://", 0) == 0) {
    rest = s.substr(8);
  } else if (s.rfind("http://", 0) == 0) {
    rest = s.substr(7);
  } else {
    return false;
  }
  const auto host_end = rest.find_first_of("/?#");
  const auto host = rest.substr(0, host_end);
  if (host.empty() || s.size() > 2048) return false;
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return std::isspace(uint8_t(c)) != 0 || uint8_t(c) < 0x20; });
}

bool IsValidAgentId(std::string_view s) {
  if (s.size() < 3 || s.size() > kMaxAgentIdLength) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  if (s.find("--") != std::string_view::npos) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::vector<FieldError> Validate(const AgentConfig& c) {
  std::vector<FieldError> e;
  if (c.agent_id.empty()) {
    e.push_back({"agentId", "is required"});
  } else if (!IsValidAgentId(c.agent_id.view())) {
    e.push_back({"agentId",
                 "must be 3-39 lower-case letters, digits or single hyphens, starting and ending "
                 "with a letter or digit"});
  }
  if (c.agent_name.empty()) e.push_back({"agentName", "is required"});
  if (c.prompt.size() > kMaxPrompt) {
    e.push_back({"prompt", fmt::format("is longer than {} characters", kMaxPrompt)});
  }
  for (const auto& rule : c.guardrails) {
    if (rule.size() > 1000) {
      e.push_back({"guardrails", "each rule must be at most 1000 characters"});
      break;
    }
  }
  if (c.engine != "local" && c.engine != "echo" && c.engine != "nova_sonic") {
    e.push_back({"engine", "must be one of local, echo, nova_sonic"});
  }
  CheckUrl(e, "makeEndpoint", c.make_endpoint);
  CheckUrl(e, "webhookEndpoint", c.webhook_endpoint);
  CheckUrl(e, "novaPickupWebhookUrl", c.nova_pickup_webhook_url);
  CheckUrl(e, "transcriptWebhookUrl", c.transcript_webhook_url);
  CheckPhone(e, "callPhoneNumber", c.call_phone_number, false);
  CheckPhone(e, "transferPhoneNumber", c.transfer_phone_number, false);
  CheckPhone(e, "summaryPhoneNumber", c.summary_phone_number, false);
  if (!c.sip_endpoint.empty() &&
      (c.sip_endpoint.rfind("sip:", 0) != 0 || c.sip_endpoint.find('@') == std::string::npos)) {
    e.push_back({"sipEndpoint", "must be a SIP URI such as sip:agent@example.sip.twilio.com"});
  }
  if (!c.twilio_account_sid.empty() && !IsAccountSid(c.twilio_account_sid.view())) {
    e.push_back({"twilioAccountSid", "must be AC followed by 32 hexadecimal characters"});
  }
  if (!c.aws_region.empty() && !IsAwsRegion(c.aws_region)) {
    e.push_back({"awsRegion", "must be an AWS region such as us-east-1"});
  }
  if (c.max_conversation_length < 1 || c.max_conversation_length > 1000) {
    e.push_back({"maxConversationLength", "must be between 1 and 1000 turns"});
  }
  if (c.max_session_duration < 30 || c.max_session_duration > 14'400) {
    e.push_back({"maxSessionDuration", "must be between 30 and 14400 seconds"});
  }
  if (c.max_inappropriate_attempts < 0 || c.max_inappropriate_attempts > 100) {
    e.push_back({"maxInappropriateAttempts", "must be between 0 and 100"});
  }
  if (c.fargate_cpu != 256 && c.fargate_cpu != 512 && c.fargate_cpu != 1024 &&
      c.fargate_cpu != 2048 && c.fargate_cpu != 4096) {
    e.push_back({"fargateCpu", "must be 256, 512, 1024, 2048 or 4096 CPU units"});
  } else if (!IsFargateSize(c.fargate_cpu, c.fargate_memory)) {
    e.push_back({"fargateMemory",
                 fmt::format("is not a Fargate size for {} CPU units (256: 512, 1024 or 2048 "
                             "MiB; 512: 1-4 GiB; 1024: 2-8 GiB; 2048: 4-16 GiB; 4096: 8-30 GiB, "
                             "in whole GiB)",
                             c.fargate_cpu)});
  }
  if (c.min_tasks < 1 || c.min_tasks > 100) {
    e.push_back({"minTasks", "must be between 1 and 100"});
  }
  if (c.max_tasks < c.min_tasks || c.max_tasks > 100) {
    e.push_back({"maxTasks", "must be between minTasks and 100"});
  }
  if (c.calls_per_task < 1 || c.calls_per_task > 1000) {
    e.push_back({"callsPerTask", "must be between 1 and 1000"});
  }
  return e;
}

std::string Describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.field + " " + e.message;
  }
  return out;
}

Result<AgentConfig> FromJson(const json& j, Unknown unknown, std::vector<FieldError>* errors_out) {
  std::vector<FieldError> errors;
  AgentConfig c;
  if (!j.is_object()) {
    errors.push_back({"", "an agent must be a JSON object"});
  } else {
    Reader r(j, errors);
    r.Id("agentId", c.agent_id);
    r.String("agentName", c.agent_name, 100);
    r.String("description", c.description, 1000);
    r.String("prompt", c.prompt, kMaxPrompt);
    r.String("firstMessage", c.first_message, 1000);
    r.StringList("guardrails", c.guardrails);
    r.Knowledge("knowledgeBase", c.knowledge_base);
    r.String("voiceId", c.voice_id, 100);
    r.String("engine", c.engine, 50);
    r.Bool("enabled", c.enabled);
    r.String("makeEndpoint", c.make_endpoint);
    r.String("webhookEndpoint", c.webhook_endpoint);
    r.String("novaPickupWebhookUrl", c.nova_pickup_webhook_url);
    r.String("transcriptWebhookUrl", c.transcript_webhook_url);
    r.String("callPhoneNumber", c.call_phone_number, 20);
    r.String("transferPhoneNumber", c.transfer_phone_number, 20);
    r.String("summaryPhoneNumber", c.summary_phone_number, 20);
    r.String("sipEndpoint", c.sip_endpoint, 300);
    r.Id("twilioAccountSid", c.twilio_account_sid);
    r.SecretField("twilioAuthToken", c.twilio_auth_token);
    r.SecretField("twilioApiSecret", c.twilio_api_secret);
    r.String("awsRegion", c.aws_region, 30);
    r.Bool("enableRecording", c.enable_recording);
    r.Bool("enableTranscription", c.enable_transcription);
    r.Int("maxConversationLength", c.max_conversation_length);
    r.Int("maxSessionDuration", c.max_session_duration);
    r.Int("maxInappropriateAttempts", c.max_inappropriate_attempts);
    r.Int("fargateCpu", c.fargate_cpu);
    r.Int("fargateMemory", c.fargate_memory);
    r.Bool("fargateSpot", c.fargate_spot);
    r.Int("minTasks", c.min_tasks);
    r.Int("maxTasks", c.max_tasks);
    r.Int("callsPerTask", c.calls_per_task);
    if (unknown == Unknown::kReject) r.RejectUnknown();
    if (errors.empty()) errors = Validate(c);
  }
  if (errors_out != nullptr) *errors_out = errors;
  if (!errors.empty()) return InvalidArgument(Describe(errors));
  return c;
}

Result<AgentConfig> FromJsonText(std::string_view text, Unknown unknown,
                                 std::vector<FieldError>* errors) {
  auto j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    if (errors != nullptr) *errors = {{"", "the body is not valid JSON"}};
    return InvalidArgument("the agent is not valid JSON");
  }
  return FromJson(j, unknown, errors);
}

json ToJson(const AgentConfig& c, Secrets secrets) {
  json kb = json::array();
  for (const auto& e : c.knowledge_base) {
    kb.push_back(e.question.empty() ? json(e.answer)
                                    : json{{"question", e.question}, {"answer", e.answer}});
  }
  json j = {
      {"agentId", c.agent_id.str()},
      {"agentName", c.agent_name},
      {"description", c.description},
      {"prompt", c.prompt},
      {"firstMessage", c.first_message},
      {"guardrails", c.guardrails},
      {"knowledgeBase", std::move(kb)},
      {"voiceId", c.voice_id},
      {"engine", c.engine},
      {"enabled", c.enabled},
      {"makeEndpoint", c.make_endpoint},
      {"webhookEndpoint", c.webhook_endpoint},
      {"novaPickupWebhookUrl", c.nova_pickup_webhook_url},
      {"transcriptWebhookUrl", c.transcript_webhook_url},
      {"callPhoneNumber", c.call_phone_number},
      {"transferPhoneNumber", c.transfer_phone_number},
      {"summaryPhoneNumber", c.summary_phone_number},
      {"sipEndpoint", c.sip_endpoint},
      {"twilioAccountSid", c.twilio_account_sid.str()},
      {"awsRegion", c.aws_region},
      {"enableRecording", c.enable_recording},
      {"enableTranscription", c.enable_transcription},
      {"maxConversationLength", c.max_conversation_length},
      {"maxSessionDuration", c.max_session_duration},
      {"maxInappropriateAttempts", c.max_inappropriate_attempts},
      {"fargateCpu", c.fargate_cpu},
      {"fargateMemory", c.fargate_memory},
      {"fargateSpot", c.fargate_spot},
      {"minTasks", c.min_tasks},
      {"maxTasks", c.max_tasks},
      {"callsPerTask", c.calls_per_task},
  };
  if (secrets == Secrets::kInclude) {
    j["twilioAuthToken"] = c.twilio_auth_token.Reveal();
    j["twilioApiSecret"] = c.twilio_api_secret.Reveal();
  } else {
    // Write-only: say whether one is set, never what it is.
    j["twilioAuthTokenSet"] = !c.twilio_auth_token.empty();
    j["twilioApiSecretSet"] = !c.twilio_api_secret.empty();
  }
  return j;
}

const std::vector<EnvField>& EnvironmentFields() {
  static const std::vector<EnvField> kFields = {
      {"AGENT_ID", "agentId"},
      {"AGENT_NAME", "agentName"},
      {"AGENT_DESCRIPTION", "description"},
      {"AGENT_PROMPT", "prompt"},
      {"AGENT_FIRST_MESSAGE", "firstMessage"},
      {"AGENT_GUARDRAILS", "guardrails"},
      {"AGENT_KNOWLEDGE_BASE", "knowledgeBase"},
      {"VOICE_ID", "voiceId"},
      {"AGENT_ENGINE", "engine"},
      {"MAKE_ENDPOINT", "makeEndpoint"},
      {"WEBHOOK_ENDPOINT", "webhookEndpoint"},
      {"CALL_PHONE_NUMBER", "callPhoneNumber"},
      {"TRANSFER_PHONE_NUMBER", "transferPhoneNumber"},
      {"SUMMARY_PHONE_NUMBER", "summaryPhoneNumber"},
      {"TWILIO_ACCOUNT_SID", "twilioAccountSid"},
      {"TWILIO_AUTH_TOKEN", "twilioAuthToken"},
      {"TWILIO_API_SECRET", "twilioApiSecret"},
      {"AWS_REGION", "awsRegion"},
      {"SIP_ENDPOINT", "sipEndpoint"},
      {"NOVA_PICKUP_WEBHOOK_URL", "novaPickupWebhookUrl"},
      {"TRANSCRIPT_WEBHOOK_URL", "transcriptWebhookUrl"},
      {"ENABLE_RECORDING", "enableRecording"},
      {"ENABLE_TRANSCRIPTION", "enableTranscription"},
      {"MAX_CONVERSATION_LENGTH", "maxConversationLength"},
      {"MAX_SESSION_DURATION", "maxSessionDuration"},
      {"MAX_INAPPROPRIATE_ATTEMPTS", "maxInappropriateAttempts"},
  };
  return kFields;
}

bool IsSecretEnvironment(std::string_view name) {
  return name == "TWILIO_AUTH_TOKEN" || name == "TWILIO_API_SECRET";
}

std::vector<std::pair<std::string, std::string>> ToEnvironment(const AgentConfig& config) {
  const json j = ToJson(config, Secrets::kOmit);
  std::vector<std::pair<std::string, std::string>> env;
  for (const auto& f : EnvironmentFields()) {
    if (IsSecretEnvironment(f.env)) continue;
    const auto it = j.find(f.json_key);
    std::string value;
    if (it != j.end()) {
      if (it->is_string()) {
        value = it->get<std::string>();
      } else if (it->is_boolean()) {
        value = it->get<bool>() ? "true" : "false";
      } else {
        value = DumpJson(*it);
      }
    }
    env.emplace_back(f.env, std::move(value));
  }
  return env;
}

Result<AgentConfig> FromEnvironment(
    const std::function<std::optional<std::string>(std::string_view)>& getenv) {
  json j = json::object();
  std::vector<FieldError> errors;
  for (const auto& f : EnvironmentFields()) {
    auto v = getenv(f.env);
    if (!v || v->empty()) continue;
    if (f.json_key == "guardrails" || f.json_key == "knowledgeBase") {
      // The seed stores these as JSON.stringify(...); plain text is accepted too.
      auto parsed = json::parse(*v, nullptr, false);
      j[std::string(f.json_key)] = parsed.is_discarded() ? json(*v) : std::move(parsed);
    } else {
      j[std::string(f.json_key)] = *v;
    }
  }
  auto config = FromJson(j, Unknown::kReject, &errors);
  if (!config) {
    // Name the environment variables, not the JSON keys, in this context.
    std::string message;
    for (const auto& e : errors) {
      std::string_view name = e.field;
      for (const auto& f : EnvironmentFields()) {
        if (f.json_key == e.field) name = f.env;
      }
      if (!message.empty()) message += "; ";
      message += fmt::format("{} {}", name, e.message);
    }
    return InvalidArgument(message);
  }
  return config;
}

}  // namespace tempo::agent
