#pragma once
// The Bedrock emulator (tests/fakes/bedrock/emulator.mjs) as a child process of a test, on a
// free port, with a script; and the credentials it accepts.

#include "tempo/aws/credentials.hpp"

#include "support/moto.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace tempo::test_support {

struct EmulatorOptions {
  int max_streams = 100;
  int goaway_after = 0;
  bool tls = false;  // a self-signed certificate for 127.0.0.1, made for the test
};

// The emulator on a free port, with a script.
class Emulator {
 public:
  explicit Emulator(const nlohmann::json& script, EmulatorOptions options = {})
      : port_(FreePort()),
        dir_(std::filesystem::temp_directory_path() /
             ("bedrock-" + std::to_string(getpid()) + "-" + std::to_string(port_))) {
    std::filesystem::create_directories(dir_);
    const auto fakes = TestVectors().parent_path() / "fakes";
    std::ofstream(dir_ / "script.json") << script.dump();
    std::vector<std::string> args = {
        "node",           (fakes / "bedrock" / "emulator.mjs").string(),
        "--port",         std::to_string(port_),
        "--script",       (dir_ / "script.json").string(),
        "--max-streams",  std::to_string(options.max_streams),
        "--goaway-after", std::to_string(options.goaway_after)};
    if (options.tls) {
      const std::string command = fmt::format(
          "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext "
          "subjectAltName=IP:127.0.0.1 -days 1 -keyout {0}/key.pem -out {0}/cert.pem "
          ">/dev/null 2>&1",
          dir_.string());
      EXPECT_EQ(std::system(command.c_str()), 0);  // NOLINT(concurrency-mt-unsafe)
      args.insert(args.end(), {"--tls", (dir_ / "key.pem").string(), (dir_ / "cert.pem").string()});
    }
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("node", argv.data());
      _exit(127);
    }
    for (int i = 0; i < 200 && !Accepting(port_); ++i) std::this_thread::sleep_for(50ms);
  }
  ~Emulator() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;
  [[nodiscard]] int port() const { return port_; }

 private:
  int port_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

inline aws::Credentials Emulated(std::string secret = "emulator-secret-key") {
  aws::Credentials c;
  c.access_key_id = "AKIDEMULATOR";
  c.secret_access_key = AwsSecretKey(std::move(secret));
  return c;
}

}  // namespace tempo::test_support
