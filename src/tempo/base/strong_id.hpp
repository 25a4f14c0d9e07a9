#pragma once

#include <fmt/format.h>

#include <compare>
#include <functional>
#include <string>
#include <string_view>

namespace tempo {

/// A string identifier that cannot be mixed up with another kind of identifier:
///   using CallSid = StrongId<struct CallSidTag>;
template <class Tag>
class StrongId {
 public:
  StrongId() = default;
  explicit StrongId(std::string value) : value_(std::move(value)) {}

  [[nodiscard]] const std::string& str() const { return value_; }
  [[nodiscard]] std::string_view view() const { return value_; }
  [[nodiscard]] bool empty() const { return value_.empty(); }

  friend auto operator<=>(const StrongId&, const StrongId&) = default;
  friend bool operator==(const StrongId&, const StrongId&) = default;

 private:
  std::string value_;
};

using AgentId = StrongId<struct AgentIdTag>;
using CallSid = StrongId<struct CallSidTag>;
using StreamSid = StrongId<struct StreamSidTag>;
using AccountSid = StrongId<struct AccountSidTag>;
using OrgId = StrongId<struct OrgIdTag>;

}  // namespace tempo

template <class Tag>
struct std::hash<tempo::StrongId<Tag>> {
  size_t operator()(const tempo::StrongId<Tag>& id) const noexcept {
    return std::hash<std::string_view>{}(id.view());
  }
};

template <class Tag>
struct fmt::formatter<tempo::StrongId<Tag>> : fmt::formatter<std::string_view> {
  auto format(const tempo::StrongId<Tag>& id, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(id.view(), ctx);
  }
};
