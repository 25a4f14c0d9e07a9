#pragma once

#include <fmt/format.h>

#include <ostream>
#include <string>
#include <string_view>

namespace tempo {

/// A credential that cannot be logged by accident: formatting or streaming it prints "***".
/// The value is reached only through Reveal(), which is easy to grep for.
template <class Tag>
class Secret {
 public:
  Secret() = default;
  explicit Secret(std::string value) : value_(std::move(value)) {}

  [[nodiscard]] const std::string& Reveal() const { return value_; }
  [[nodiscard]] bool empty() const { return value_.empty(); }

  friend bool operator==(const Secret&, const Secret&) = default;
  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << "***"; }

 private:
  std::string value_;
};

using TwilioAuthToken = Secret<struct TwilioAuthTokenTag>;
using AwsSecretKey = Secret<struct AwsSecretKeyTag>;
using AwsSessionToken = Secret<struct AwsSessionTokenTag>;

}  // namespace tempo

template <class Tag>
struct fmt::formatter<tempo::Secret<Tag>> : fmt::formatter<std::string_view> {
  auto format(const tempo::Secret<Tag>&, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format("***", ctx);
  }
};
