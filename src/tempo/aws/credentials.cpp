#include "tempo/aws/credentials.hpp"

#include "tempo/aws/xml.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/base/utc_time.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>

namespace tempo::aws {
namespace {

std::chrono::system_clock::time_point FromMs(int64_t ms) {
  return std::chrono::system_clock::time_point{} + std::chrono::milliseconds(ms);
}

Result<Credentials> FromParts(std::optional<std::string> key_id, std::optional<std::string> secret,
                              std::optional<std::string> token, std::string_view what,
                              std::string source) {
  const bool has_id = key_id && !key_id->empty();
  const bool has_secret = secret && !secret->empty();
  if (!has_id && !has_secret) return NotFound(fmt::format("{} has no AWS keys", what));
  if (!has_id || !has_secret) {
    return InvalidArgument(fmt::format("{} has an access key id or a secret key, not both", what));
  }
  Credentials out;
  out.access_key_id = std::move(*key_id);
  out.secret_access_key = AwsSecretKey(std::move(*secret));
  if (token) out.session_token = AwsSessionToken(std::move(*token));
  out.source = std::move(source);
  return out;
}

std::optional<std::string> Find(const Profile& profile, const std::string& key) {
  const auto it = profile.find(key);
  if (it == profile.end()) return std::nullopt;
  return it->second;
}

}  // namespace

EnvLookup ProcessEnvironment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<Credentials> CredentialsFromEnvironment(const EnvLookup& env) {
  return FromParts(env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"),
                   "the environment", "environment");
}

Result<std::map<std::string, Profile>> ParseSharedFile(std::string_view text, SharedFile kind) {
  std::map<std::string, Profile> profiles;
  Profile* current = nullptr;
  bool skipping = false;  // inside a section that is not a profile
  std::string parent;     // the setting whose indented sub-settings follow ("s3 =")
  int line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      if (line.back() != ']') {
        return InvalidArgument(fmt::format("line {}: a section must end with ']'", line_number));
      }
      std::string_view name = Trim(line.substr(1, line.size() - 2));
      if (kind == SharedFile::kConfig && name != "default") {
        // The config file names every profile but the default one "profile NAME"; other
        // sections (sso-session, services) are not profiles and are skipped.
        if (!name.starts_with("profile ")) {
          current = nullptr;
          skipping = true;
          parent.clear();
          continue;
        }
        name = Trim(name.substr(8));
      }
      if (name.empty()) return InvalidArgument(fmt::format("line {}: empty section", line_number));
      current = &profiles[std::string(name)];
      skipping = false;
      parent.clear();
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument(fmt::format("line {}: expected 'key = value'", line_number));
    }
    const std::string key = Lower(Trim(line.substr(0, eq)));
    const std::string value(Trim(line.substr(eq + 1)));
    const bool indented = raw.front() == ' ' || raw.front() == '\t';
    if (current == nullptr) {
      if (!skipping) {
        return InvalidArgument(fmt::format("line {}: setting outside a section", line_number));
      }
      continue;
    }
    if (indented && !parent.empty()) {
      (*current)[parent + "." + key] = value;
      continue;
    }
    parent = value.empty() ? key : std::string();
    if (!value.empty()) (*current)[key] = value;
  }
  return profiles;
}

Result<Profile> LoadProfile(std::string_view config_text, std::string_view credentials_text,
                            std::string_view name) {
  TEMPO_ASSIGN_OR_RETURN(auto config, ParseSharedFile(config_text, SharedFile::kConfig));
  TEMPO_ASSIGN_OR_RETURN(auto credentials,
                         ParseSharedFile(credentials_text, SharedFile::kCredentials));
  const std::string key(name);
  const auto in_config = config.find(key);
  const auto in_credentials = credentials.find(key);
  if (in_config == config.end() && in_credentials == credentials.end()) {
    return NotFound(
        fmt::format("no AWS profile '{}' in the shared config or credentials file", name));
  }
  Profile out;
  if (in_config != config.end()) out = in_config->second;
  if (in_credentials != credentials.end()) {
    for (const auto& [k, v] : in_credentials->second) out[k] = v;
  }
  return out;
}

Result<Credentials> CredentialsFromProfile(const Profile& profile, std::string_view name) {
  return FromParts(Find(profile, "aws_access_key_id"), Find(profile, "aws_secret_access_key"),
                   Find(profile, "aws_session_token"), fmt::format("profile '{}'", name),
                   fmt::format("profile {}", name));
}

Result<Credentials> ParseCredentialsJson(std::string_view body, std::string_view source) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object())
    return ProtocolError(fmt::format("{} answered with no JSON object", source));
  const auto text = [&](const char* key) -> std::optional<std::string> {
    const auto it = doc.find(key);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  if (auto code = text("Code"); code && *code != "Success") {
    return ProtocolError(fmt::format("{} answered Code {}", source, *code));
  }
  auto parsed = FromParts(text("AccessKeyId"), text("SecretAccessKey"), text("Token"), source,
                          std::string(source));
  if (!parsed) return ProtocolError(parsed.error().message);
  if (auto expiration = text("Expiration")) {
    auto ms = ParseUtcTimeMs(*expiration);
    if (!ms) return ProtocolError(fmt::format("{} answered a bad Expiration", source));
    parsed->expiration = FromMs(*ms);
  }
  return parsed;
}

Result<Credentials> ParseStsCredentials(std::string_view xml, std::string_view source) {
  TEMPO_ASSIGN_OR_RETURN(const XmlDoc doc, XmlDoc::Parse(xml));
  auto parsed =
      FromParts(doc.Text("//Credentials/AccessKeyId"), doc.Text("//Credentials/SecretAccessKey"),
                doc.Text("//Credentials/SessionToken"), source, std::string(source));
  if (!parsed) return ProtocolError(parsed.error().message);
  if (auto expiration = doc.Text("//Credentials/Expiration")) {
    auto ms = ParseUtcTimeMs(*expiration);
    if (!ms) return ProtocolError(fmt::format("{} answered a bad Expiration", source));
    parsed->expiration = FromMs(*ms);
  }
  return parsed;
}

}  // namespace tempo::aws
