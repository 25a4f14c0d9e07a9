#pragma once

// AWS credentials and where they come from. This header is sans-I/O: the parsers of each
// source's text (environment, shared config/credentials files, the ECS container endpoint's
// and IMDS's JSON, STS's XML). The chain that fetches and refreshes them is in
// credential_chain.hpp.

#include "tempo/base/result.hpp"
#include "tempo/base/secret.hpp"

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace tempo::aws {

struct Credentials {
  std::string access_key_id;
  AwsSecretKey secret_access_key;
  AwsSessionToken session_token;  ///< empty for long-term keys
  /// When temporary credentials stop working; none for long-term keys.
  std::optional<std::chrono::system_clock::time_point> expiration;
  /// Where they came from, for logs and `status`: "environment", "profile default", ...
  std::string source;
};

/// Reads a variable of the process environment (injected for tests).
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
/// The real environment.
EnvLookup ProcessEnvironment();

/// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_SESSION_TOKEN.
/// Errors: kNotFound when neither key is set; kInvalidArgument when only one is.
Result<Credentials> CredentialsFromEnvironment(const EnvLookup& env);

/// The settings of one profile, by key (keys lower-case; "s3.addressing_style" for the
/// indented sub-settings under "s3 =").
using Profile = std::map<std::string, std::string>;

/// The profiles of an AWS shared file. The config file names sections "[default]" and
/// "[profile NAME]"; the credentials file "[NAME]". Comments start with '#' or ';'.
/// Errors: kInvalidArgument naming the line of a setting outside any section or of a line
/// that is neither a section, a setting nor a comment.
enum class SharedFile { kConfig, kCredentials };
Result<std::map<std::string, Profile>> ParseSharedFile(std::string_view text, SharedFile kind);

/// Profile `name` from both files (a key in the credentials file wins over the config file).
/// Errors: kNotFound when neither file has the profile; those of ParseSharedFile.
Result<Profile> LoadProfile(std::string_view config_text, std::string_view credentials_text,
                            std::string_view name);

/// The static keys of a profile (aws_access_key_id, aws_secret_access_key,
/// aws_session_token). Errors: kNotFound when it has none; kInvalidArgument when half.
Result<Credentials> CredentialsFromProfile(const Profile& profile, std::string_view name);

/// The JSON of the ECS container credentials endpoint or of IMDS's
/// security-credentials/ROLE: AccessKeyId, SecretAccessKey, Token, Expiration (and, for
/// IMDS, Code "Success"). Errors: kProtocol naming what is missing or malformed.
Result<Credentials> ParseCredentialsJson(std::string_view body, std::string_view source);

/// The XML answer of STS AssumeRole or AssumeRoleWithWebIdentity (…Result/Credentials).
/// Errors: kProtocol naming what is missing.
Result<Credentials> ParseStsCredentials(std::string_view xml, std::string_view source);

}  // namespace tempo::aws
