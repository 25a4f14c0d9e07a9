#include "tempo/control/openapi.hpp"

#include "tempo/control/crypto.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace tempo::control {
namespace {

TEST(OpenApi, DocumentDescribesEveryRoute) {
  auto doc = nlohmann::json::parse(OpenApiDocument(), nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["openapi"], "3.0.3");
  const auto& paths = doc["paths"];
  const std::vector<std::pair<std::string, std::string>> routes = {
      {"/auth/login", "post"},
      {"/auth/logout", "post"},
      {"/auth/me", "get"},
      {"/auth/password", "post"},
      {"/users", "get"},
      {"/users", "post"},
      {"/users/{id}", "delete"},
      {"/keys", "get"},
      {"/keys", "post"},
      {"/keys/{id}", "delete"},
      {"/agents", "get"},
      {"/agents", "post"},
      {"/agents/{id}", "get"},
      {"/agents/{id}", "put"},
      {"/agents/{id}", "patch"},
      {"/agents/{id}", "delete"},
      {"/agents/{id}/deploy", "post"},
      {"/agents/{id}/undeploy", "post"},
      {"/agents/{id}/deployment", "get"},
      {"/numbers", "get"},
      {"/numbers", "post"},
      {"/numbers/{e164}", "patch"},
      {"/numbers/{e164}", "delete"},
      {"/calls", "get"},
      {"/calls/{sid}", "get"},
      {"/calls/{sid}/transcript", "get"},
      {"/calls/{sid}/recording.wav", "get"},
      {"/usage", "get"},
      {"/engines", "get"},
      {"/openapi.json", "get"}};
  for (const auto& [path, method] : routes) {
    EXPECT_TRUE(paths.contains(path) && paths[path].contains(method)) << method << " " << path;
  }
  EXPECT_EQ(doc["components"]["schemas"]["Error"]["properties"]["error"]["required"],
            nlohmann::json::array({"code", "message", "fields"}));
}

// Validates the document with openapi-spec-validator (Python), when it is installed.
TEST(OpenApi, DocumentIsValidOpenApi3) {
  if (std::system("python3 -c 'import openapi_spec_validator' >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "python3 -m openapi_spec_validator is not available";
  }
  const auto file =
      std::filesystem::temp_directory_path() / ("tempo_openapi_" + RandomHex(6) + ".json");
  {
    std::ofstream out(file);
    out << OpenApiDocument();
  }
  const std::string command = "python3 -m openapi_spec_validator '" + file.string() + "' > '" +
                              file.string() + ".out' 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log(file.string() + ".out");
  std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(status, 0) << output;
  std::filesystem::remove(file);
  std::filesystem::remove(file.string() + ".out");
}

}  // namespace
}  // namespace tempo::control
