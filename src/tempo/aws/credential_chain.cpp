#include "tempo/aws/credential_chain.hpp"

#include "tempo/aws/protocol.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <netdb.h>
#include <optional>
#include <sstream>
#include <sys/socket.h>
#include <utility>
#include <vector>

namespace tempo::aws {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kEcsHost = "http://169.254.170.2";
constexpr std::string_view kImdsHost = "http://169.254.169.254";

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<std::string> NonEmpty(const EnvLookup& env, std::string_view name) {
  auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

// A shared file's path: its variable (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE), else
// ~/.aws/<leaf>; empty when neither is known.
std::string SharedFilePath(const EnvLookup& env, std::string_view variable, std::string_view leaf) {
  if (auto v = NonEmpty(env, variable)) return *v;
  const std::string home = NonEmpty(env, "HOME").value_or("");
  return home.empty() ? std::string() : home + "/.aws/" + std::string(leaf);
}

bool HasLineBreak(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

// The numeric addresses of `host` (an address literal is its own).
Result<std::vector<std::string>> ResolveHost(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found); rc != 0) {
    return Unavailable(fmt::format("cannot resolve {}: {}", host, gai_strerror(rc)));
  }
  std::vector<std::string> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char text[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) ==
        0) {
      out.emplace_back(text);
    }
  }
  freeaddrinfo(found);
  return out;
}

class StaticProvider final : public CredentialProvider {
 public:
  explicit StaticProvider(Credentials credentials) : credentials_(std::move(credentials)) {}
  Result<Credentials> Get() override { return credentials_; }

 private:
  Credentials credentials_;
};

// A source answers kNotFound when it is not configured here; the chain then tries the next.

class Chain final : public CredentialProvider {
 public:
  explicit Chain(ChainOptions options) : options_(std::move(options)) {
    if (!options_.read_file) options_.read_file = ReadWholeFile;
    if (!options_.resolve) options_.resolve = ResolveHost;
  }

  // Single flight: one thread fetches while the others get the cached credentials (or, with
  // nothing usable yet, wait for that one fetch). After a failure the source is not asked again
  // before a backoff, so a broken source does not cost every call a network round trip.
  Result<Credentials> Get() override {
    std::unique_lock lock(mutex_);
    for (;;) {
      const auto now = options_.clock->WallNow();
      if (cached_ && now < refresh_at_) return *cached_;
      const bool usable = UsableAt(now);
      if (refreshing_) {
        if (usable) return *cached_;
        refreshed_.wait(lock);
        continue;
      }
      if (now < retry_after_) {
        if (usable) return *cached_;
        return last_error_;
      }
      refreshing_ = true;
      lock.unlock();
      auto fresh = chosen_ ? chosen_->fetch() : Resolve();
      lock.lock();
      refreshing_ = false;
      refreshed_.notify_all();
      const auto done = options_.clock->WallNow();
      if (fresh) {
        cached_ = *fresh;
        refresh_at_ = RefreshAt(*fresh, done);
        failures_ = 0;
        retry_after_ = {};
        return fresh;
      }
      last_error_ = fresh.error();
      failures_ = std::min(failures_ + 1, 7);
      retry_after_ = done + kFirstBackoff * (1 << (failures_ - 1));  // 1 s .. 64 s
      if (UsableAt(done)) {
        TEMPO_LOG(aws, warn,
                  "refreshing AWS credentials from {} failed, still using the current ones: {}",
                  cached_->source, fresh.error());
        return *cached_;
      }
      return fresh;
    }
  }

 private:
  static constexpr std::chrono::seconds kFirstBackoff{1};
  // Temporary credentials that do not say when they expire are fetched again after this.
  static constexpr std::chrono::minutes kNoExpirationRefresh{15};

  struct Source {
    std::function<Result<Credentials>()> fetch;
    bool fixed = false;  // keys that never change (environment, a profile's keys)
  };

  // The cached credentials have not expired (they may be due for a refresh).
  [[nodiscard]] bool UsableAt(Clock::Wall::time_point now) const {
    return cached_ && (!cached_->expiration || now < *cached_->expiration);
  }

  [[nodiscard]] Clock::Wall::time_point RefreshAt(const Credentials& c,
                                                  Clock::Wall::time_point now) const {
    if (c.expiration) return *c.expiration - options_.refresh_window;
    if (chosen_ && chosen_->fixed) return Clock::Wall::time_point::max();
    return now + kNoExpirationRefresh;
  }

  Result<Credentials> Resolve() {
    const std::vector<Source> sources = {
        {[this] { return CredentialsFromEnvironment(options_.env); }, true},
        {[this] { return FromWebIdentityEnv(); }, false},
        {[this] { return FromProfile(); }, true},
        {[this] { return FromContainer(); }, false},
        {[this] { return FromImds(); }, false},
    };
    std::vector<std::string> tried;
    for (const Source& source : sources) {
      auto result = source.fetch();
      if (!result && result.error().code == ErrorCode::kNotFound) {
        tried.push_back(result.error().message);
        continue;
      }
      if (result) {
        chosen_ = source;
        // The key id is not secret, but its tail is enough to tell keys apart.
        const std::string& id = result->access_key_id;
        TEMPO_LOG(aws, info, "AWS credentials from {} (key …{})", result->source,
                  id.substr(id.size() > 4 ? id.size() - 4 : 0));
      }
      return result;
    }
    std::string why;
    for (const auto& t : tried) why += (why.empty() ? "" : "; ") + t;
    return Unauthenticated("no AWS credentials found (" + why +
                           "): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, "
                           "or run with an ECS task role or an EC2 instance profile");
  }

  [[nodiscard]] bool ProfileNamed() const {
    return !options_.profile.empty() || NonEmpty(options_.env, "AWS_PROFILE").has_value();
  }

  [[nodiscard]] std::string ProfileName() const {
    if (!options_.profile.empty()) return options_.profile;
    return NonEmpty(options_.env, "AWS_PROFILE").value_or("default");
  }

  [[nodiscard]] Result<Profile> LoadSharedProfile() const {
    const std::string config_path = SharedFilePath(options_.env, "AWS_CONFIG_FILE", "config");
    const std::string credentials_path =
        SharedFilePath(options_.env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    const auto read = [this](const std::string& path) -> std::string {
      if (path.empty()) return {};
      auto text = options_.read_file(path);
      return text ? *text : std::string();
    };
    return LoadProfile(read(config_path), read(credentials_path), ProfileName());
  }

  Result<Credentials> FromProfile() {
    const std::string name = ProfileName();
    auto loaded = LoadSharedProfile();
    if (!loaded && loaded.error().code == ErrorCode::kNotFound && ProfileNamed()) {
      // As in the SDKs: a profile asked for by name that does not exist is an error, not a
      // reason to try the container or instance credentials instead.
      return InvalidArgument(loaded.error().message + " (AWS_PROFILE names it)");
    }
    TEMPO_ASSIGN_OR_RETURN(const Profile profile, std::move(loaded));
    auto keys = CredentialsFromProfile(profile, name);
    if (keys || keys.error().code != ErrorCode::kNotFound) return keys;
    const auto role = profile.find("role_arn");
    const auto token_file = profile.find("web_identity_token_file");
    if (role != profile.end() && token_file != profile.end()) {
      const auto session = profile.find("role_session_name");
      return AssumeWithWebIdentity(role->second, token_file->second,
                                   session == profile.end() ? "" : session->second,
                                   fmt::format("profile {} (web identity)", name));
    }
    if (role != profile.end()) {
      return InvalidArgument(fmt::format(
          "profile '{}' assumes a role through a source profile, which is not supported: "
          "give it keys or a web_identity_token_file",
          name));
    }
    return keys;
  }

  Result<Credentials> FromWebIdentityEnv() {
    auto token_file = NonEmpty(options_.env, "AWS_WEB_IDENTITY_TOKEN_FILE");
    auto role = NonEmpty(options_.env, "AWS_ROLE_ARN");
    if (!token_file || !role) return NotFound("no web identity in the environment");
    return AssumeWithWebIdentity(*role, *token_file,
                                 NonEmpty(options_.env, "AWS_ROLE_SESSION_NAME").value_or(""),
                                 "web identity");
  }

  Result<Credentials> AssumeWithWebIdentity(const std::string& role_arn,
                                            const std::string& token_file, std::string session_name,
                                            std::string source) {
    auto token = options_.read_file(token_file);
    if (!token) {
      return InvalidArgument(fmt::format("cannot read the web identity token file {}", token_file));
    }
    if (session_name.empty()) {
      session_name = fmt::format("tempovoice-{}", std::chrono::duration_cast<std::chrono::seconds>(
                                                      options_.clock->WallNow().time_since_epoch())
                                                      .count());
    }
    // STS's regional endpoints are the recommended ones; us-east-1 when nothing says which.
    const std::string region = ResolveRegion(options_);
    TEMPO_ASSIGN_OR_RETURN(
        const std::string endpoint,
        EndpointUrl(services::kSts, region.empty() ? "us-east-1" : region, {}, options_.env));
    net::ClientRequest request;
    request.method = net::Method::kPost;
    request.url = endpoint + "/";
    request.headers.Set("Content-Type", "application/x-www-form-urlencoded");
    // Unsigned by design: the web identity token is the credential.
    request.body = QueryBody(services::kSts, "AssumeRoleWithWebIdentity",
                             {{"RoleArn", role_arn},
                              {"RoleSessionName", session_name},
                              {"WebIdentityToken", std::string(Trim(*token))}});
    auto response = options_.fetch(std::move(request));
    if (!response) {
      return Unavailable(
          fmt::format("STS AssumeRoleWithWebIdentity: {}", response.error().message));
    }
    if (response->status != 200) {
      return ParseAwsError(Protocol::kQuery, *response).ToError("STS AssumeRoleWithWebIdentity");
    }
    return ParseStsCredentials(response->body, source);
  }

  Result<Credentials> FromContainer() {
    std::string url;
    if (auto relative = NonEmpty(options_.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      if (!relative->starts_with('/') || HasLineBreak(*relative)) {
        return InvalidArgument("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must be a path");
      }
      url = std::string(kEcsHost) + *relative;
    } else if (auto full = NonEmpty(options_.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      auto parsed = net::ParseClientUrl(*full);
      if (!parsed) return InvalidArgument("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
      // The SDKs' rule: plain http only to this machine or the ECS/EKS agents, so the token
      // never travels unencrypted to anyone else.
      // A name is judged by the addresses it resolves to, as the SDKs do: "127.example.com"
      // can point anywhere.
      const bool local = parsed->scheme == "http" && ResolvesOnlyToLocal(parsed->host);
      if (parsed->scheme != "https" && !local) {
        return InvalidArgument(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback or the "
            "ECS/EKS credential host");
      }
      url = *full;
    } else {
      return NotFound("no ECS container credentials endpoint");
    }
    net::ClientRequest request;
    request.url = url;
    request.connect_timeout = 2s;
    request.response_timeout = 5s;
    std::optional<std::string> token;
    if (auto file = NonEmpty(options_.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      auto text = options_.read_file(*file);
      if (!text) return InvalidArgument(fmt::format("cannot read {}", *file));
      token = std::string(Trim(*text));
    } else {
      token = NonEmpty(options_.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    if (token) {
      if (HasLineBreak(*token))
        return InvalidArgument("the container authorization token has a line break");
      request.headers.Set("Authorization", *token);
    }
    auto response = options_.fetch(std::move(request));
    if (!response) {
      return Unavailable(fmt::format("ECS container credentials: {}", response.error().message));
    }
    if (response->status != 200) {
      return Unavailable(fmt::format("ECS container credentials: HTTP {}", response->status));
    }
    return ParseCredentialsJson(response->body, "container");
  }

  Result<Credentials> FromImds() {
    if (auto disabled = options_.env("AWS_EC2_METADATA_DISABLED");
        disabled && Lower(*disabled) == "true") {
      return NotFound("EC2 instance metadata disabled");
    }
    const std::string base = NonEmpty(options_.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
                                 .value_or(std::string(kImdsHost));
    const std::string root = base.ends_with('/') ? base.substr(0, base.size() - 1) : base;
    net::ClientRequest token_request;
    token_request.method = net::Method::kPut;
    token_request.url = root + "/latest/api/token";
    token_request.headers.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    token_request.connect_timeout = 1s;
    token_request.response_timeout = 1s;
    if (imds_absent_) return NotFound("no EC2 instance metadata service (probed once)");
    auto token = options_.fetch(std::move(token_request));
    if (!token) {
      // Off AWS nothing answers: the one bounded wait is paid once, not on every refresh.
      imds_absent_ = true;
      return NotFound("no EC2 instance metadata service");
    }
    if (token->status != 200) {
      return Unavailable(fmt::format("IMDSv2 token: HTTP {}", token->status));
    }
    const auto get = [&](const std::string& path) {
      net::ClientRequest request;
      request.url = root + path;
      request.headers.Set("X-aws-ec2-metadata-token", std::string(Trim(token->body)));
      request.connect_timeout = 1s;
      request.response_timeout = 2s;
      return options_.fetch(std::move(request));
    };
    constexpr std::string_view kCredentialsPath = "/latest/meta-data/iam/security-credentials/";
    auto roles = get(std::string(kCredentialsPath));
    if (!roles) return Unavailable(fmt::format("IMDS: {}", roles.error().message));
    if (roles->status == 404) return NotFound("this EC2 instance has no instance profile");
    if (roles->status != 200) return Unavailable(fmt::format("IMDS roles: HTTP {}", roles->status));
    const std::string role(Trim(std::string_view(roles->body).substr(0, roles->body.find('\n'))));
    const bool valid = !role.empty() && role.size() <= 64 &&
                       role.find_first_not_of(
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789+=,.@_-") == std::string::npos;
    if (!valid) return ProtocolError("IMDS answered an invalid role name");
    auto credentials = get(std::string(kCredentialsPath) + role);
    if (!credentials) return Unavailable(fmt::format("IMDS: {}", credentials.error().message));
    if (credentials->status != 200) {
      return Unavailable(fmt::format("IMDS credentials: HTTP {}", credentials->status));
    }
    return ParseCredentialsJson(credentials->body, "instance profile " + role);
  }

  [[nodiscard]] bool ResolvesOnlyToLocal(const std::string& host) const {
    const auto allowed = [](std::string_view address) {
      return address.starts_with("127.") || address == "::1" || address == "169.254.170.2" ||
             address == "169.254.170.23" || address == "fd00:ec2::23";
    };
    auto addresses = options_.resolve(host);
    if (!addresses || addresses->empty()) return false;
    return std::all_of(addresses->begin(), addresses->end(), allowed);
  }

  ChainOptions options_;
  std::mutex mutex_;
  std::condition_variable refreshed_;
  bool refreshing_ = false;
  std::optional<Credentials> cached_;
  Clock::Wall::time_point refresh_at_{};
  Clock::Wall::time_point retry_after_{};
  int failures_ = 0;
  Error last_error_;
  // Written only by the refreshing thread (one at a time, handed over under mutex_).
  std::optional<Source> chosen_;
  bool imds_absent_ = false;
};

}  // namespace

HttpFetch BlockingFetch() {
  // One pool for the process: AWS calls go to a few endpoints again and again, and a new TCP
  // and TLS handshake for each would cost more than the call.
  static net::HttpPool pool;
  return [](net::ClientRequest request) { return pool.Fetch(std::move(request)); };
}

std::shared_ptr<CredentialProvider> MakeStaticCredentials(Credentials credentials) {
  return std::make_shared<StaticProvider>(std::move(credentials));
}

std::shared_ptr<CredentialProvider> MakeDefaultCredentialChain(ChainOptions options) {
  return std::make_shared<Chain>(std::move(options));
}

std::string ResolveRegion(const ChainOptions& options) {
  if (auto v = NonEmpty(options.env, "AWS_REGION")) return *v;
  if (auto v = NonEmpty(options.env, "AWS_DEFAULT_REGION")) return *v;
  const std::string path = SharedFilePath(options.env, "AWS_CONFIG_FILE", "config");
  if (path.empty()) return {};
  const auto read = options.read_file ? options.read_file : ReadWholeFile;
  auto text = read(path);
  if (!text) return {};
  const std::string profile = !options.profile.empty()
                                  ? options.profile
                                  : NonEmpty(options.env, "AWS_PROFILE").value_or("default");
  auto loaded = LoadProfile(*text, "", profile);
  if (!loaded) return {};
  const auto it = loaded->find("region");
  return it == loaded->end() ? std::string() : it->second;
}

}  // namespace tempo::aws
