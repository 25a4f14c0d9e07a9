#pragma once
// moto_server (AWS's services, emulated) for a test, with signature checking on: the first
// four requests may be unsigned (Bootstrap makes a user with an allow-all policy and its
// keys); every later one is checked with botocore. What a test made is read back with boto3,
// AWS's own SDK (Boto3), not with our client. For test programs that link tempo::aws.

#include "tempo/aws/client.hpp"
#include "tempo/aws/credential_chain.hpp"
#include "tempo/aws/xml.hpp"
#include "tempo/net/client.hpp"

#include "support/paths.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <array>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <string>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <utility>

namespace tempo::test_support {

using nlohmann::json;
using namespace std::chrono_literals;

inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

inline bool Accepting(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// moto_server on a free loopback port, authenticating every request after the first four.
class Moto {
 public:
  Moto() : port_(FreePort()) {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that crashes leaves no server behind
      setenv("INITIAL_NO_AUTH_ACTION_COUNT", "4", 1);
      const std::string port = std::to_string(port_);
      execlp("moto_server", "moto_server", "-H", "127.0.0.1", "-p", port.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 300 && !Accepting(port_); ++i) std::this_thread::sleep_for(100ms);
  }
  ~Moto() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  Moto(const Moto&) = delete;
  Moto& operator=(const Moto&) = delete;

  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] bool up() const { return Accepting(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
};

inline aws::EnvLookup NoEnv() {
  return [](std::string_view) { return std::optional<std::string>(); };
}

inline aws::ClientOptions MakeOptions(const Moto& moto, const std::string& key,
                                      const std::string& secret) {
  aws::ClientOptions o;
  o.region = "eu-west-1";
  aws::Credentials c;
  c.access_key_id = key;
  c.secret_access_key = AwsSecretKey(secret);
  o.credentials = aws::MakeStaticCredentials(c);
  o.env = NoEnv();
  o.endpoints = aws::EveryServiceAt(moto.url());
  o.retry.max_attempts = 2;
  o.sleep = [](std::chrono::milliseconds) {};
  return o;
}

inline aws::Client MakeClient(const Moto& moto, const std::string& key, const std::string& secret) {
  return aws::Client(MakeOptions(moto, key, secret));
}

// Runs a Python program; returns what it printed, parsed as JSON.
inline json RunPython(const std::string& program) {
  char path[] = "/tmp/tempo-boto3-XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, program.data(), program.size()), static_cast<ssize_t>(program.size()));
  close(fd);
  FILE* pipe = popen(("python3 " + std::string(path)).c_str(), "r");
  std::string out;
  std::array<char, 4096> buffer{};
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe)) out.append(buffer.data(), n);
  const int status = pclose(pipe);
  unlink(path);
  EXPECT_EQ(status, 0) << out;
  return json::parse(out, nullptr, false);
}

// Runs a boto3 script with the given keys against moto.
inline json Boto3(const Moto& moto, const std::string& key, const std::string& secret,
                  const std::string& script) {
  return RunPython(
      "import boto3, json, sys\n"
      "def client(name):\n"
      "    return boto3.client(name, endpoint_url='" +
      moto.url() + "', region_name='eu-west-1', aws_access_key_id='" + key +
      "', aws_secret_access_key='" + secret + "')\n" + script);
}

// The four unauthenticated bootstrap calls moto allows: a user with an allow-all policy, and
// its keys (every later request is signed with them and checked).
inline std::pair<std::string, std::string> Bootstrap(const Moto& moto) {
  aws::Client bootstrap = MakeClient(moto, "AKIDBOOTSTRAP", "unused");
  EXPECT_TRUE(bootstrap.CallQuery(aws::services::kIam, "CreateUser", {{"UserName", "tempo-test"}}));
  auto key_xml =
      bootstrap.CallQuery(aws::services::kIam, "CreateAccessKey", {{"UserName", "tempo-test"}});
  EXPECT_TRUE(key_xml) << key_xml.error().ToError("iam").ToString();
  auto key_doc = aws::XmlDoc::Parse(key_xml ? *key_xml : std::string("<x/>"));
  const std::string key = key_doc ? key_doc->Text("//AccessKey/AccessKeyId").value_or("") : "";
  const std::string secret =
      key_doc ? key_doc->Text("//AccessKey/SecretAccessKey").value_or("") : "";
  auto policy_xml = bootstrap.CallQuery(
      aws::services::kIam, "CreatePolicy",
      {{"PolicyName", "allow-all"},
       {"PolicyDocument",
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"}});
  EXPECT_TRUE(policy_xml);
  const std::string policy_arn =
      policy_xml ? aws::XmlDoc::Parse(*policy_xml)->Text("//Policy/Arn").value_or("") : "";
  EXPECT_TRUE(bootstrap.CallQuery(aws::services::kIam, "AttachUserPolicy",
                                  {{"UserName", "tempo-test"}, {"PolicyArn", policy_arn}}));
  return {key, secret};
}

// A moto_server with a user whose keys sign every request.
class MotoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(moto.up()) << "moto_server did not start (is it on PATH?)";
    std::tie(key, secret) = Bootstrap(moto);
    ASSERT_FALSE(key.empty());
  }
  Moto moto;
  std::string key;
  std::string secret;
};

// tests/integration/lib/aws_proxy.mjs in front of moto (node): connections kept alive, a
// service taken through a real rollout's states, faults on demand, the forwarded requests kept.
class AwsProxy {
 public:
  explicit AwsProxy(const Moto& moto) {
    const std::string script =
        (TestVectors().parent_path() / "integration" / "lib" / "aws_proxy.mjs").string();
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      const std::string port = std::to_string(moto.port());
      execlp("node", "node", script.c_str(), port.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    // "listening <port>" first; later lines ("connections <n>") are drained by the reader.
    std::string line;
    char c = 0;
    while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
    if (line.starts_with("listening ")) port_ = std::stoi(line.substr(10));
    reader_ = std::thread([fd = out[0]] {
      char buffer[256];
      while (read(fd, buffer, sizeof buffer) > 0) {
      }
      close(fd);
    });
  }
  ~AwsProxy() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
  }
  AwsProxy(const AwsProxy&) = delete;
  AwsProxy& operator=(const AwsProxy&) = delete;

  [[nodiscard]] bool up() const { return port_ > 0; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// The next `times` requests of `operation` fail: 503, 400 ThrottlingException (429), or 0
  /// for a connection reset.
  void Inject(const std::string& operation, int status, int times) {
    Control(net::Method::kPost, "/__proxy/faults",
            json{{"operation", operation}, {"status", status}, {"times", times}}.dump());
  }
  /// "healthy" (the default) or "fail" after `polls` answers IN_PROGRESS.
  void Rollout(const std::string& mode, int polls = 2) {
    Control(net::Method::kPost, "/__proxy/rollout", json{{"mode", mode}, {"polls", polls}}.dump());
  }
  /// [{"operation", "body"}] of every request forwarded to moto.
  json Requests() {
    return json::parse(Control(net::Method::kGet, "/__proxy/requests", ""), nullptr, false);
  }

 private:
  std::string Control(net::Method method, const std::string& path, std::string body) {
    net::ClientRequest request;
    request.method = method;
    request.url = url() + path;
    request.body = std::move(body);
    auto answer = net::FetchBlocking(std::move(request));
    EXPECT_TRUE(answer && answer->status == 200) << path;
    return answer ? answer->body : std::string();
  }

  pid_t pid_ = -1;
  int port_ = 0;
  std::thread reader_;
};

}  // namespace tempo::test_support
