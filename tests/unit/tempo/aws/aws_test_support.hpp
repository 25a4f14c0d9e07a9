#pragma once

// Helpers shared by the aws tests.

#include "tempo/aws/credentials.hpp"
#include "tempo/net/http.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tempo::aws::testing {

/// An environment holding exactly `vars`.
inline EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

/// An HTTP answer.
inline net::Response Answer(int status, std::string body, net::Headers headers = {}) {
  net::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

}  // namespace tempo::aws::testing
